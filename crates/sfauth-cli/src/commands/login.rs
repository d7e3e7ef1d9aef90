//! `sfauth login <flow>`: obtain a token and store the org under an alias.
//!
//! An alias that exists is replaced only after the new token is in hand, so a failed login
//! leaves the stored org as it was.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sfauth::flows::code::{self, AuthorizeOptions};
use sfauth::flows::jwt;
use sfauth::flows::loopback::RedirectListener;
use sfauth::flows::{client_credentials, device, password, refresh, userinfo};
use sfauth::http::HttpClient;
use sfauth::store::file::write_private_file;
use sfauth::{
    Endpoint, Error, ErrorKind, FileStore, LoginUrl, OAuthClient, Secret, SfdxAuthUrl, SitePrefix,
    Token, TokenStore, endpoint,
};
use zeroize::Zeroizing;

use crate::cli::{AliasArgs, HttpArgs, LoginArgs, LoginFlow, OrgArgs};
use crate::commands::revoke::{org_endpoint, revoke_refresh_token};
use crate::config::{Alias, Config, Flow, Home, Org, SecretSource, TOKEN_FILE_SECRET_KEY};
use crate::out::errln;
use crate::target::{
    PASSWORD_ENV, env_secret, file_store, http_config, jwt_bearer, require_client_id, stored_secret,
};

/// The env var `login access-token` reads the token from, as `sf` does.
const ACCESS_TOKEN_ENV: &str = "SF_ACCESS_TOKEN";

/// Runs `sfauth login`.
pub async fn run(args: &LoginArgs) -> anyhow::Result<()> {
    match &args.flow {
        LoginFlow::Web {
            org,
            redirect_uri,
            scopes,
            prompt,
            login_hint,
            no_browser,
            wait,
        } => {
            let app = App::from_args(org)?;
            let options = AuthorizeOptions {
                redirect_uri: redirect_uri.clone(),
                scopes: split_scopes(scopes),
                prompt: prompt.clone(),
                login_hint: login_hint.clone(),
            };
            let pending = code::begin(&app.endpoint, &app.client, &options)?;
            let code = if *no_browser {
                errln!(
                    "Open this URL in a browser, log in, then paste the URL you were sent to:\n\n{}\n",
                    pending.authorize_url()
                );
                let redirected = read_line("redirected URL")?;
                pending.code_from_redirect(redirected.expose())?
            } else {
                let listener = RedirectListener::bind(pending.redirect_uri()).await?;
                errln!(
                    "Opening the browser to log in. If it does not open, visit:\n\n{}\n",
                    pending.authorize_url()
                );
                if let Err(e) = webbrowser::open(pending.authorize_url()) {
                    tracing::debug!("no browser opened: {e}");
                }
                listener.wait(&pending, *wait).await?
            };
            let token = pending
                .exchange(&app.http, &app.endpoint, &app.client, &code)
                .await?;
            app.store(Flow::Web, token, login_hint.clone(), org.set_default)
                .await
        }
        LoginFlow::Jwt {
            org,
            username,
            key_file,
            audience,
        } => {
            let app = App::from_args(org)?;
            let key_file = absolute(key_file)?;
            let bearer = jwt_bearer(
                &app.client,
                username,
                &key_file,
                audience.as_deref(),
                app.endpoint.login_url(),
            )?;
            let token = jwt::request(&app.http, &app.endpoint, &bearer).await?;
            let mut app = app;
            app.key_file = Some(key_file);
            app.audience = audience.clone();
            app.store(Flow::Jwt, token, Some(username.clone()), org.set_default)
                .await
        }
        LoginFlow::ClientCredentials { org } => {
            let app = App::from_args(org)?;
            client_credentials::requires_my_domain(app.endpoint.login_url())?;
            let token = client_credentials::request(&app.http, &app.endpoint, &app.client).await?;
            app.store(Flow::ClientCredentials, token, None, org.set_default)
                .await
        }
        LoginFlow::Password { org, username } => {
            let app = App::from_args(org)?;
            errln!(
                "warning: Salesforce blocks the username-password flow by default in orgs created since Summer '23; prefer web, jwt or device"
            );
            let secret = match env_secret(PASSWORD_ENV)? {
                Some(p) => p,
                None => read_line("password + security token")?,
            };
            let token =
                password::request(&app.http, &app.endpoint, &app.client, username, &secret).await?;
            app.store(
                Flow::Password,
                token,
                Some(username.clone()),
                org.set_default,
            )
            .await
        }
        LoginFlow::Device { org, scopes, wait } => {
            let app = App::from_args(org)?;
            let started =
                device::start(&app.http, &app.endpoint, &app.client, &split_scopes(scopes)).await?;
            errln!(
                "To log in, open {} in any browser and enter the code {}\nWaiting for the approval...",
                started.verification_uri,
                started.user_code
            );
            let token =
                device::poll(&app.http, &app.endpoint, &app.client, &started, *wait).await?;
            app.store(Flow::Device, token, None, org.set_default).await
        }
        LoginFlow::SfdxUrl { org, file } => sfdx_url(org, file).await,
        LoginFlow::AccessToken { org, instance_url } => access_token(org, instance_url).await,
        LoginFlow::TokenFile { org, path } => token_file(org, path).await,
    }
}

