//! From flags to one org, and from the org to the library's objects: which token, which app,
//! which login host, which HTTP settings, each value with where it came from. Every command
//! resolves its org here, once, whatever it then does (ripgrep's low-level arguments →
//! high-level arguments, in one step): raw flags (`cli.rs`) → [`ResolvedOrg`] → a
//! [`Session`], a [`FileStore`], a [`Grant`].
//!
//! The precedence is the same for every value: a flag, else its environment variable, else
//! the stored org's record, else sfauth's default. A message about a value the user did not
//! type in this command says where it came from.
//!
//! Not here: reading secrets (`secrets.rs`), the config file's format (`config.rs`), and how
//! a login writes its org (`commands/login/commit.rs`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sfauth::{
    AppClient, ClientSecret, ConnectedApp, Endpoint, Error, ErrorKind, ExpiryPolicy, FileStore,
    HttpConfig, IssuedToken, JwtBearer, LoginUrl, Renewal, Result, Session, SitePrefix, StoreKey,
    StoreOptions, StoreUrl, Token, TokenStore,
};

use crate::agent::client::{AgentClient, AgentOrSession};
use crate::cli::{AliasArgs, AppArgs, AppLoginArgs, HttpArgs, OrgSelection, StoreArgs, TargetArgs};
use crate::config::{Alias, Config, Flow, Home, Org, SecretSource};
use crate::out::errln;
use crate::secrets;

mod source;

pub(crate) use source::env_value;
pub use source::{Source, Sourced};
use source::{flag_or_env, from_source};

/// The env var naming the org when no flag does.
const ORG_ENV: &str = "SFAUTH_ORG";
/// The Salesforce CLI's env var naming the org a command works on: after SFAUTH_ORG.
pub const SF_TARGET_ORG_ENV: &str = "SF_TARGET_ORG";
/// The env var naming the token file when no flag does.
const TOKEN_FILE_ENV: &str = "SFAUTH_TOKEN_FILE";
/// The env var with the client id for logins, token files and orgs that stored none.
const CLIENT_ID_ENV: &str = "SFAUTH_CLIENT_ID";
/// The env var naming the client secret file.
const CLIENT_SECRET_FILE_ENV: &str = "SFAUTH_CLIENT_SECRET_FILE";
/// The env var with the login URL.
const LOGIN_URL_ENV: &str = "SFAUTH_LOGIN_URL";
/// The env var with the site prefix.
const SITE_ENV: &str = "SFAUTH_SITE";
/// The env var naming the token store.
pub const STORE_ENV: &str = "SFAUTH_STORE";
/// The `--store` word for the org's own 0600 token file.
const FILE_STORE_WORD: &str = "file";
/// The env var naming the token's key in a shared store.
const STORE_KEY_ENV: &str = "SFAUTH_STORE_KEY";
/// The env var naming the shared store's password file.
const STORE_PASSWORD_FILE_ENV: &str = "SFAUTH_STORE_PASSWORD_FILE";

