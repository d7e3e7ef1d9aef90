//! Shared set-up: an emulated org on 127.0.0.1 and a token file issued by it.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sfauth::{
    ClientSecret, ConnectedApp, FileStore, HttpConfig, RetryPolicy, Secret, Session, Token,
};
use sfauth_emulator::{Config, Emulator};

/// An emulated org with one user's token on disk.
pub struct Org {
    pub emulator: Emulator,
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Org {
    /// Starts the emulator and writes a freshly issued token file, pretty-printed as the
    /// seeds keep it.
    pub async fn start(config: Config) -> Org {
        let emulator = sfauth_emulator::spawn(config)
            .await
            .expect("emulator starts");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("_salesforce.json");
        let token = Token::from_value(emulator.issue_token("ada@example.com")).unwrap();
        std::fs::write(&path, token.to_json_pretty().as_bytes()).unwrap();
        Org {
            emulator,
            path,
            _dir: dir,
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.path).unwrap()
    }

    pub fn stored(&self) -> Token {
        Token::from_json(&self.bytes()).unwrap()
    }

    pub fn client(&self) -> ConnectedApp {
        ConnectedApp::new(self.emulator.config().client_id.clone())
    }

    pub fn client_with_secret(&self) -> ConnectedApp {
        self.client().with_secret(ClientSecret::from(
            self.emulator.config().client_secret.as_str(),
        ))
    }

    pub fn session(&self, client: ConnectedApp) -> Session {
        Session::builder(FileStore::new(&self.path), client)
            .http(fast_http())
            .build()
    }

    /// Backdates the stored token's `issued_at` by three hours: past the 2 h default.
    pub fn make_stale(&self) {
        let mut token = self.stored();
        let ms = (SystemTime::now() - Duration::from_secs(3 * 3600))
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis();
        token.set("issued_at", ms.to_string());
        std::fs::write(&self.path, token.to_json_pretty().as_bytes()).unwrap();
    }
}

/// Retries with short delays, so failure tests stay quick.
pub fn fast_http() -> HttpConfig {
    HttpConfig::default()
        .with_timeout(Duration::from_secs(5))
        .with_retry(
            RetryPolicy::default()
                .with_max_retries(3)
                .with_min_delay(Duration::from_millis(10))
                .with_max_delay(Duration::from_millis(50)),
        )
}

/// The emulator's OAuth endpoint (no site prefix).
pub fn endpoint(emulator: &Emulator) -> sfauth::Endpoint {
    sfauth::Endpoint::new(
        sfauth::LoginUrl::parse(&emulator.url()).unwrap(),
        sfauth::SitePrefix::default(),
    )
}

/// An HTTP client for the emulator, with quick retries.
pub fn http(emulator: &Emulator) -> sfauth::HttpClient {
    sfauth::HttpClient::new(&fast_http(), endpoint(emulator).login_url()).unwrap()
}

/// `app` talking to the emulator, with quick retries.
pub fn app_client(emulator: &Emulator, app: ConnectedApp) -> sfauth::AppClient {
    sfauth::AppClient::with_http(app, endpoint(emulator), http(emulator))
}

impl Org {
    /// The emulated app without its secret, talking to the emulator.
    pub fn app_client(&self) -> sfauth::AppClient {
        app_client(&self.emulator, self.client())
    }

