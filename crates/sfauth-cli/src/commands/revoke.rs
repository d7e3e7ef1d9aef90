//! `sfauth revoke`, `sfauth logout` and `sfauth export`: ending and moving a login.

use sfauth::flows::revoke;
use sfauth::http::HttpClient;
use sfauth::{
    Endpoint, Error, ErrorKind, FileStore, HttpConfig, LoginUrl, SfdxAuthUrl, SitePrefix, Token,
    TokenStore,
};

use crate::cli::{ExportArgs, ExportFormat, LogoutArgs, RevokeArgs};
use crate::config::{Alias, Config, Home, Org};
use crate::target::{load_org, org_secret};

fn endpoint(org: &Org) -> sfauth::Result<Endpoint> {
    Ok(Endpoint::new(
        LoginUrl::parse(&org.login_url)?,
        SitePrefix::parse(&org.site)?,
    ))
}

/// Revokes the refresh token (which also kills its access tokens), or the access token when
/// there is no refresh token or `access_token_only`.
async fn revoke_token(
    org: &Org,
    token: &Token,
    access_token_only: bool,
) -> sfauth::Result<&'static str> {
    let endpoint = endpoint(org)?;
    let http = HttpClient::new(&HttpConfig::default(), endpoint.login_url())?;
    match token.refresh_token().filter(|_| !access_token_only) {
        Some(refresh) => {
            revoke::revoke(&http, &endpoint, &refresh).await?;
            Ok("refresh token (and its access tokens)")
        }
        None => {
            revoke::revoke(&http, &endpoint, &token.access_token()).await?;
            Ok("access token")
        }
    }
}

/// Runs `sfauth revoke`.
pub async fn revoke(args: &RevokeArgs) -> anyhow::Result<()> {
    let (alias, org) = load_org(args.org.as_ref())?;
    let token = FileStore::new(&org.token_file).load().await?;
    let what = revoke_token(&org, &token, args.access_token_only).await?;
    eprintln!("revoked the {what} of org `{alias}` at Salesforce; log in again to use it");
    Ok(())
}

/// Runs `sfauth logout`: revoke, then forget. If Salesforce cannot be reached, nothing is
/// forgotten (a token that still works should not be lost track of) unless `--local-only`.
pub async fn logout(args: &LogoutArgs) -> anyhow::Result<()> {
    let (alias, org) = load_org(args.org.as_ref())?;
    let home = Home::locate()?;
    if !args.local_only {
        match FileStore::new(&org.token_file).load().await {
            Ok(token) => match revoke_token(&org, &token, false).await {
                Ok(what) => eprintln!("revoked the {what} at Salesforce"),
                // Already dead at Salesforce: nothing left to revoke.
                Err(e) if e.kind() == ErrorKind::LoginRequired => {
                    eprintln!("the token was already invalid at Salesforce ({e})");
                }
                Err(e) => {
                    let hint = format!(
                        "{}; nothing was deleted. Run again when Salesforce can be reached, or \
                         pass --local-only to forget the org without revoking",
                        e.hint().unwrap_or("the revoke failed")
                    );
                    return Err(Error::new(
                        e.kind(),
                        format!("cannot revoke the token of `{alias}`: {e}"),
                    )
                    .with_hint(hint)
                    .into());
                }
            },
            Err(e) => eprintln!("warning: no usable token to revoke ({e})"),
        }
    }
    forget(&home, &alias, &org).await?;
    Ok(())
}

async fn forget(home: &Home, alias: &Alias, org: &Org) -> sfauth::Result<()> {
    Config::update(home, |config| {
        config.orgs.remove(alias);
        if config.default_org.as_ref() == Some(alias) {
            config.default_org = None;
        }
        Ok(())
    })
    .await?;
    if home.owns(&org.token_file) {
        match std::fs::remove_file(&org.token_file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!("cannot delete {}: {e}", org.token_file.display()),
                ));
            }
        }
        eprintln!("logged out of `{alias}`: org forgotten, token file deleted");
    } else {
        eprintln!(
            "logged out of `{alias}`: org forgotten; the adopted file {} is yours and was left in place",
            org.token_file.display()
        );
    }
    Ok(())
}

/// Runs `sfauth export`: prints a secret, on this explicit request only.
pub async fn export(args: &ExportArgs) -> anyhow::Result<()> {
    let (alias, org) = load_org(args.org.as_ref())?;
    let token = FileStore::new(&org.token_file).load().await?;
    match args.format {
        ExportFormat::SfdxUrl => {
            let refresh_token = token.refresh_token().ok_or_else(|| {
                Error::new(ErrorKind::Usage, format!("org `{alias}` has no refresh token to export"))
                    .with_hint("an SFDX auth URL needs a refresh token: log in with the web, device or sfdx-url flow")
            })?;
            let url = SfdxAuthUrl {
                client_id: org.client_id.clone(),
                client_secret: org_secret(&org, Some(&token))?,
                refresh_token,
                instance_url: LoginUrl::parse(token.instance_url())?,
            };
            println!("{}", url.to_url().expose());
        }
    }
    Ok(())
}