/// The org a command works on, resolved from flags, environment and config.
pub struct ResolvedOrg {
    /// The org's alias: a stored org's, or the one a login stores under.
    alias: Option<Sourced<Alias>>,
    /// The stored org's record, when the org is in the config.
    stored: Option<Org>,
    /// Whether the stored org is the default one.
    is_default: bool,
    /// The token file.
    token_file: Sourced<PathBuf>,
    /// A store that holds the token instead of the file (a server, a Postman environment),
    /// opened once.
    shared: Option<SharedStore>,
    /// The app a Postman environment names, when the token is in one.
    store_app: Option<(sfauth::StoreApp, &'static str)>,
    /// The connected app's Consumer Key, once the app is resolved.
    client_id: Option<Sourced<String>>,
    /// The client secret, read once.
    secret: Option<ClientSecret>,
    /// Where a login's client secret comes from (what its config records).
    secret_source: SecretSource,
    /// Where tokens are requested; `None`: where the token says.
    login_url: Option<Sourced<LoginUrl>>,
    /// The Experience Cloud site prefix.
    site: SitePrefix,
    /// When a token counts as stale.
    expiry: ExpiryPolicy,
    /// A session timeout a login records.
    session_timeout: Option<Duration>,
    /// How a stale token is renewed.
    renewal: Renewal,
    /// Whether each renewal asks for the real expiry.
    introspect: bool,
    /// Timeouts, CA and retries for requests.
    http: HttpConfig,
    /// The longest wait for another sfauth that holds the token file's lock.
    lock_timeout: Duration,
    /// How long a shared store keeps a silent holder's lock.
    store_lease: Duration,
}

/// A store many machines share, as resolved: where, which key, opened.
struct SharedStore {
    url: Sourced<StoreUrl>,
    key: StoreKey,
    store: Arc<dyn TokenStore>,
}

/// Which token the token commands' flags, else the environment, name.
enum Picked {
    /// `--org` or SFAUTH_ORG, or the default org when nothing names one.
    Org(Option<Sourced<String>>),
    /// `--token-file` or SFAUTH_TOKEN_FILE.
    TokenFile(Sourced<PathBuf>),
}

/// Flag beats environment beats the default org; two flags, or two variables, that name
/// different tokens are a usage error.
fn pick(args: &TargetArgs) -> Result<Picked> {
    let select = &args.select;
    match (&select.org.org, &select.token_file) {
        (Some(_), Some(_)) => Err(Error::new(
            ErrorKind::Usage,
            "both --org and --token-file were given",
        )
        .with_hint("pass one of them")),
        (Some(alias), None) => Ok(Picked::Org(Some(Sourced::new(
            alias.clone(),
            Source::Flag("--org"),
        )))),
        (None, Some(path)) => Ok(Picked::TokenFile(Sourced::new(
            path.clone(),
            Source::Flag("--token-file"),
        ))),
        (None, None) => match (env_value(ORG_ENV), env_value(TOKEN_FILE_ENV)) {
            (Some(_), Some(_)) => Err(Error::new(
                ErrorKind::Usage,
                format!("both {ORG_ENV} and {TOKEN_FILE_ENV} are set"),
            )
            .with_hint("unset one of them, or pass --org or --token-file, which beats both")),
            (Some(alias), None) => Ok(Picked::Org(Some(Sourced::new(alias, Source::Env(ORG_ENV))))),
            (None, Some(path)) => Ok(Picked::TokenFile(Sourced::new(
                PathBuf::from(path),
                Source::Env(TOKEN_FILE_ENV),
            ))),
            // The Salesforce CLI's default org names no token when a store alone does.
            (None, None) if store_flag_or_env(&args.store).is_some() => Ok(Picked::Org(None)),
            (None, None) => Ok(Picked::Org(sf_target_org())),
        },
    }
}

impl ResolvedOrg {
    /// The token the token commands name (`token`, `header`, `refresh`, `exec`, `request`):
    /// a stored org or a token file, its app and login host completed from the flags, the
    /// environment and the org's record. Checks every flag before anything touches the
    /// network or the token file.
    pub fn for_token(args: &TargetArgs) -> Result<ResolvedOrg> {
        let named_store = store_flag_or_env(&args.store).is_some();
        let mut org = match pick(args)? {
            Picked::TokenFile(path) => ResolvedOrg::bare(path, Some(&args.http)),
            // A store URL alone names the token, as a token file does.
            Picked::Org(None) if named_store => ResolvedOrg::in_store_only(&args.http),
            // SF_TARGET_ORG may name one of the Salesforce CLI's own orgs: served from its
            // auth file, as --store sf:NAME would.
            Picked::Org(Some(alias)) if !named_store && let Some(user) = sf_cli_org(&alias) => {
                let mut org = ResolvedOrg::in_store_only(&args.http);
                let url = StoreUrl::SfCli(user).to_string();
                org.open_store(Sourced::new(url, alias.source.clone()), &args.store)?;
                org
            }
            Picked::Org(alias) => ResolvedOrg::lookup(alias, Some(&args.http))?,
        };
        org.refuse_revoked()?;
        org.resolve_store(&args.store)?;
        if org.shared.is_none() {
            warn_if_others_can_replace(org.token_file());
        }
        org.with_app(&args.app, args.max_age)
    }

    /// A stored org, for the commands that work on one (`status`, `revoke`, `logout`,
    /// `export`): `--org`, else SFAUTH_ORG, else the default org. `http` is for the
    /// commands that talk to Salesforce.
    pub fn stored(select: &OrgSelection, http: Option<&HttpArgs>) -> Result<ResolvedOrg> {
        let alias = flag_or_env(select.org.as_ref(), "--org", ORG_ENV).or_else(sf_target_org);
        let mut org = ResolvedOrg::lookup(alias, http)?;
        org.resolve_store(&StoreArgs::default())?;
        Ok(org)
    }

    /// An org the agent serves: the config's record of `alias`, its store, its app.
    pub fn for_agent(alias: &Alias, http: &HttpArgs) -> Result<ResolvedOrg> {
        let named = Sourced::new(alias.as_str().to_owned(), Source::Flag("--org"));
        let mut org = ResolvedOrg::lookup(Some(named), Some(http))?;
        org.refuse_revoked()?;
        org.resolve_store(&StoreArgs::default())?;
        org.with_app(&AppArgs::default(), None)
    }

    /// The token a `sfauth store` subcommand names: `--store` (or SFAUTH_STORE) and its key.
    pub fn for_store(args: &StoreArgs, http: &HttpArgs) -> Result<ResolvedOrg> {
        if store_flag_or_env(args).is_none() {
            return Err(Error::new(ErrorKind::Usage, "no store named").with_hint(format!(
                "pass --store URL (e.g. postgres://sfauth@db.internal/tokens) or set {STORE_ENV}"
            )));
        }
        let mut org = ResolvedOrg::in_store_only(http);
        org.resolve_store(args)?;
        Ok(org)
    }

    /// The org as a stored record says, with `http`: for the previous org a login replaces.
    pub fn recorded(alias: Alias, org: Org, http: &HttpConfig, lock_timeout: Duration) -> Self {
        let mut resolved =
            ResolvedOrg::bare(Sourced::new(org.token_file.clone(), Source::Config), None);
        resolved.alias = Some(Sourced::new(alias, Source::Config));
        resolved.stored = Some(org);
        resolved.http = http.clone();
        resolved.lock_timeout = lock_timeout;
        if let Err(e) = resolved.resolve_store(&StoreArgs::default()) {
            tracing::debug!(error = %e, "the replaced org's store cannot be opened");
        }
        resolved
    }

    /// The org a login stores under `--alias`: in the store `--store` names, else in the
    /// keychain where one answers, else in sfauth's own token file. Its app comes from
    /// [`with_login_app`](Self::with_login_app), [`with_sfdx_url`](Self::with_sfdx_url) or
    /// [`with_instance`](Self::with_instance).
    pub fn for_login(args: &AliasArgs) -> Result<ResolvedOrg> {
        let mut org = ResolvedOrg::for_login_in_place(args)?;
        if store_flag_or_env(&args.store).is_none() {
            org.open_default_login_store(&args.store)?;
        }
        Ok(org)
    }