/// The app, endpoint and HTTP client a login uses, and what the org entry will record.
struct App {
    alias: Alias,
    client: OAuthClient,
    client_id: String,
    secret: SecretSource,
    endpoint: Endpoint,
    http: HttpClient,
    key_file: Option<PathBuf>,
    audience: Option<String>,
    session_timeout_secs: Option<u64>,
    introspect: bool,
    http_args: HttpArgs,
}

/// What every app-based login records: the alias, the client id, where the secret comes
/// from, and the client built from them.
struct Identity {
    alias: Alias,
    client_id: String,
    secret: SecretSource,
    client: OAuthClient,
}

impl Identity {
    fn from_args(args: &OrgArgs) -> sfauth::Result<Identity> {
        let alias = Alias::parse(&args.alias)?;
        let client_id = require_client_id(args.client_id.clone())?;

        let secret = SecretSource {
            client_secret_file: args
                .client_secret_file
                .as_deref()
                .map(absolute)
                .transpose()?,
            client_secret_env: args.client_secret_env.clone(),
            client_secret_in_token_file: false,
        };
        // Fail now, not at the first refresh, if the named secret cannot be read.
        let mut client = OAuthClient::new(client_id.clone());
        if let Some(s) = stored_secret(&secret)? {
            client = client.with_secret(s);
        }
        Ok(Identity {
            alias,
            client_id,
            secret,
            client,
        })
    }
}

impl App {
    fn from_args(args: &OrgArgs) -> sfauth::Result<App> {
        let Identity {
            alias,
            client_id,
            secret,
            client,
        } = Identity::from_args(args)?;
        let login = LoginUrl::parse(args.login_url.as_deref().unwrap_or(endpoint::PRODUCTION))?;
        let site = SitePrefix::parse(args.site.as_deref().unwrap_or_default())?;
        let http = HttpClient::new(&http_config(&args.http), &login)?;
        Ok(App {
            alias,
            client,
            client_id,
            secret,
            endpoint: Endpoint::new(login, site),
            http,
            key_file: None,
            audience: None,
            session_timeout_secs: args.session_timeout.map(|d| d.as_secs()),
            introspect: args.introspect,
            http_args: args.http.clone(),
        })
    }

    /// Writes the token to the org's own file, then the org entry.
    async fn store(
        self,
        flow: Flow,
        token: Token,
        username: Option<String>,
        set_default: bool,
    ) -> anyhow::Result<()> {
        let home = Home::locate()?;
        let token_file = home.token_file(&self.alias);
        let org = Org {
            site: self.endpoint.site().as_str().to_owned(),
            secret: self.secret,
            username,
            key_file: self.key_file,
            audience: self.audience,
            session_timeout_secs: self.session_timeout_secs,
            introspect: self.introspect,
            ..Org::new(
                flow,
                self.endpoint.login_url().to_string(),
                self.client_id,
                token_file,
            )
        };
        let login = Login {
            home: &home,
            alias: self.alias,
            set_default,
            http: &self.http_args,
            writes_token: true,
            spent: None,
            lock: None,
        };
        login.commit(org, &token).await
    }
}

