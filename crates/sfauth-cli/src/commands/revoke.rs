//! `sfauth revoke`, `sfauth logout` and `sfauth export`: ending and moving a login.

use sfauth::flows::revoke;
use sfauth::http::HttpClient;
use sfauth::{
    Endpoint, Error, ErrorKind, FileStore, LoginUrl, SfdxAuthUrl, SitePrefix, Token, TokenStore,
};

use crate::cli::{ExportArgs, ExportFormat, HttpArgs, LogoutArgs, RevokeArgs, TargetArgs};
use crate::config::{Alias, Config, Home, Org};
use crate::out::{errln, outln};
use crate::target::{self, http_config, load_org, org_secret};

/// The token-file key saying whether this org's refreshes rotate the refresh token: `true`,
/// `false`, or absent (not known yet).
pub const ROTATION_KEY: &str = "sfauth_rotation";

fn endpoint(org: &Org) -> sfauth::Result<Endpoint> {
    Ok(Endpoint::new(
        LoginUrl::parse(&org.login_url)?,
        SitePrefix::parse(&org.site)?,
    ))
}

/// Revokes `refresh_token` at `endpoint`: for a login that replaced a token, which would
/// otherwise stay live and hold one of the few approvals Salesforce allows per user and app.
pub async fn revoke_refresh_token(
    endpoint: &Endpoint,
    refresh_token: &sfauth::Secret<String>,
    http: &HttpArgs,
) -> sfauth::Result<()> {
    let client = HttpClient::new(&http_config(http), endpoint.login_url())?;
    revoke::revoke(&client, endpoint, refresh_token).await
}

/// The endpoint an org's tokens are revoked at.
pub fn org_endpoint(org: &Org) -> sfauth::Result<Endpoint> {
    endpoint(org)
}

/// Revokes the refresh token (which also kills its access tokens), or the access token when
/// there is no refresh token or `access_token_only`.
async fn revoke_token(
    org: &Org,
    token: &Token,
    access_token_only: bool,
    http: &HttpArgs,
) -> sfauth::Result<&'static str> {
    let endpoint = endpoint(org)?;
    let http = HttpClient::new(&http_config(http), endpoint.login_url())?;
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
    let what = revoke_token(&org, &token, args.access_token_only, &args.http).await?;
    // With its refresh token gone, the access token in the file is dead too (or will be):
    // mark the org so it is not served. Revoking only the access token leaves the refresh
    // token, and the org, usable.
    let dead = !args.access_token_only || token.refresh_token().is_none();
    if dead {
        Config::update(&Home::locate()?, |config| {
            if let Some(entry) = config.orgs.get_mut(&alias)
                && entry.token_file == org.token_file
            {
                entry.revoked = true;
            }
            Ok(())
        })
        .await?;
    }
    if dead {
        errln!("revoked the {what} of org `{alias}` at Salesforce; log in again to use it");
        return Ok(());
    }
    // The stored access token is dead now, but not stale by its age: renew it (under the
    // store's lock, as any refresh) so that `sfauth token` does not hand out the revoked one.
    let target = target::resolve(&TargetArgs {
        org: Some(alias.to_string()),
        token_file: None,
        client_id: None,
        client_secret_file: None,
        login_url: None,
        site: None,
        http: args.http.clone(),
        max_age: None,
    })?;
    if let Err(e) = target.session.invalidate(&token.access_token()).await {
        let hint = format!(
            "{}; the stored access token no longer works: run `sfauth refresh --org {alias}`",
            e.hint().unwrap_or("the renewal failed")
        );
        return Err(Error::new(
            e.kind(),
            format!("revoked the access token of org `{alias}`, but could not renew it: {e}"),
        )
        .with_hint(hint)
        .into());
    }
    errln!("revoked the access token of org `{alias}` at Salesforce and renewed it");
    Ok(())
}

/// Runs `sfauth logout`: revoke, then forget. If Salesforce cannot be reached, nothing is
/// forgotten (a token that still works should not be lost track of) unless `--local-only`.
pub async fn logout(args: &LogoutArgs) -> anyhow::Result<()> {
    let (alias, org) = load_org(args.org.as_ref())?;
    let home = Home::locate()?;
    if !args.local_only {
        match FileStore::new(&org.token_file).load().await {
            Ok(token) => match revoke_token(&org, &token, false, &args.http).await {
                Ok(what) => errln!("revoked the {what} at Salesforce"),
                // Already dead at Salesforce: nothing left to revoke.
                Err(e) if e.kind() == ErrorKind::LoginRequired => {
                    errln!("the token was already invalid at Salesforce ({e})");
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
            Err(e) => errln!("warning: no usable token to revoke ({e})"),
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
        errln!("logged out of `{alias}`: org forgotten, token file deleted");
    } else {
        errln!(
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
            if token.get(ROTATION_KEY).and_then(serde_json::Value::as_bool) != Some(false) {
                errln!(
                    "warning: this org's refresh token may rotate, and then the URL is single-use: the first refresh spends its refresh token. Two CI runs that import it (or this machine and one CI run) spend the same token, and the second revokes the whole token family. For CI, prefer JWT bearer (sfauth login jwt): there is no refresh token to spend"
                );
            }
            outln!("{}", url.to_url().expose())?;
        }
    }
    Ok(())
}