    /// The org a login adopts in place (a token file): in the store `--store` names, else
    /// nowhere new.
    pub fn for_login_in_place(args: &AliasArgs) -> Result<ResolvedOrg> {
        let alias = Alias::parse(&args.alias)?;
        let token_file = Home::locate()?.token_file(&alias);
        let mut org =
            ResolvedOrg::bare(Sourced::new(token_file, Source::Default), Some(&args.http));
        org.alias = Some(Sourced::new(alias, Source::Flag("--alias")));
        org.resolve_store(&args.store)?;
        Ok(org)
    }

    /// A login's store when none is named: the keychain where one answers (a desktop),
    /// else the 0600 token file, and a note that says so: never a silent downgrade.
    fn open_default_login_store(&mut self, args: &StoreArgs) -> Result<()> {
        match keychain_answers() {
            Ok(()) => self.open_store(Sourced::new("keychain:".to_owned(), Source::Default), args),
            Err(reason) => {
                errln!(
                    "note: no keychain answers here ({reason}); the token goes in the 0600 file \
                     {}. Pass --store file (or set {STORE_ENV}=file) to choose that and drop \
                     this note, or --store keychain to require the keychain",
                    self.token_file.value.display()
                );
                Ok(())
            }
        }
    }

    /// A login that registers the Salesforce CLI's org `username` under `args`' alias: the
    /// CLI's auth file is the store, and the app (client id, login host, secret) is the one
    /// that file names.
    pub fn for_sf_cli_login(args: &AliasArgs, username: &str) -> Result<ResolvedOrg> {
        if store_flag_or_env(&args.store).is_some() {
            return Err(Error::new(
                ErrorKind::Usage,
                "login sf keeps the token in the Salesforce CLI's auth file: --store (or \
                 SFAUTH_STORE) cannot name another store",
            )
            .with_hint("leave out --store, or unset SFAUTH_STORE for this command"));
        }
        let alias = Alias::parse(&args.alias)?;
        let token_file = Home::locate()?.token_file(&alias);
        let mut org =
            ResolvedOrg::bare(Sourced::new(token_file, Source::Default), Some(&args.http));
        org.alias = Some(Sourced::new(alias, Source::Flag("--alias")));
        let url = StoreUrl::SfCli(username.to_owned()).to_string();
        org.open_store(Sourced::new(url, Source::Flag("--from")), &args.store)?;
        let Some((app, name)) = org.store_app.clone() else {
            return Err(Error::new(
                ErrorKind::Internal,
                "the Salesforce CLI's store names no app",
            ));
        };
        let client_id = app
            .client_id
            .unwrap_or_else(|| sfauth::SF_CLI_CLIENT_ID.to_owned());
        org.client_id = Some(Sourced::new(client_id, Source::Store(name)));
        if let Some(login_url) = app.login_url {
            org.login_url =
                Some(Sourced::new(login_url, Source::Store(name)).parse(|u| LoginUrl::parse(u))?);
        }
        org.secret = app.client_secret;
        Ok(org)
    }

    /// An org that a store URL alone names: no stored org, no token file (the store is
    /// resolved next).
    fn in_store_only(http: &HttpArgs) -> ResolvedOrg {
        ResolvedOrg::bare(Sourced::new(PathBuf::new(), Source::Default), Some(http))
    }

    /// An org that is no stored org: a token file, or a login's before its app is known.
    fn bare(token_file: Sourced<PathBuf>, http: Option<&HttpArgs>) -> ResolvedOrg {
        let (http, lock_timeout) = match http {
            Some(args) => (http_config(args), args.timeout),
            None => (HttpConfig::default(), HttpConfig::default().timeout),
        };
        ResolvedOrg {
            alias: None,
            stored: None,
            is_default: false,
            token_file,
            shared: None,
            store_app: None,
            client_id: None,
            secret: None,
            secret_source: SecretSource::default(),
            login_url: None,
            site: SitePrefix::default(),
            expiry: ExpiryPolicy::default(),
            session_timeout: None,
            renewal: Renewal::default(),
            introspect: false,
            http,
            lock_timeout,
            store_lease: StoreOptions::DEFAULT_LEASE,
        }
    }

    /// The named org, or the default one, from the config.
    fn lookup(alias: Option<Sourced<String>>, http: Option<&HttpArgs>) -> Result<ResolvedOrg> {
        let source = alias.as_ref().map_or(Source::Default, |a| a.source.clone());
        let found = Home::locate().and_then(|home| {
            let config = Config::load(&home)?;
            let (alias, org) = config.select(alias.as_ref().map(|a| &a.value))?;
            let is_default = config.default_org.as_ref() == Some(&alias);
            Ok((alias, org.clone(), is_default))
        });
        let (alias, org, is_default) = found.map_err(|e| from_source(e, &source))?;
        let mut resolved =
            ResolvedOrg::bare(Sourced::new(org.token_file.clone(), Source::Config), http);
        resolved.alias = Some(Sourced::new(alias, source));
        resolved.is_default = is_default;
        resolved.expiry = org.expiry(None);
        resolved.stored = Some(org);
        Ok(resolved)
    }