/// The token's username from UserInfo, when the login did not name one. Best effort: an
/// org whose UserInfo cannot be read is stored without it.
async fn username_of(token: &Token, http: &HttpArgs) -> Option<String> {
    let instance = LoginUrl::parse(token.instance_url()).ok()?;
    let http = HttpClient::new(&http_config(http), &instance).ok()?;
    match userinfo::userinfo(&http, instance.as_str(), &token.access_token()).await {
        Ok(info) => info.preferred_username,
        Err(e) => {
            tracing::debug!(error = %e, "no username from UserInfo");
            None
        }
    }
}

/// What a login stores, and how.
struct Login<'a> {
    home: &'a Home,
    alias: Alias,
    set_default: bool,
    http: &'a HttpArgs,
    /// The login wrote a token of its own (every flow but `token-file`, which adopts one).
    writes_token: bool,
    /// A refresh token the login itself used up: never revoked as "replaced".
    spent: Option<Secret<String>>,
    /// The token file's lock, when the login took it before its token request.
    lock: Option<sfauth::StoreLock>,
}

impl Login<'_> {
    /// Commits the login: the token first, under the store's lock (the one path by which a
    /// token reaches disk), then the config entry. If the config cannot be written, the
    /// previous token file is put back, so a failed login leaves the previous org as it was.
    /// Then the refresh token the login replaced is revoked (best effort): left live, it
    /// would hold one of the few approvals Salesforce allows per user and app.
    async fn commit(mut self, mut org: Org, token: &Token) -> anyhow::Result<()> {
        if org.username.is_none() {
            org.username = username_of(token, self.http).await;
        }
        let previous = Config::load(self.home)
            .ok()
            .and_then(|config| config.orgs.get(&self.alias).cloned());
        let store = file_store(&org.token_file, self.http);
        let (lock, before) = if self.writes_token {
            let lock = match self.lock.take() {
                Some(lock) => lock,
                None => store.lock().await?,
            };
            let before = read_if_present(&org.token_file)?;
            store.save(&lock, token).await?;
            (Some(lock), before)
        } else {
            (None, None)
        };
        let alias = self.alias.clone();
        let set_default = self.set_default;
        let entry = org.clone();
        let replaced = Config::update(self.home, |config| {
            let replaced = config.orgs.insert(alias.clone(), entry).is_some();
            if set_default || config.default_org.is_none() {
                config.default_org = Some(alias.clone());
            }
            Ok(replaced)
        })
        .await;
        let replaced = match replaced {
            Ok(replaced) => replaced,
            Err(e) => {
                if self.writes_token {
                    put_back(&org.token_file, before.as_ref().map(|b| b.as_slice()));
                }
                return Err(e.into());
            }
        };
        drop(lock);
        let verb = if replaced { "replaced" } else { "stored" };
        let who = match token.user_id() {
            Some(user) => format!(" (user {user} at {})", token.instance_url()),
            None => String::new(),
        };
        errln!(
            "{verb} org `{}`{who}; use it with --org {}",
            self.alias,
            self.alias
        );
        self.retire(
            &org,
            token,
            previous.as_ref(),
            before.as_ref().map(|b| b.as_slice()),
        )
        .await;
        Ok(())
    }

    /// Revokes the refresh token this login replaced, if any, and says so; a failure is a
    /// warning, since the login itself succeeded.
    async fn retire(
        &self,
        org: &Org,
        token: &Token,
        previous: Option<&Org>,
        before: Option<&[u8]>,
    ) {
        // The token the login overwrote, else one in a file of sfauth's own that the alias
        // pointed to and no longer does.
        let (old, at, orphan) = match (before, previous) {
            (Some(bytes), _) => {
                let Ok(old) = Token::from_json(bytes) else {
                    return;
                };
                let at = previous
                    .filter(|p| p.token_file == org.token_file)
                    .unwrap_or(org);
                (old, at, None)
            }
            (None, Some(prev))
                if prev.token_file != org.token_file && self.home.owns(&prev.token_file) =>
            {
                let Ok(old) = FileStore::new(&prev.token_file).load().await else {
                    return;
                };
                (old, prev, Some(prev.token_file.clone()))
            }
            _ => return,
        };
        let Some(old_refresh) = old.refresh_token() else {
            return;
        };
        if Some(&old_refresh) == token.refresh_token().as_ref()
            || Some(&old_refresh) == self.spent.as_ref()
        {
            return;
        }
        let alias = &self.alias;
        let revoked = match org_endpoint(at) {
            Ok(endpoint) => revoke_refresh_token(&endpoint, &old_refresh, self.http).await,
            Err(e) => Err(e),
        };
        match revoked {
            Ok(()) => {
                errln!(
                    "revoked the refresh token this login replaced for `{alias}` at Salesforce (each one holds one of the 5 approvals Salesforce allows per user and app)"
                );
                if let Some(file) = orphan {
                    let _ = std::fs::remove_file(file);
                }
            }
            Err(e) => errln!(
                "warning: could not revoke the refresh token this login replaced for `{alias}` ({e}); it stays live until revoked in Setup (Connected Apps OAuth Usage) or it expires"
            ),
        }
    }
}

