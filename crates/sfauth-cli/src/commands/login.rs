//! `sfauth login <flow>`: obtain a token and store the org under an alias.
//!
//! An alias that exists is replaced only after the new token is in hand, so a failed login
//! leaves the stored org as it was.

use sfauth::{Endpoint, Error, ErrorKind, FileStore, LoginUrl, SitePrefix, TokenStore};

use crate::cli::{LoginArgs, LoginFlow, OrgArgs};
use crate::config::{Alias, Config, Flow, Home, Org, SecretSource};
use crate::target::{read_secret_file, stored_secret};

/// Runs `sfauth login`.
pub async fn run(args: &LoginArgs) -> anyhow::Result<()> {
    match &args.flow {
        LoginFlow::TokenFile { org, path } => token_file(org, path).await,
    }
}

/// What every flow checks before it starts.
struct Common {
    alias: Alias,
    client_id: String,
    secret: SecretSource,
    site: SitePrefix,
}

fn common(args: &OrgArgs) -> sfauth::Result<Common> {
    let alias = Alias::parse(&args.alias)?;
    let client_id = args
        .client_id
        .clone()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            Error::new(ErrorKind::Usage, "no client id given")
                .with_hint("pass --client-id with the connected app's Consumer Key")
        })?;
    let secret = SecretSource {
        client_secret_file: args.client_secret_file.clone(),
        client_secret_env: args.client_secret_env.clone(),
    };
    // Fail now, not at the first refresh, if the named secret cannot be read.
    if let Some(path) = &secret.client_secret_file {
        read_secret_file(path)?;
    } else {
        stored_secret(&secret)?;
    }
    let site = SitePrefix::parse(args.site.as_deref().unwrap_or_default())?;
    Ok(Common {
        alias,
        client_id,
        secret,
        site,
    })
}

/// Saves the org entry (replacing any with that alias) and says so on stderr.
async fn save(common: Common, org: Org, set_default: bool) -> sfauth::Result<()> {
    let home = Home::locate()?;
    let alias = common.alias.clone();
    let replaced = Config::update(&home, |config| {
        let replaced = config.orgs.insert(alias.clone(), org).is_some();
        if set_default || config.default_org.is_none() {
            config.default_org = Some(alias.clone());
        }
        Ok(replaced)
    })
    .await?;
    let verb = if replaced { "replaced" } else { "stored" };
    eprintln!(
        "{verb} org `{alias}`; use it with --org {alias} (sfauth status --org {alias} shows it)"
    );
    Ok(())
}

/// `sfauth login token-file PATH`: adopt the file in place.
async fn token_file(args: &OrgArgs, path: &std::path::Path) -> anyhow::Result<()> {
    let common = common(args)?;
    let path = std::path::absolute(path).map_err(|e| {
        Error::new(
            ErrorKind::Usage,
            format!("cannot resolve {}: {e}", path.display()),
        )
    })?;
    let token = FileStore::new(&path).load().await?;
    let login_url = match &args.login_url {
        Some(url) => LoginUrl::parse(url)?,
        None => Endpoint::for_token(&token, common.site.clone())?
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
        flow: Flow::TokenFile,
        login_url: login_url.to_string(),
        site: common.site.as_str().to_owned(),
        client_id: common.client_id.clone(),
        secret: common.secret.clone(),
        token_file: path,
        username: None,
        key_file: None,
        audience: None,
    };
    save(common, org, args.set_default).await?;
    Ok(())
}