    /// Where the token lives: `--store`, else SFAUTH_STORE, else the stored org's store,
    /// else its token file. A shared store is opened here (it connects on first use), with
    /// its key (`--store-key`, SFAUTH_STORE_KEY, the org's, the alias, `default`) and its
    /// password (in SFAUTH_STORE's URL, a password file, or SFAUTH_STORE_PASSWORD; never in
    /// a flag or the config).
    fn resolve_store(&mut self, args: &StoreArgs) -> Result<()> {
        let recorded = self
            .stored
            .as_ref()
            .and_then(|org| org.store.clone())
            .map(|url| Sourced::new(url, Source::Config));
        match store_flag_or_env(args).or(recorded) {
            Some(text) => self.open_store(text, args),
            None => Ok(()),
        }
    }

    /// Opens the store `text` names (see [`resolve_store`](Self::resolve_store)). The words
    /// `file` (the org's own token file) and `keychain` (its keychain entry) name the two
    /// stores of one machine.
    fn open_store(&mut self, text: Sourced<String>, args: &StoreArgs) -> Result<()> {
        let text = match text.value.trim() {
            FILE_STORE_WORD => return Ok(()),
            "keychain" => Sourced::new("keychain:".to_owned(), text.source),
            _ => text,
        };
        let url = text.clone().parse(|t| StoreUrl::parse(t))?;
        if url.source == Source::Flag("--store") && url.value.has_password() {
            return Err(Error::new(
                ErrorKind::Usage,
                "the --store URL holds a password, which every user of this machine can read in \
                 the process list",
            )
            .with_hint(
                "leave the password out of --store: put it in SFAUTH_STORE_PASSWORD or a file \
                 named by --store-password-file, or put the whole URL in SFAUTH_STORE",
            ));
        }
        let mut url = url;
        if let StoreUrl::File(path) = &url.value {
            self.token_file = Sourced::new(path.clone(), url.source.clone());
            return Ok(());
        }
        let password_file = flag_or_env(
            args.store_password_file.as_ref(),
            "--store-password-file",
            STORE_PASSWORD_FILE_ENV,
        );
        let password = secrets::store_password(password_file.as_ref().map(|p| p.value.as_path()))?;
        if let Some(password) = password {
            url.value = url.value.with_password(password);
        }
        let key = match flag_or_env(args.store_key.as_ref(), "--store-key", STORE_KEY_ENV) {
            Some(key) => key.parse(|k| StoreKey::parse(k))?.value,
            None => match (
                self.stored.as_ref().and_then(|o| o.store_key.as_deref()),
                self.alias(),
            ) {
                (Some(key), _) => StoreKey::parse(key)?,
                (None, Some(alias)) => StoreKey::parse(alias.as_str())?,
                (None, None) => StoreKey::default(),
            },
        };
        self.store_lease = args.store_lease;
        if let StoreUrl::Keychain(None) = &url.value {
            // The entry is named in what a login records, so that it outlives an alias.
            url.value = StoreUrl::Keychain(Some(key.clone()));
        }
        // A Postman environment or the Salesforce CLI's auth file names its own app, read
        // now: a file that is neither fails here, before anything is sent.
        let store: Arc<dyn TokenStore> = match &url.value {
            StoreUrl::SfCli(name) => {
                // One store for the app and the token: the CLI's key is read once.
                let org = sfauth::SfCliHome::of_user()?
                    .store(name)
                    .map_err(|e| from_source(e, &url.source))?
                    .with_lock_timeout(self.lock_timeout);
                let app = org.app().map_err(|e| from_source(e, &url.source))?;
                self.store_app = Some((app, "the Salesforce CLI's auth file"));
                Arc::new(org)
            }
            _ => url
                .value
                .open(&key, &self.store_options())
                .map_err(|e| from_source(e, &url.source))?,
        };
        if let StoreUrl::Postman(path, names) = &url.value {
            let environment = sfauth::PostmanStore::new(path).with_names(names.clone());
            let app = environment.app().map_err(|e| from_source(e, &url.source))?;
            self.store_app = Some((app, "the Postman environment"));
        }
        self.shared = Some(SharedStore { url, key, store });
        Ok(())
    }

    /// How long the store may make this command wait.
    pub fn store_options(&self) -> StoreOptions {
        let options = match Home::locate() {
            Ok(home) => StoreOptions::default().with_lock_dir(home.lock_dir()),
            Err(_) => StoreOptions::default(),
        };
        options
            .with_lock_timeout(self.lock_timeout)
            .with_connect_timeout(self.http.connect_timeout.min(self.http.timeout))
            .with_lease(self.store_lease)
    }

    /// A revoked org is not served: its access token would be refused.
    fn refuse_revoked(&self) -> Result<()> {
        match (&self.alias, &self.stored) {
            (Some(alias), Some(org)) if org.revoked => {
                let alias = &alias.value;
                Err(Error::new(
                    ErrorKind::LoginRequired,
                    format!("the token of org `{alias}` was revoked with `sfauth revoke`"),
                )
                .with_hint(format!(
                    "log in again to `{alias}` (e.g. sfauth login web --alias {alias}), or forget it with sfauth logout --org {alias} --local-only"
                )))
            }
            _ => Ok(()),
        }
    }

