//! A config home (`$SFAUTH_HOME`) of a test's own, the orgs stored in it, and the logins
//! that store them.
//!
//! Only for the `sfauth` binary's tests: the library knows no config home.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sfauth_emulator::Emulator;
use tempfile::TempDir;

use crate::command::{TestCommand, sfauth};
use crate::org::OrgExt;
use crate::token::{TokenFile, text};

/// A config home in a temporary directory, for one test.
#[derive(Debug)]
pub struct Home {
    /// Keeps the directory alive; also a place for secret files and auth URLs.
    pub dir: TempDir,
    /// `$SFAUTH_HOME`: not created until sfauth writes to it.
    pub path: PathBuf,
}

impl Default for Home {
    fn default() -> Self {
        Home::new()
    }
}

/// The bytes of `config.toml` and of one org's token file, to compare after a run that
/// must change nothing.
#[derive(PartialEq, Eq)]
pub struct Saved {
    config: Vec<u8>,
    token: Vec<u8>,
}

impl Home {
    /// A fresh, empty home.
    pub fn new() -> Home {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sfauth-home");
        Home { dir, path }
    }

    /// `sfauth` using this home.
    pub fn sfauth(&self) -> TestCommand {
        sfauth().env("SFAUTH_HOME", &self.path)
    }

    /// Where `sfauth agent` listens by default in this home (tests have no
    /// `XDG_RUNTIME_DIR`), and where the token commands look for it.
    pub fn agent_socket(&self) -> PathBuf {
        self.path.join("run").join("agent.sock")
    }

    /// `config.toml`.
    pub fn config_file(&self) -> PathBuf {
        self.path.join("config.toml")
    }

    /// The bytes of `config.toml`; panics if there is none.
    pub fn config_bytes(&self) -> Vec<u8> {
        std::fs::read(self.config_file()).expect("read config.toml")
    }

    /// The token file sfauth keeps for `alias`.
    pub fn token_file(&self, alias: &str) -> PathBuf {
        self.path.join("tokens").join(format!("{alias}.json"))
    }

    /// The bytes of the token file sfauth keeps for `alias`.
    pub fn token_bytes(&self, alias: &str) -> Vec<u8> {
        std::fs::read(self.token_file(alias)).expect("read the org's token file")
    }

    /// The token sfauth keeps for `alias`, as JSON.
    pub fn token(&self, alias: &str) -> Value {
        serde_json::from_slice(&self.token_bytes(alias)).expect("the token file is JSON")
    }

    /// `config.toml` and the token file of `alias`, as they are now.
    pub fn saved(&self, alias: &str) -> Saved {
        Saved {
            config: self.config_bytes(),
            token: self.token_bytes(alias),
        }
    }

    /// Panics unless `config.toml` and the token file of `alias` are as `before`.
    pub fn assert_unchanged(&self, alias: &str, before: &Saved) {
        let now = self.saved(alias);
        assert!(
            now.config == before.config,
            "config.toml changed:\n{}",
            String::from_utf8_lossy(&now.config)
        );
        assert!(
            now.token == before.token,
            "the token file of `{alias}` changed"
        );
    }

    /// `sfauth orgs --json`.
    pub fn orgs(&self) -> Vec<Value> {
        let rows = self.sfauth().args(["orgs", "--json"]).ok().json();
        rows.as_array().expect("a JSON array").clone()
    }

    /// The aliases `sfauth orgs --json` lists.
    pub fn aliases(&self) -> Vec<String> {
        self.orgs().iter().map(|row| text(row, "alias")).collect()
    }

    /// The row of `sfauth orgs --json` for `alias`; panics if it is not listed.
    pub fn org(&self, alias: &str) -> Value {
        self.orgs()
            .into_iter()
            .find(|row| row["alias"] == alias)
            .unwrap_or_else(|| panic!("org `{alias}` is not listed"))
    }

    /// Writes `content` and a newline to a file in the temporary directory (not in the
    /// home) and returns its path: a client secret, an SFDX auth URL.
    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, format!("{content}\n")).expect("write file");
        path
    }

    /// A file holding `org`'s client secret.
    pub fn secret_file(&self, org: &Emulator) -> PathBuf {
        self.file("client_secret", org.client_secret())
    }

    /// `sfauth login token-file --alias ALIAS --client-id ID PATH`, not run yet.
    pub fn login_token_file(&self, alias: &str, org: &Emulator, path: &Path) -> TestCommand {
        self.sfauth()
            .args(["login", "token-file", "--alias", alias])
            .args(["--client-id", org.client_id()])
            .arg(path)
    }

    /// A fresh home with the org `alias` adopted from a token file `org` just issued.
    pub fn with_org(alias: &str, org: &Emulator) -> (Home, TokenFile) {
        let home = Home::new();
        let file = TokenFile::issued_by(org);
        home.adopt(alias, org, &file.path);
        (home, file)
    }

    /// Adopts the token file at `path` as `alias`; panics unless the org is stored.
    pub fn adopt(&self, alias: &str, org: &Emulator, path: &Path) {
        self.login_token_file(alias, org, path)
            .ok()
            .stderr_has(&format!("org `{alias}`"));
    }

    /// `sfauth login sfdx-url --alias ALIAS FILE` (`-` for stdin), not run yet.
    pub fn login_sfdx_url(&self, alias: &str, file: &Path) -> TestCommand {
        self.sfauth()
            .args(["login", "sfdx-url", "--alias", alias])
            .arg(file)
    }

    /// Stores `alias` by `login sfdx-url` with a fresh login at `org` (one refresh).
    pub fn store_sfdx_org(&self, org: &Emulator, alias: &str) {
        let url = org.sfdx_url(&org.fresh_refresh_token());
        let file = self.file(&format!("{alias}.url"), &url);
        self.login_sfdx_url(alias, &file).ok();
    }

    /// `sfauth login access-token --alias ALIAS --instance-url URL` with `SF_ACCESS_TOKEN`
    /// set to a fresh access token of `org`, not run yet.
    pub fn login_access_token(&self, alias: &str, org: &Emulator) -> TestCommand {
        self.sfauth()
            .args(["login", "access-token", "--alias", alias])
            .args(["--instance-url", &org.url()])
            .env("SF_ACCESS_TOKEN", org.fresh_access_token())
    }

    /// `sfauth ARGS` using this home, started: a run the test talks to.
    pub fn start(&self, args: &[&str]) -> crate::command::Running {
        self.sfauth().args(args).start()
    }

    /// Nothing stored: no org listed and no token file written.
    pub fn assert_no_org(&self) {
        assert!(
            !self.config_file().exists() || self.orgs().is_empty(),
            "an org was stored: {:?}",
            self.orgs()
        );
        let tokens = self.path.join("tokens");
        // A `.lock` file holds no token: a login takes the lock before its token request.
        let files = std::fs::read_dir(&tokens)
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .filter(|e| !e.file_name().to_string_lossy().ends_with(".lock"))
                    .count()
            })
            .unwrap_or(0);
        assert_eq!(files, 0, "a token file was written in {}", tokens.display());
    }
}
