//! The real PostgreSQL and Redis servers the fleet-store tests run against, from Debian's
//! packages (`scripts/test-deps.sh` installs them), each in a temporary directory of its own
//! on a free port of 127.0.0.1, with a password.
//!
//! A server that cannot start fails the test that asked for it, with the reason: a fleet
//! test never skips.
//!
//! Every server runs under a small shell that holds the server's only handle on the test:
//! the shell reads its standard input, which the test process holds open. When the
//! [`Server`] is dropped, or the test binary exits without dropping a shared one (statics
//! are never dropped), the input closes and the shell stops the server and removes its
//! directory. So no server outlives its test run.

use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The password of every test server's user.
pub const PASSWORD: &str = "fleet-test-password";

/// How long a server may take to start.
const START_LIMIT: Duration = Duration::from_secs(60);

/// Stops the server when the test's end closes standard input: `$1` is the signal, `$2`
/// the directory to remove, the rest the server's command line.
const WATCHER: &str = r#"sig="$1"; dir="$2"; shift 2
"$@" &
pid=$!
cat >/dev/null
kill -"$sig" "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
rm -rf "$dir"
"#;

/// A running PostgreSQL or Redis server.
#[derive(Debug)]
pub struct Server {
    kind: &'static str,
    port: u16,
    log: PathBuf,
    watcher: Option<Child>,
    stdin: Option<ChildStdin>,
    /// For Redis, the server's own pid file; for PostgreSQL, the postmaster.pid.
    pid_file: PathBuf,
}

impl Server {
    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The store URL, without the password (give it with [`PASSWORD`] apart, as
    /// `SFAUTH_STORE_PASSWORD`).
    pub fn url(&self) -> String {
        match self.kind {
            "postgres" => format!(
                "postgres://sfauth@127.0.0.1:{}/postgres?sslmode=disable",
                self.port
            ),
            _ => format!("redis://127.0.0.1:{}/0", self.port),
        }
    }

    /// The store URL with the password in it (for the library, and for SFAUTH_STORE).
    pub fn url_with_password(&self) -> String {
        match self.kind {
            "postgres" => format!(
                "postgres://sfauth:{PASSWORD}@127.0.0.1:{}/postgres?sslmode=disable",
                self.port
            ),
            _ => format!("redis://:{PASSWORD}@127.0.0.1:{}/0", self.port),
        }
    }

    /// `sfauth SUBCOMMAND --store URL --store-key KEY`, the password in
    /// SFAUTH_STORE_PASSWORD (never on the command line).
    pub fn sfauth(&self, subcommand: &str, key: &str) -> crate::command::TestCommand {
        crate::command::sfauth()
            .args(subcommand.split(' '))
            .args(["--store", &self.url(), "--store-key", key])
            .env("SFAUTH_STORE_PASSWORD", PASSWORD)
    }

    /// The server's log so far, for a failure message.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        let text = fs::read_to_string(&self.pid_file).expect("read the server's pid file");
        text.lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .expect("a pid in the server's pid file")
    }

    /// Stops the server hard (SIGKILL, and for PostgreSQL its whole process group), as a
    /// crash would; [`Drop`] still removes its directory.
    pub fn kill(&self) {
        let pid = self.pid();
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        if self.kind == "postgres" {
            // The backends outlive a killed postmaster for a moment; they hold the port.
            let _ = Command::new("pkill")
                .args(["-KILL", "-P", &pid.to_string()])
                .status();
        }
        crate::wait_until(
            &format!("{} on port {} to stop", self.kind, self.port),
            Duration::from_secs(20),
            || std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err(),
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if let Some(mut watcher) = self.watcher.take() {
            let _ = watcher.wait();
        }
    }
}

/// The PostgreSQL server shared by a test binary's tests, started on first use.
pub fn postgres() -> &'static Server {
    static SHARED: OnceLock<Server> = OnceLock::new();
    SHARED.get_or_init(start_postgres)
}

/// The Redis server shared by a test binary's tests (append-only, fsync always), started
/// on first use.
pub fn redis() -> &'static Server {
    static SHARED: OnceLock<Server> = OnceLock::new();
    SHARED.get_or_init(|| start_redis(Persistence::Always))
}

/// How a Redis server keeps its writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// `appendonly yes`, `appendfsync always`: a write is on disk before the answer.
    Always,
    /// `appendonly no`: writes live in memory until the next snapshot.
    MemoryOnly,
}

/// A PostgreSQL server of the test's own (to kill, or to stop).
pub fn start_postgres() -> Server {
    let bin = postgres_bin();
    let dir = server_dir("postgres");
    let data = dir.join("data");
    let pwfile = dir.join("pw");
    fs::write(&pwfile, PASSWORD).expect("write the password file");
    let as_user = run_as_postgres_user(&dir);
    let initdb = as_user
        .iter()
        .map(String::as_str)
        .chain([path_str(&bin.join("initdb"))])
        .map(str::to_owned)
        .collect::<Vec<_>>();
    let out = Command::new(&initdb[0])
        .args(&initdb[1..])
        .args([
            "-D",
            path_str(&data),
            "-U",
            "sfauth",
            "--auth=scram-sha-256",
        ])
        .arg(format!("--pwfile={}", pwfile.display()))
        .args(["-E", "UTF8", "--no-sync", "--no-instructions"])
        .output()
        .expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let log = dir.join("server.log");
    let mut server = as_user;
    server.push(path_str(&bin.join("postgres")).to_owned());
    for arg in [
        "-D".to_owned(),
        path_str(&data).to_owned(),
        "-p".to_owned(),
        port.to_string(),
        "-c".to_owned(),
        "listen_addresses=127.0.0.1".to_owned(),
        "-c".to_owned(),
        format!("unix_socket_directories={}", dir.display()),
        "-c".to_owned(),
        "fsync=off".to_owned(),
        "-c".to_owned(),
        "max_connections=300".to_owned(),
    ] {
        server.push(arg);
    }
    let watched = spawn_watched("INT", &dir, &server, &log);
    let mut started = Server {
        kind: "postgres",
        port,
        pid_file: data.join("postmaster.pid"),
        log,
        watcher: Some(watched.0),
        stdin: Some(watched.1),
    };
    wait_for_log(
        &mut started,
        "database system is ready to accept connections",
    );
    started
}