    /// Completes a stored org (or a token file) for serving and renewing its token: the app,
    /// the secret, the login host, the expiry and the renewal, from `app`'s flags, the
    /// environment and the org's record.
    pub fn with_app(mut self, app: &AppArgs, max_age: Option<Duration>) -> Result<ResolvedOrg> {
        let stored = self.stored.clone();
        self.expiry = match &stored {
            Some(org) => org.expiry(max_age),
            None => ExpiryPolicy::new(max_age.unwrap_or(ExpiryPolicy::DEFAULT_MAX_AGE)),
        };
        let flag_id = app
            .client_id
            .clone()
            .map(|id| Sourced::new(id, Source::Flag("--client-id")));
        if let Some(org) = &stored
            && org.flow == Flow::AccessToken
            && flag_id.is_none()
        {
            // An adopted access token needs no app until it is stale; then the session says so.
            self.renewal = Renewal::None;
            return Ok(self);
        }
        // The org's own client id issued its refresh token: an exported default does not
        // replace it.
        let stored_id = stored
            .as_ref()
            .map(|org| org.client_id.clone())
            .filter(|id| !id.is_empty())
            .map(|id| Sourced::new(id, Source::Config));
        // Likewise the app a Postman environment names, which its refresh token belongs to.
        let (store_app, store_name) = match self.store_app.clone() {
            Some((app, name)) => (Some(app), name),
            None => (None, "the store"),
        };
        let from_store =
            |value: Option<String>| value.map(|v| Sourced::new(v, Source::Store(store_name)));
        let store_id = from_store(store_app.as_ref().and_then(|app| app.client_id.clone()));
        let client_id = require_client_id(
            flag_id
                .or(store_id)
                .or(stored_id)
                .or_else(|| flag_or_env(None, "--client-id", CLIENT_ID_ENV)),
        )?;
        let secret_file = flag_or_env(
            app.client_secret_file.as_ref(),
            "--client-secret-file",
            CLIENT_SECRET_FILE_ENV,
        );
        let store_secret = store_app.as_ref().and_then(|app| app.client_secret.clone());
        self.secret = match secret_file {
            Some(path) => Some(path.parse(|p| secrets::client_secret_file(p))?.value),
            None => match (secrets::client_secret_env()?, store_secret, &stored) {
                (Some(secret), _, _) | (None, Some(secret), _) => Some(secret),
                (None, None, Some(org)) => secrets::of_org(org, None)?,
                (None, None, None) => None,
            },
        };
        let store_login = from_store(store_app.as_ref().and_then(|app| app.login_url.clone()));
        self.login_url = match flag_or_env(app.login_url.as_ref(), "--login-url", LOGIN_URL_ENV)
            .or(store_login)
        {
            Some(url) => Some(url.parse(|u| LoginUrl::parse(u))?),
            None => match &stored {
                Some(org) => Some(
                    Sourced::new(org.login_url.clone(), Source::Config)
                        .parse(|u| LoginUrl::parse(u))?,
                ),
                None => None,
            },
        };
        let store_site = from_store(store_app.as_ref().map(|app| app.site.clone()));
        let site = match flag_or_env(app.site.as_ref(), "--site", SITE_ENV).or(store_site) {
            Some(site) => Some(site),
            None => stored
                .as_ref()
                .map(|org| Sourced::new(org.site.clone(), Source::Config)),
        };
        if let Some(site) = site {
            self.site = site.parse(|s| SitePrefix::parse(s))?.value;
        }
        self.client_id = Some(client_id);
        if let Some(org) = &stored {
            self.renewal = self.renewal_of(org)?;
            self.introspect = org.introspect;
        }
        Ok(self)
    }

    /// Completes a login's org from its flags: the app (a client id is required), where its
    /// secret comes from (read now, so a login fails before any request if it cannot be),
    /// the login host (default: login.salesforce.com), the site and the expiry settings.
    pub fn with_login_app(mut self, args: &AppLoginArgs) -> Result<ResolvedOrg> {
        let app = &args.app;
        self.client_id = Some(require_client_id(flag_or_env(
            app.client_id.as_ref(),
            "--client-id",
            CLIENT_ID_ENV,
        ))?);
        let secret_file = flag_or_env(
            app.client_secret_file.as_ref(),
            "--client-secret-file",
            CLIENT_SECRET_FILE_ENV,
        );
        self.secret_source = SecretSource {
            client_secret_file: secret_file
                .map(|path| path.parse(|p| absolute(p)))
                .transpose()?
                .map(|path| path.value),
            client_secret_env: args.client_secret_env.clone(),
            client_secret_in_token_file: false,
        };
        self.secret = secrets::named(&self.secret_source)?;
        let login_url = flag_or_env(app.login_url.as_ref(), "--login-url", LOGIN_URL_ENV)
            .unwrap_or_else(|| Sourced::new(LoginUrl::PRODUCTION.to_owned(), Source::Default));
        self.login_url = Some(login_url.parse(|u| LoginUrl::parse(u))?);
        if let Some(site) = flag_or_env(app.site.as_ref(), "--site", SITE_ENV) {
            self.site = site.parse(|s| SitePrefix::parse(s))?.value;
        }
        self.session_timeout = args.session_timeout;
        self.introspect = args.introspect;
        Ok(self)
    }

    /// Completes a login's org from an SFDX auth URL: its app and its instance.
    pub fn with_sfdx_url(mut self, url: &sfauth::SfdxAuthUrl) -> ResolvedOrg {
        self.client_id = Some(Sourced::new(url.client_id.clone(), Source::Flag("FILE")));
        self.secret = url.client_secret.clone();
        self.secret_source.client_secret_in_token_file = url.client_secret.is_some();
        self.login_url = Some(Sourced::new(url.instance_url.clone(), Source::Flag("FILE")));
        self
    }

    /// Completes a login's org that has no app: an adopted access token at `instance`.
    pub fn with_instance(mut self, instance: LoginUrl) -> ResolvedOrg {
        self.login_url = Some(Sourced::new(instance, Source::Flag("--instance-url")));
        self
    }

