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
    Endpoint, Error, ErrorKind, FileStore, HttpConfig, LoginUrl, OAuthClient, Secret, SfdxAuthUrl,
    SitePrefix, Token, TokenStore, endpoint,
};

use crate::cli::{AliasArgs, LoginArgs, LoginFlow, OrgArgs};
use crate::config::{Alias, Config, Flow, Home, Org, SecretSource, TOKEN_FILE_SECRET_KEY};
use crate::target::{PASSWORD_ENV, env_secret, jwt_bearer, require_client_id, stored_secret};

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
                eprintln!(
                    "Open this URL in a browser, log in, then paste the URL you were sent to:\n\n{}\n",
                    pending.authorize_url()
                );
                let redirected = read_line("redirected URL")?;
                pending.code_from_redirect(redirected.expose())?
            } else {
                let listener = RedirectListener::bind(pending.redirect_uri()).await?;
                eprintln!(
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
            eprintln!(
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
            eprintln!(
                "To log in, open {} in any browser and enter the code {}\nWaiting for the approval...",
                started.verification_uri, started.user_code
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
        let http = HttpClient::new(&HttpConfig::default(), &login)?;
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
        write_private_file(&token_file, token.to_json_pretty().as_bytes())?;
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
        save_org(&home, self.alias, org, set_default, &token).await?;
        Ok(())
    }
}

/// The token's username from UserInfo, when the login did not name one. Best effort: an
/// org whose UserInfo cannot be read is stored without it.
async fn username_of(token: &Token) -> Option<String> {
    let instance = LoginUrl::parse(token.instance_url()).ok()?;
    let http = HttpClient::new(&HttpConfig::default(), &instance).ok()?;
    match userinfo::userinfo(&http, instance.as_str(), &token.access_token()).await {
        Ok(info) => info.preferred_username,
        Err(e) => {
            tracing::debug!(error = %e, "no username from UserInfo");
            None
        }
    }
}

/// Saves the org entry (replacing any with that alias) and says what was stored.
async fn save_org(
    home: &Home,
    alias: Alias,
    mut org: Org,
    set_default: bool,
    token: &Token,
) -> sfauth::Result<()> {
    if org.username.is_none() {
        org.username = username_of(token).await;
    }
    let replaced = Config::update(home, |config| {
        let replaced = config.orgs.insert(alias.clone(), org).is_some();
        if set_default || config.default_org.is_none() {
            config.default_org = Some(alias.clone());
        }
        Ok(replaced)
    })
    .await?;
    let verb = if replaced { "replaced" } else { "stored" };
    let who = match token.user_id() {
        Some(user) => format!(" (user {user} at {})", token.instance_url()),
        None => String::new(),
    };
    eprintln!("{verb} org `{alias}`{who}; use it with --org {alias}");
    Ok(())
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
    let http = HttpClient::new(&HttpConfig::default(), endpoint.login_url())?;
    let refreshed = refresh::refresh(&http, &endpoint, &client, &url.refresh_token).await?;
    let mut token = refreshed.response;
    if token.refresh_token().is_none() {
        token.set("refresh_token", url.refresh_token.expose());
    }
    if let Some(secret) = &url.client_secret {
        token.set(TOKEN_FILE_SECRET_KEY, secret.expose());
    }
    let home = Home::locate()?;
    let token_file = home.token_file(&alias);
    write_private_file(&token_file, token.to_json_pretty().as_bytes())?;
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
    save_org(&home, alias, org, args.set_default, &token).await?;
    Ok(())
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
    write_private_file(&token_file, token.to_json_pretty().as_bytes())?;
    let org = Org::new(
        Flow::AccessToken,
        instance.to_string(),
        String::new(),
        token_file,
    );
    save_org(&home, alias, org, args.set_default, &token).await?;
    eprintln!(
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
    let login_url = match &args.login_url {
        Some(url) => LoginUrl::parse(url)?,
        None => Endpoint::for_token(&token, site.clone())?
            .login_url()
            .clone(),
    };
    if token.refresh_token().is_none() {
        eprintln!(
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
    save_org(&Home::locate()?, alias, org, args.set_default, &token).await?;
    Ok(())
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
