//! A real Secret Service for one test: a private D-Bus session bus (`dbus-daemon`, on a
//! socket in a temporary directory) with `gnome-keyring-daemon` on it, its login keyring
//! made and unlocked with a test password. Programs run with [`SecretService::envs`] use it
//! and nothing of the machine's own. Both daemons are stopped on drop.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

/// How long the daemons get to start.
const START_LIMIT: Duration = Duration::from_secs(20);

/// A running, unlocked Secret Service (see the module docs).
pub struct SecretService {
    dir: TempDir,
    address: String,
    bus: Child,
    keyring: Option<Child>,
}

impl SecretService {
    /// Starts the bus and the keyring, and waits until the keyring answers on the bus.
    pub fn start() -> SecretService {
        for program in [
            "dbus-daemon",
            "gnome-keyring-daemon",
            "secret-tool",
            "dbus-send",
        ] {
            assert!(
                which(program).is_some(),
                "{program} is not installed; run scripts/test-deps.sh (it installs dbus-daemon, \
                 gnome-keyring and libsecret-tools)"
            );
        }
        let dir = tempfile::tempdir().expect("a temp dir");
        for sub in ["data", "run", "config"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("a dir");
        }
        std::fs::set_permissions(
            dir.path().join("run"),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .expect("chmod");
        let socket = dir.path().join("bus");
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .arg(format!("--address=unix:path={}", socket.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        let mut line = String::new();
        BufReader::new(bus.stdout.take().expect("its stdout"))
            .read_line(&mut line)
            .expect("dbus-daemon prints its address");
        let address = line.trim().to_owned();
        assert!(address.starts_with("unix:"), "dbus-daemon said {line:?}");
        let mut service = SecretService {
            dir,
            address,
            bus,
            keyring: None,
        };
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .envs(service.envs())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gnome-keyring-daemon");
        // The login keyring's password, on stdin, ends with the stream.
        let mut stdin = keyring.stdin.take().expect("its stdin");
        stdin.write_all(b"test-keyring-password").expect("unlock");
        drop(stdin);
        service.keyring = Some(keyring);
        crate::wait_until("the Secret Service on the test bus", START_LIMIT, || {
            service.answers()
        });
        service
    }

    /// The environment a program needs to use this Secret Service: the bus, and XDG
    /// directories of the test's own.
    pub fn envs(&self) -> Vec<(&'static str, OsString)> {
        let at = |sub: &str| self.dir.path().join(sub).into_os_string();
        vec![
            ("DBUS_SESSION_BUS_ADDRESS", self.address.clone().into()),
            ("XDG_DATA_HOME", at("data")),
            ("XDG_RUNTIME_DIR", at("run")),
            ("XDG_CONFIG_HOME", at("config")),
        ]
    }

    /// Whether `org.freedesktop.secrets` is on the bus.
    fn answers(&self) -> bool {
        Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .envs(self.envs())
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("boolean true"))
    }

    /// What the keychain holds for `attributes` (`secret-tool lookup`), if anything.
    pub fn lookup(&self, attributes: &[&str]) -> Option<String> {
        let out = Command::new("secret-tool")
            .arg("lookup")
            .args(attributes)
            .envs(self.envs())
            .output()
            .expect("run secret-tool");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Locks every collection (as a screen lock does), so that reading a secret needs an
    /// unlock prompt nobody answers.
    pub fn lock_all(&self) {
        let out = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/collection/login",
            ])
            .envs(self.envs())
            .output()
            .expect("run dbus-send");
        assert!(
            out.status.success(),
            "locking the keyring failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        if let Some(keyring) = &mut self.keyring {
            let _ = keyring.kill();
            let _ = keyring.wait();
        }
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|p| Path::new(p).is_file())
    })
}