    /// Makes a login adopt `path` in place instead of writing a token file of its own; the
    /// login host, when no flag or variable names one, is where the token says.
    pub fn adopting(mut self, path: PathBuf, token: &Token) -> Result<ResolvedOrg> {
        self.token_file = Sourced::new(path, Source::Flag("PATH"));
        if self
            .login_url
            .as_ref()
            .is_some_and(|u| u.source == Source::Default)
        {
            let issuer = Endpoint::for_token(token, self.site.clone())?;
            self.login_url = Some(Sourced::new(issuer.login_url().clone(), Source::Default));
        }
        Ok(self)
    }

    /// How a stored org's token is renewed when stale: by its refresh token, or by running
    /// its flow again where the flow gives no refresh token.
    fn renewal_of(&self, org: &Org) -> Result<Renewal> {
        Ok(match org.flow {
            Flow::Jwt => {
                let key_file = org.key_file.as_ref().ok_or_else(|| {
                    Error::new(
                        ErrorKind::Usage,
                        "this JWT org has no key file in the config",
                    )
                    .with_hint("log in again with sfauth login jwt --key-file PATH")
                })?;
                let username = org.username.clone().unwrap_or_default();
                Renewal::JwtBearer(self.jwt_bearer(&username, key_file, org.audience.as_deref())?)
            }
            Flow::ClientCredentials => Renewal::ClientCredentials,
            Flow::Password => match (secrets::env(secrets::PASSWORD_ENV)?, &org.username) {
                (Some(password), Some(username)) => Renewal::Password {
                    username: username.clone(),
                    password,
                },
                _ => Renewal::None,
            },
            Flow::AccessToken => Renewal::None,
            Flow::Web | Flow::Device | Flow::SfdxUrl | Flow::TokenFile | Flow::Sf => {
                Renewal::RefreshToken
            }
        })
    }

    /// The JWT bearer settings for `username`, signed with the key in `key_file`; `aud` is
    /// `audience`, else the one for the org's login host.
    pub fn jwt_bearer(
        &self,
        username: &str,
        key_file: &Path,
        audience: Option<&str>,
    ) -> Result<JwtBearer> {
        let login = self.login_url()?;
        Ok(JwtBearer {
            client_id: self.client_id().to_owned(),
            username: username.to_owned(),
            audience: audience.map_or_else(|| JwtBearer::audience_for(&login), str::to_owned),
            key_pem: secrets::private_key(key_file)?,
        })
    }

    /// The alias, when the org is (or becomes) a stored one.
    pub fn alias(&self) -> Option<&Alias> {
        self.alias.as_ref().map(|a| &a.value)
    }

    /// The org's settings as `sfauth config` shows them: (name, value, where it came from).
    /// Where a secret would come from is shown, never the secret.
    pub fn settings(&self) -> Vec<(&'static str, serde_json::Value, String)> {
        let mut rows = Vec::new();
        if let Some(alias) = &self.alias {
            rows.push(("org", alias.value.as_str().into(), alias.source.to_string()));
        }
        let Some(record) = &self.stored else {
            return rows;
        };
        rows.push(("org.flow", record.flow.as_str().into(), "config".to_owned()));
        rows.push((
            "org.username",
            record.username.clone().into(),
            "config".to_owned(),
        ));
        match &self.shared {
            Some(shared) => rows.push((
                "org.store",
                shared.url.value.to_string().into(),
                shared.url.source.to_string(),
            )),
            None => {
                rows.push(("org.store", "file".into(), "default".to_owned()));
                rows.push((
                    "org.token_file",
                    self.token_file.value.display().to_string().into(),
                    self.token_file.source.to_string(),
                ));
            }
        }
        let app = self
            .clone_for_settings()
            .with_app(&crate::cli::AppArgs::default(), None)
            .ok();
        let resolved = app.as_ref().unwrap_or(self);
        if let Some(id) = &resolved.client_id {
            rows.push((
                "org.client_id",
                id.value.clone().into(),
                id.source.to_string(),
            ));
        }
        if let Some(url) = &resolved.login_url {
            rows.push((
                "org.login_url",
                url.value.as_str().into(),
                url.source.to_string(),
            ));
        }
        let secret = match (
            &record.secret.client_secret_file,
            &record.secret.client_secret_env,
        ) {
            (Some(path), _) => format!("file {}", path.display()),
            (None, Some(var)) => format!("env {var}"),
            (None, None) if std::env::var_os(secrets::CLIENT_SECRET_ENV).is_some() => {
                format!("env {}", secrets::CLIENT_SECRET_ENV)
            }
            (None, None) => "none".to_owned(),
        };
        rows.push(("org.client_secret", secret.into(), "config".to_owned()));
        let expiry = record.expiry(None);
        rows.push((
            "org.max_age",
            crate::output::age(expiry.max_age()).into(),
            if record.session_timeout_secs.is_some() {
                "config"
            } else {
                "default"
            }
            .to_owned(),
        ));
        rows.push((
            "org.introspect",
            record.introspect.into(),
            "config".to_owned(),
        ));
        rows
    }

    /// The same org, for resolving its app without changing this one.
    fn clone_for_settings(&self) -> ResolvedOrg {
        let mut copy = ResolvedOrg::bare(self.token_file.clone(), None);
        copy.alias = self.alias.clone();
        copy.stored = self.stored.clone();
        copy.store_app = self.store_app.clone();
        copy.http = self.http.clone();
        copy
    }