/// The bytes of `path`, or `None` if there is no such file.
fn read_if_present(path: &Path) -> sfauth::Result<Option<Zeroizing<Vec<u8>>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(Zeroizing::new(bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::new(
            ErrorKind::Storage,
            format!("cannot read {}: {e}", path.display()),
        )
        .with_hint("check the file and its directory's permissions")),
    }
}

/// Puts the previous token file back after a failed login (or removes the new one when there
/// was none). The caller holds the store's lock.
fn put_back(path: &Path, before: Option<&[u8]>) {
    let undone = match before {
        Some(bytes) => write_private_file(path, bytes).map_err(|e| e.to_string()),
        None => std::fs::remove_file(path).map_err(|e| e.to_string()),
    };
    if let Err(e) = undone {
        errln!(
            "warning: the login failed and the previous token file {} could not be put back: {e}",
            path.display()
        );
    }
}

/// `sfauth login sfdx-url FILE|-`: refresh once to prove the URL works, then store.
async fn sfdx_url(args: &AliasArgs, file: &Path) -> anyhow::Result<()> {
    let alias = Alias::parse(&args.alias)?;
    let text = if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| {
            Error::new(
                ErrorKind::Usage,
                format!("cannot read the SFDX auth URL from stdin: {e}"),
            )
        })?;
        Secret::new(text)
    } else {
        Secret::new(std::fs::read_to_string(file).map_err(|e| {
            Error::new(
                ErrorKind::Usage,
                format!("cannot read {}: {e}", file.display()),
            )
        })?)
    };
    let url = SfdxAuthUrl::parse(text.expose())?;
    let mut client = OAuthClient::new(url.client_id.clone());
    if let Some(secret) = &url.client_secret {
        client = client.with_secret(secret.clone());
    }
    let endpoint = Endpoint::new(url.instance_url.clone(), SitePrefix::default());
    let http = HttpClient::new(&http_config(&args.http), endpoint.login_url())?;
    let home = Home::locate()?;
    let token_file = home.token_file(&alias);
    // The refresh spends the URL's refresh token when rotation is on: from then on the
    // answer must reach the file. So the file's lock is taken first (a lock that cannot be
    // had stops the login before anything is spent), and a signal waits for the save.
    let lock = file_store(&token_file, &args.http).lock().await?;
    let _hold = crate::signals::Hold::begin();
    let refreshed = refresh::refresh(&http, &endpoint, &client, &url.refresh_token).await?;
    let mut token = refreshed.response;
    if token.refresh_token().is_none() {
        token.set("refresh_token", url.refresh_token.expose());
    }
    if let Some(secret) = &url.client_secret {
        token.set(TOKEN_FILE_SECRET_KEY, secret.expose());
    }
    let org = Org {
        secret: SecretSource {
            client_secret_in_token_file: url.client_secret.is_some(),
            ..Default::default()
        },
        ..Org::new(
            Flow::SfdxUrl,
            url.instance_url.to_string(),
            url.client_id.clone(),
            token_file,
        )
    };
    let login = Login {
        home: &home,
        alias,
        set_default: args.set_default,
        http: &args.http,
        writes_token: true,
        spent: Some(url.refresh_token.clone()),
        lock: Some(lock),
    };
    login.commit(org, &token).await
}