    /// The emulated app with its secret, talking to the emulator.
    pub fn app_client_with_secret(&self) -> sfauth::AppClient {
        app_client(&self.emulator, self.client_with_secret())
    }
}

/// An emulated org with `config`.
pub async fn emulator(config: Config) -> Emulator {
    sfauth_emulator::spawn(config)
        .await
        .expect("emulator starts")
}

/// An emulated org whose connected app holds the test certificate: JWT bearer logins with
/// [`jwt_key`] work.
pub async fn jwt_emulator() -> Emulator {
    emulator(Config {
        jwt_certificate_pem: Some(jwt_certificate()),
        ..Config::default()
    })
    .await
}

/// An emulated org whose connected app has a "Run As" user: client-credentials logins work.
pub async fn client_credentials_emulator() -> Emulator {
    emulator(Config {
        client_credentials_user: Some("integration@example.com".into()),
        ..Config::default()
    })
    .await
}

/// A JWT bearer login as `ci@example.com` at `emulator`, signed with `key_pem`.
pub fn jwt_bearer(emulator: &Emulator, key_pem: Secret<String>) -> sfauth::JwtBearer {
    sfauth::JwtBearer {
        client_id: emulator.config().client_id.clone(),
        username: "ci@example.com".into(),
        audience: sfauth::JwtBearer::audience_for(
            &sfauth::LoginUrl::parse(&emulator.url()).unwrap(),
        ),
        key_pem,
    }
}

/// The emulator's test key pair (the private key signs assertions; the certificate is what
/// the emulated connected app holds).
pub fn jwt_key() -> Secret<String> {
    Secret::from(include_str!(
        "../../../sfauth-emulator/tests/fixtures/jwt_test_key.pem"
    ))
}

pub fn jwt_other_key() -> Secret<String> {
    Secret::from(include_str!(
        "../../../sfauth-emulator/tests/fixtures/jwt_test_other_key.pem"
    ))
}

pub fn jwt_certificate() -> String {
    include_str!("../../../sfauth-emulator/tests/fixtures/jwt_test_cert.pem").to_owned()
}

/// A token file holding `token`, in a temp dir that lives as long as the returned guard.
pub fn token_file(token: &Token) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token.json");
    std::fs::write(&path, token.to_json_pretty().as_bytes()).unwrap();
    (dir, path)
}

/// Backdates the `issued_at` of the token file at `path` by three hours.
pub fn make_stale(path: &std::path::Path) {
    let mut token = Token::from_json(&std::fs::read(path).unwrap()).unwrap();
    let ms = (SystemTime::now() - Duration::from_secs(3 * 3600))
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    token.set("issued_at", ms.to_string());
    std::fs::write(path, token.to_json_pretty().as_bytes()).unwrap();
}

impl Org {
    /// The directory that holds the token file.
    pub fn dir(&self) -> &std::path::Path {
        self.path.parent().unwrap()
    }

    /// Records in the stored token whether its refresh token rotates, as sfauth does after
    /// a refresh (`"true"` / `"false"`).
    pub fn mark_rotation(&self, rotates: bool) {
        let mut token = self.stored();
        token.set(sfauth::Token::ROTATION_KEY, rotates.to_string());
        std::fs::write(&self.path, token.to_json_pretty().as_bytes()).unwrap();
    }

    /// A session over `store` with quick retries.
    pub fn session_over(&self, store: impl sfauth::TokenStore + 'static) -> Session {
        Session::builder(store, self.client())
            .http(fast_http())
            .build()
    }
}

/// The names in `dir`, sorted.
pub fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Polls `done` every 20 ms for at most `limit`; true once it holds.
pub async fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let tries = limit.as_millis() / 20 + 1;
    for _ in 0..tries {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done()
}

/// A small tmpfs mounted on a fresh temp directory, unmounted on drop. Needs root (the test
/// machines and CI run as root); a failed mount fails the test.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    pub fn mount(size_kib: u64) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size_kib}k,mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "mount -t tmpfs failed: these tests need root"
        );
        Tmpfs { dir }
    }

    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub fn remount_read_only(&self) {
        let status = std::process::Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(self.dir.path())
            .status()
            .expect("mount runs");
        assert!(status.success(), "remount,ro failed");
    }

    /// Fills the file system: writes a ballast file until the disk is full.
    pub fn fill(&self) {
        use std::io::Write;
        let mut ballast = std::fs::File::create(self.dir.path().join("ballast")).unwrap();
        let chunk = [b'x'; 1024];
        // Bounded: the tmpfs is small, so it is full long before this ends.
        for _ in 0..1_000_000 {
            if ballast.write_all(&chunk).is_err() {
                return;
            }
        }
        panic!("the tmpfs never filled up");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Runs before the TempDir field removes the (then empty) mount point.
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

/// Reads one HTTP/1.1 request from a raw server's `stream`: its head and as many body bytes
/// as `Content-Length` says. `None` when the client closes first or sends more than 64 KiB
/// (no refresh request is that large); the raw servers answer what they were asked to.
pub async fn read_request(stream: &mut (impl tokio::io::AsyncRead + Unpin)) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || request.len() > 64 * 1024 {
            return None;
        }
        request.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&request).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .and_then(|v| v.trim().parse::<usize>().ok())
                })
                .unwrap_or(0);
            if request.len() >= end + 4 + length {
                return Some(text);
            }
        }
    }
}
