//! The real `@salesforce/core` (installed by `scripts/test-deps.sh`), encrypting and
//! decrypting as the Salesforce CLI does, in a home of its own with the CLI's generic key
//! file: what sfauth's reading and writing of the CLI's files is checked against.

use std::path::PathBuf;

use tempfile::TempDir;

use crate::command::TestCommand;

/// Where `scripts/test-deps.sh` installs the npm packages the tests use.
pub fn node_modules() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-tools/node_modules")
}

/// A Salesforce CLI home (`$HOME/.sfdx`) whose key `@salesforce/core` made.
pub struct SfCore {
    /// The `HOME` it runs in.
    pub home: TempDir,
    v2: bool,
}

impl SfCore {
    /// A home whose key is made on first use: a v1 key, or a v2 one when `v2`.
    pub fn new(v2: bool) -> SfCore {
        assert!(
            node_modules().join("@salesforce/core").exists(),
            "@salesforce/core is not installed under {}; run scripts/test-deps.sh (it \
             installs it from npm)",
            node_modules().display()
        );
        SfCore {
            home: tempfile::tempdir().expect("a temp dir"),
            v2,
        }
    }

    /// The CLI's directory in this home.
    pub fn sfdx_dir(&self) -> PathBuf {
        self.home.path().join(".sfdx")
    }

    /// The key `@salesforce/core` keeps in its generic key file.
    pub fn key(&self) -> String {
        let file = self.sfdx_dir().join("key.json");
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).expect("read key.json"))
                .expect("key.json is JSON");
        json["key"].as_str().expect("a key").to_owned()
    }

    /// `text` encrypted by `@salesforce/core`.
    pub fn encrypt(&self, text: &str) -> String {
        self.peer("encrypt", text)
    }

    /// `sealed` decrypted by `@salesforce/core`.
    pub fn decrypt(&self, sealed: &str) -> String {
        self.peer("decrypt", sealed)
    }

    fn peer(&self, mode: &str, text: &str) -> String {
        let run = TestCommand::new("node")
            .arg(crate::fixtures::dir().join("sf_crypto_peer.js"))
            .args([mode, text])
            .env("HOME", self.home.path())
            .env("NODE_PATH", node_modules())
            .env("SF_USE_GENERIC_UNIX_KEYCHAIN", "true")
            .env("SF_CRYPTO_V2", if self.v2 { "true" } else { "false" })
            .env("SF_DISABLE_TELEMETRY", "true")
            .ok();
        run.stdout.trim_end().to_owned()
    }
}