    /// Whether this command named the org (`--org`, SFAUTH_ORG): not the default org, nor
    /// the Salesforce CLI's SF_TARGET_ORG, which is a default too.
    pub fn named_explicitly(&self) -> bool {
        self.alias.as_ref().is_some_and(|alias| {
            alias.source != Source::Default && alias.source != Source::Env(SF_TARGET_ORG_ENV)
        })
    }

    /// The stored org's alias and record: every org [`stored`](Self::stored) resolves has
    /// them.
    pub fn named(&self) -> Result<(&Alias, &Org)> {
        match (self.alias(), &self.stored) {
            (Some(alias), Some(org)) => Ok((alias, org)),
            _ => Err(Error::new(
                ErrorKind::Internal,
                "this command needs a stored org, and none was resolved",
            )),
        }
    }

    /// Whether the stored org is the default one.
    pub fn is_default(&self) -> bool {
        self.is_default
    }

    /// The token file.
    pub fn token_file(&self) -> &Path {
        &self.token_file.value
    }

    /// When a token counts as stale.
    pub fn expiry(&self) -> ExpiryPolicy {
        self.expiry
    }

    /// The HTTP settings.
    pub fn http_config(&self) -> &HttpConfig {
        &self.http
    }

    /// The longest wait for another sfauth that holds the token file's lock.
    pub fn lock_timeout(&self) -> Duration {
        self.lock_timeout
    }

    /// The connected app's Consumer Key (`-` for an org that has no app: it is never sent).
    pub fn client_id(&self) -> &str {
        self.client_id.as_ref().map_or("-", |id| id.value.as_str())
    }

    /// The connected app, with its secret when known.
    pub fn client(&self) -> ConnectedApp {
        let client = ConnectedApp::new(self.client_id());
        match &self.secret {
            Some(secret) => client.with_secret(secret.clone()),
            None => client,
        }
    }

    /// Where tokens are requested: the resolved login URL, else the stored org's.
    fn login_url(&self) -> Result<LoginUrl> {
        match (&self.login_url, &self.stored) {
            (Some(url), _) => Ok(url.value.clone()),
            (None, Some(org)) => Ok(Sourced::new(org.login_url.clone(), Source::Config)
                .parse(|u| LoginUrl::parse(u))?
                .value),
            (None, None) => Err(Error::new(ErrorKind::Usage, "no login URL for this token")
                .with_remedy(sfauth::Remedy::LoginUrl)),
        }
    }

    /// The token endpoint: the login host and the site.
    pub fn endpoint(&self) -> Result<Endpoint> {
        let site = match (&self.login_url, &self.stored) {
            (None, Some(org)) => SitePrefix::parse(&org.site)?,
            _ => self.site.clone(),
        };
        Ok(Endpoint::new(self.login_url()?, site))
    }

    /// The app at the org's login endpoint, for a token request, with the org's HTTP
    /// settings. Building it reads the CA file, so a bad one stops a login before anything
    /// is asked.
    pub fn app_client(&self) -> Result<AppClient> {
        AppClient::new(self.client(), self.endpoint()?, &self.http)
    }

    /// The org's store: the shared one, else its token file.
    pub fn store(&self) -> Arc<dyn TokenStore> {
        match &self.shared {
            Some(shared) => Arc::clone(&shared.store),
            None => Arc::new(self.file_store()),
        }
    }

    /// The shared store's URL (no password) and key, when the token is in one.
    pub fn shared_store(&self) -> Option<(&StoreUrl, &StoreKey)> {
        self.shared.as_ref().map(|s| (&s.url.value, &s.key))
    }

    /// Where the token lives, for messages.
    pub fn describe_store(&self) -> String {
        match &self.shared {
            Some(shared) => shared.store.describe(),
            None => self.token_file().display().to_string(),
        }
    }

    /// The token file's store: another sfauth's lock is waited for at most `--timeout`, and
    /// on a terminal the wait is announced once, after a second.
    pub fn file_store(&self) -> FileStore {
        use std::io::IsTerminal;
        let store = FileStore::new(self.token_file()).with_lock_timeout(self.lock_timeout);
        if std::io::stderr().is_terminal() {
            store.with_wait_notice(|lock| {
                errln!(
                    "waiting for another sfauth that is refreshing this token (lock {})…",
                    lock.display()
                );
            })
        } else {
            store
        }
    }

    /// A session over the token file: serves the token, and renews it as the org says.
    pub fn session(&self) -> Session {
        let mut builder = Session::builder(self.store(), self.client())
            .expiry(self.expiry)
            .http(self.http.clone())
            .renewal(self.renewal.clone())
            .introspect_expiry(self.introspect)
            .site(self.site.clone());
        if let Some(url) = &self.login_url {
            builder = builder.login_url(url.value.clone());
        }
        builder.build()
    }

    /// A REST client over [`token_source`](Self::token_source), with this org's HTTP
    /// settings: what `request` and `open` call Salesforce through.
    pub fn api(&self, args: &TargetArgs) -> sfauth::Api {
        sfauth::Api::new(self.token_source(args)).with_http(self.http_config().clone())
    }