/// A Redis server of the test's own, keeping its writes as `persistence` says.
pub fn start_redis(persistence: Persistence) -> Server {
    let redis = find_program("redis-server", &[]).unwrap_or_else(|| {
        panic!(
            "redis-server is not installed; the fleet tests need it: run scripts/test-deps.sh \
             (it installs Debian's redis-server)"
        )
    });
    let dir = server_dir("redis");
    let port = free_port();
    let log = dir.join("server.log");
    let pid_file = dir.join("redis.pid");
    let (appendonly, fsync) = match persistence {
        Persistence::Always => ("yes", "always"),
        Persistence::MemoryOnly => ("no", "everysec"),
    };
    let command = [
        path_str(&redis).to_owned(),
        "--port".to_owned(),
        port.to_string(),
        "--bind".to_owned(),
        "127.0.0.1".to_owned(),
        "--dir".to_owned(),
        path_str(&dir).to_owned(),
        "--save".to_owned(),
        String::new(),
        "--appendonly".to_owned(),
        appendonly.to_owned(),
        "--appendfsync".to_owned(),
        fsync.to_owned(),
        "--requirepass".to_owned(),
        PASSWORD.to_owned(),
        "--pidfile".to_owned(),
        path_str(&pid_file).to_owned(),
        "--logfile".to_owned(),
        path_str(&log).to_owned(),
        "--maxclients".to_owned(),
        "1000".to_owned(),
    ];
    let watched = spawn_watched("TERM", &dir, &command, &dir.join("watcher.log"));
    let mut started = Server {
        kind: "redis",
        port,
        pid_file,
        log,
        watcher: Some(watched.0),
        stdin: Some(watched.1),
    };
    wait_for_log(&mut started, "Ready to accept connections");
    started
}

/// Runs `command` under the watcher, its output to `log`.
fn spawn_watched(signal: &str, dir: &Path, command: &[String], log: &Path) -> (Child, ChildStdin) {
    let out = fs::File::create(log).expect("create the server log");
    let err = out.try_clone().expect("clone the log handle");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(WATCHER)
        .arg("sh")
        .arg(signal)
        .arg(dir)
        .args(command)
        .stdin(Stdio::piped())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("start the server's watcher (sh)");
    let stdin = child.stdin.take().expect("the watcher's stdin");
    (child, stdin)
}

fn wait_for_log(server: &mut Server, ready: &str) {
    let started = Instant::now();
    loop {
        let log = server.log();
        if log.contains(ready) {
            return;
        }
        let exited = server
            .watcher
            .as_mut()
            .and_then(|watcher| watcher.try_wait().ok().flatten());
        assert!(
            exited.is_none(),
            "{} exited before it was ready ({exited:?}); its log:\n{log}",
            server.kind
        );
        assert!(
            started.elapsed() < START_LIMIT,
            "{} did not start within {START_LIMIT:?}; its log:\n{log}",
            server.kind
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A directory for one server, removed by its watcher.
fn server_dir(kind: &str) -> PathBuf {
    tempfile::Builder::new()
        .prefix(&format!("sfauth-{kind}-"))
        .tempdir()
        .expect("create a server directory")
        .keep()
}

/// PostgreSQL refuses to run as root: as root, run it as the `postgres` user that Debian's
/// package creates, in a directory that user owns.
fn run_as_postgres_user(dir: &Path) -> Vec<String> {
    if !is_root() {
        return Vec::new();
    }
    let (uid, gid) = postgres_user().unwrap_or_else(|| {
        panic!("running as root, and there is no `postgres` user to run PostgreSQL as: run scripts/test-deps.sh")
    });
    std::os::unix::fs::chown(dir, Some(uid), Some(gid))
        .expect("give the server directory to postgres");
    for entry in fs::read_dir(dir)
        .expect("read the server directory")
        .flatten()
    {
        let _ = std::os::unix::fs::chown(entry.path(), Some(uid), Some(gid));
    }
    vec![
        "setpriv".to_owned(),
        format!("--reuid={uid}"),
        format!("--regid={gid}"),
        "--clear-groups".to_owned(),
        "--".to_owned(),
    ]
}

/// Whether the tests run as root (then PostgreSQL runs as `postgres`, and a test may run
/// a process as another user).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn postgres_user() -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    let line = passwd.lines().find(|l| l.starts_with("postgres:"))?;
    let fields: Vec<&str> = line.split(':').collect();
    Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?))
}

/// Where PostgreSQL's server programs are: on the PATH, else Debian's versioned directory.
fn postgres_bin() -> PathBuf {
    let mut debian: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    debian.sort();
    debian.reverse();
    // The PATH may hold links to Debian's directory: the server programs sit beside the
    // real initdb.
    find_program("initdb", &debian)
        .map(|found| fs::canonicalize(&found).unwrap_or(found))
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| {
            panic!(
                "PostgreSQL's server (initdb, postgres) is not installed; the fleet tests need \
                 it: run scripts/test-deps.sh (it installs Debian's postgresql)"
            )
        })
}

fn find_program(name: &str, extra: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra.iter().cloned())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}
