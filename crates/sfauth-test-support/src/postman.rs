//! Postman environments as Postman exports them, with the seeds' variables for an emulated
//! org and values of the user's own around them; the seeds' collection items; and the real
//! `newman` (installed by `scripts/test-deps.sh`) to run them.

use std::path::PathBuf;

use serde_json::{Value, json};
use sfauth_emulator::Emulator;
use tempfile::TempDir;

use crate::command::TestCommand;
use crate::org::USERNAME;
use crate::token::mode;

/// The seeds' collection: their "Refresh Token" item as they give it (it keeps only the
/// new access token), and "Limits", a REST call on `{{_endpoint}}` with `{{_accessToken}}`
/// whose test checks for a 200.
pub fn seeds_collection() -> PathBuf {
    crate::fixtures::dir().join("seeds.postman_collection.json")
}

/// `newman run COLLECTION --environment ENV ARGS`: the real Postman CLI, with no proxy
/// (every request goes to the emulator on 127.0.0.1). Panics, saying how to install it,
/// when it is not there.
pub fn newman(collection: &std::path::Path, env: &Environment) -> TestCommand {
    without_proxies(TestCommand::new(newman_path()).args(newman_args(collection, env)))
}

/// `command` with no proxy in its environment: every request goes to the emulator.
pub fn without_proxies(mut command: TestCommand) -> TestCommand {
    for proxy in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        command = command.env_remove(proxy);
    }
    command
}

/// `run COLLECTION --environment ENV` and plain-text reporting, for a newman command line.
pub fn newman_args(collection: &std::path::Path, env: &Environment) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec!["run".into(), collection.into()];
    args.extend(["--environment".into(), env.path.clone().into_os_string()]);
    args.extend(
        ["--reporters", "cli", "--disable-unicode", "--color", "off"].map(std::ffi::OsString::from),
    );
    args
}

/// Where newman is: `SFAUTH_TEST_NEWMAN`, else where `scripts/test-deps.sh` installs it.
/// Panics, saying how to install it, when it is not there.
pub fn newman_path() -> PathBuf {
    let newman = std::env::var_os("SFAUTH_TEST_NEWMAN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/test-tools/node_modules/.bin/newman")
        });
    assert!(
        newman.exists(),
        "newman is not installed at {}; the Postman tests need it: run scripts/test-deps.sh \
         (it installs it from npm)",
        newman.display()
    );
    newman
}

/// An exported environment file in a directory of its own.
pub struct Environment {
    /// The file.
    pub path: PathBuf,
    /// Its directory, removed when dropped.
    pub dir: TempDir,
}

impl Environment {
    /// The seeds' variables (`url`, `site`, `clientId`, `clientSecret`, `_refreshToken`,
    /// `_accessToken`) for a token `org` just issued, between values of the user's own,
    /// as Postman exports it. No `_endpoint` and no recorded age: the state a collection's
    /// own login leaves.
    pub fn seeds(org: &Emulator) -> Environment {
        let issued = org.issue_token(USERNAME);
        let env = json!({
            "id": "4f2c9a1e-0000-4000-8000-000000000001",
            "name": "Salesforce dev",
            "values": [
                {"key": "url", "value": org.url(), "type": "default", "enabled": true},
                {"key": "version", "value": "62.0", "type": "default", "enabled": true},
                {"key": "site", "value": "", "type": "default", "enabled": true},
                {"key": "clientId", "value": org.config().client_id, "type": "default", "enabled": true},
                {"key": "clientSecret", "value": org.config().client_secret, "type": "secret", "enabled": true},
                {"key": "_refreshToken", "value": issued["refresh_token"], "type": "secret", "enabled": true},
                {"key": "_accessToken", "value": issued["access_token"], "type": "secret", "enabled": true},
                {"key": "myOwn", "value": "untouched", "type": "default", "enabled": false},
            ],
            "_postman_variable_scope": "environment",
            "_postman_exported_at": "2026-11-30T10:00:00.000Z",
            "_postman_exported_using": "Postman/11.20.0",
        });
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("salesforce.postman_environment.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&env).expect("JSON")).expect("write");
        Environment { path, dir }
    }

    /// The file as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes()).expect("the environment is JSON")
    }

    /// The file's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.path).expect("read the environment")
    }

    /// The value of the variable `key`, if there is one.
    pub fn var(&self, key: &str) -> Option<String> {
        var(&self.json(), key)
    }

    /// The variables' names, in order.
    pub fn keys(&self) -> Vec<String> {
        self.json()["values"]
            .as_array()
            .expect("values")
            .iter()
            .map(|v| v["key"].as_str().expect("a key").to_owned())
            .collect()
    }

    /// Sets the variable `key` in the file, as Postman (or a collection's script) would.
    pub fn set(&self, key: &str, value: &str) {
        let mut env = self.json();
        let values = env["values"].as_array_mut().expect("values");
        match values.iter_mut().find(|v| v["key"] == key) {
            Some(entry) => entry["value"] = value.into(),
            None => values.push(json!({"key": key, "value": value, "enabled": true})),
        }
        std::fs::write(&self.path, serde_json::to_vec_pretty(&env).expect("JSON")).expect("write");
    }

    /// The store URL of this environment.
    pub fn store(&self) -> String {
        format!("postman:{}", self.path.display())
    }

    /// The file's permission bits.
    pub fn mode(&self) -> u32 {
        mode(&self.path)
    }

    /// A file beside the environment.
    pub fn beside(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// The value of the variable `key` in an environment document.
pub fn var(env: &Value, key: &str) -> Option<String> {
    env["values"]
        .as_array()?
        .iter()
        .find(|v| v["key"] == key)
        .and_then(|v| v["value"].as_str())
        .map(str::to_owned)
}