    /// Where the token commands get the token: a running agent when it serves this org as
    /// the config describes it, else (or when it does not answer) the org's session. A
    /// command line that changes the org (another store or key, another app, another
    /// session timeout) or says `--no-agent` reads the store itself.
    pub fn token_source(&self, args: &TargetArgs) -> AgentOrSession {
        let overridden = args.no_agent
            || store_flag_or_env(&args.store).is_some()
            || flag_or_env(args.store.store_key.as_ref(), "--store-key", STORE_KEY_ENV).is_some()
            || args.app.client_id.is_some()
            || args.app.client_secret_file.is_some()
            || args.app.login_url.is_some()
            || args.app.site.is_some()
            || args.max_age.is_some()
            || ["SFAUTH_CLIENT_ID", "SFAUTH_LOGIN_URL", "SFAUTH_SITE"]
                .iter()
                .any(|name| env_value(name).is_some());
        let agent = match (&self.stored, self.alias()) {
            (Some(_), Some(alias)) if !overridden => AgentClient::for_alias(alias.as_str()),
            _ => None,
        };
        AgentOrSession::new(agent, self.session())
    }

    /// Revokes `token` (a refresh token, which kills its access tokens too, or an access
    /// token) at the org's login host.
    pub async fn revoke<'a>(&self, token: impl Into<IssuedToken<'a>>) -> Result<()> {
        self.app_client()?.revoke(token).await
    }

    /// The config record a login of `flow` stores for this org; the flow adds what only it
    /// knows (the username, a key file).
    pub fn entry(&self, flow: Flow) -> Result<Org> {
        let login_url = match &self.login_url {
            Some(url) => url.value.to_string(),
            None => self.login_url()?.to_string(),
        };
        let client_id = self
            .client_id
            .as_ref()
            .map(|id| id.value.clone())
            .unwrap_or_default();
        let (store, store_key) = match &self.shared {
            Some(shared) => (
                Some(shared.url.value.to_string()),
                self.alias()
                    .filter(|alias| alias.as_str() == shared.key.as_str())
                    .map_or_else(|| Some(shared.key.to_string()), |_| None),
            ),
            None => (None, None),
        };
        Ok(Org {
            site: self.site.as_str().to_owned(),
            secret: self.secret_source.clone(),
            store,
            store_key,
            session_timeout_secs: self.session_timeout.map(|d| d.as_secs()),
            introspect: self.introspect,
            ..Org::new(flow, login_url, client_id, self.token_file().to_path_buf())
        })
    }
}

/// `--store`, else SFAUTH_STORE.
fn store_flag_or_env(args: &StoreArgs) -> Option<Sourced<String>> {
    flag_or_env(args.store.as_ref(), "--store", STORE_ENV)
}

/// SF_TARGET_ORG, as a source of the org.
fn sf_target_org() -> Option<Sourced<String>> {
    env_value(SF_TARGET_ORG_ENV).map(|org| Sourced::new(org, Source::Env(SF_TARGET_ORG_ENV)))
}

/// The Salesforce CLI's username for `alias`, when SF_TARGET_ORG names it and sfauth has no
/// org of that name.
fn sf_cli_org(alias: &Sourced<String>) -> Option<String> {
    if alias.source != Source::Env(SF_TARGET_ORG_ENV) {
        return None;
    }
    let known = Home::locate()
        .and_then(|home| Config::load(&home))
        .is_ok_and(|config| Alias::parse(&alias.value).is_ok_and(|a| config.orgs.contains_key(&a)));
    if known {
        return None;
    }
    let cwd = std::env::current_dir().ok()?;
    let home = sfauth::SfCliHome::of_user().ok()?.with_project_from(&cwd);
    home.resolve(&alias.value).ok()
}

/// Whether the OS keychain answers here, or why not (for a note).
fn keychain_answers() -> std::result::Result<(), String> {
    sfauth::KeychainStore::probe().map_err(|e| e.to_string())
}

/// A non-empty client id, or a usage error saying how to give one.
fn require_client_id(client_id: Option<Sourced<String>>) -> Result<Sourced<String>> {
    client_id
        .map(|id| Sourced::new(id.value.trim().to_owned(), id.source))
        .filter(|id| !id.value.is_empty())
        .ok_or_else(|| {
            Error::new(ErrorKind::Usage, "no client id given").with_hint(
                "pass --client-id with the connected app's Consumer Key (or set \
                 SFAUTH_CLIENT_ID); to create the app, see \"Creating the app sfauth logs in \
                 with\" in the README",
            )
        })
}

/// The HTTP settings of the flags (`--timeout`, `--ca-file`, `--retries` and their env
/// vars).
fn http_config(args: &HttpArgs) -> HttpConfig {
    let defaults = HttpConfig::default();
    let connect_timeout = args.timeout.min(defaults.connect_timeout);
    let mut config = defaults
        .with_timeout(args.timeout)
        .with_connect_timeout(connect_timeout);
    if let Some(ca_file) = &args.ca_file {
        config = config.with_ca_file(ca_file);
    }
    if let Some(retries) = args.retries {
        config.retry.max_retries = usize::from(retries);
    }
    config
}

/// `path` made absolute, for a config that is read from anywhere.
pub fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| {
        Error::new(
            ErrorKind::Usage,
            format!("cannot resolve {}: {e}", path.display()),
        )
    })
}

/// Warns once when the token file's directory is world-writable without the sticky bit:
/// anyone on the machine can then replace the file (rename over it) with a token of theirs,
/// or delete it.
pub fn warn_if_others_can_replace(token_file: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let dir = match token_file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Ok(meta) = std::fs::metadata(dir) else {
        return;
    };
    let mode = meta.permissions().mode();
    if mode & 0o002 != 0 && mode & 0o1000 == 0 {
        errln!(
            "warning: {} is in {}, which anyone on this machine can write to (mode {:o}, no sticky bit): they can replace or delete the token file; move it to a private directory (e.g. chmod 700 {})",
            token_file.display(),
            dir.display(),
            mode & 0o7777,
            dir.display()
        );
    }
}