/// `sfauth login access-token --instance-url URL`: the token from stdin or SF_ACCESS_TOKEN.
async fn access_token(args: &AliasArgs, instance_url: &str) -> anyhow::Result<()> {
    let alias = Alias::parse(&args.alias)?;
    let instance = LoginUrl::parse(instance_url)?;
    let access = match env_secret(ACCESS_TOKEN_ENV)? {
        Some(t) => t,
        None => read_line("access token")?,
    };
    // Salesforce never says when a token was issued; the adoption time is the best guess.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let token = Token::from_value(serde_json::json!({
        "access_token": access.expose(),
        "instance_url": instance.as_str(),
        "token_type": "Bearer",
        "issued_at": now.to_string(),
    }))
    .map_err(|e| {
        Error::new(
            ErrorKind::Usage,
            format!("the access token is unusable: {e}"),
        )
    })?;
    let home = Home::locate()?;
    let token_file = home.token_file(&alias);
    let org = Org::new(
        Flow::AccessToken,
        instance.to_string(),
        String::new(),
        token_file,
    );
    let login = Login {
        home: &home,
        alias,
        set_default: args.set_default,
        http: &args.http,
        writes_token: true,
        spent: None,
        lock: None,
    };
    login.commit(org, &token).await?;
    errln!(
        "note: an adopted access token cannot be renewed; log in with another flow when it expires"
    );
    Ok(())
}

/// `sfauth login token-file PATH`: adopt the file in place.
async fn token_file(args: &OrgArgs, path: &Path) -> anyhow::Result<()> {
    let Identity {
        alias,
        client_id,
        secret,
        ..
    } = Identity::from_args(args)?;
    let site = SitePrefix::parse(args.site.as_deref().unwrap_or_default())?;
    let path = absolute(path)?;
    let token = FileStore::new(&path).load().await?;
    crate::target::warn_if_others_can_replace(&path);
    let login_url = match &args.login_url {
        Some(url) => LoginUrl::parse(url)?,
        None => Endpoint::for_token(&token, site.clone())?
            .login_url()
            .clone(),
    };
    if token.refresh_token().is_none() {
        errln!(
            "warning: {} has no refresh_token; sfauth can serve it but not renew it",
            path.display()
        );
    }
    let org = Org {
        site: site.as_str().to_owned(),
        secret,
        session_timeout_secs: args.session_timeout.map(|d| d.as_secs()),
        introspect: args.introspect,
        ..Org::new(Flow::TokenFile, login_url.to_string(), client_id, path)
    };
    let home = Home::locate()?;
    let login = Login {
        home: &home,
        alias,
        set_default: args.set_default,
        http: &args.http,
        writes_token: false,
        spent: None,
        lock: None,
    };
    login.commit(org, &token).await
}

fn absolute(path: &Path) -> sfauth::Result<PathBuf> {
    std::path::absolute(path).map_err(|e| {
        Error::new(
            ErrorKind::Usage,
            format!("cannot resolve {}: {e}", path.display()),
        )
    })
}

fn split_scopes(scopes: &str) -> Vec<String> {
    scopes
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// One line from stdin, trimmed, as a secret (it may be a password or a URL with a code).
fn read_line(what: &str) -> sfauth::Result<Secret<String>> {
    let mut buffer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut buffer)
        .map_err(|e| {
            Error::new(
                ErrorKind::Usage,
                format!("cannot read the {what} from stdin: {e}"),
            )
        })?;
    let trimmed = buffer.trim();
    if trimmed.is_empty() {
        return Err(Error::new(ErrorKind::Usage, format!("no {what} on stdin"))
            .with_hint(format!("pipe the {what} in, or type it and press Enter")));
    }
    let line = Secret::from(trimmed);
    zeroize::Zeroize::zeroize(&mut buffer);
    Ok(line)
}
