//! `sfauth revoke`, `sfauth logout` and `sfauth export`: ending and moving a login.

use sfauth::{Error, ErrorKind, LoginUrl, SfdxAuthUrl, StoreUrl, Token, TokenStore};

use crate::cli::{AppArgs, ExportArgs, ExportFormat, LogoutArgs, RevokeArgs};
use crate::config::{Alias, Config, Home, Org};
use crate::org::ResolvedOrg;
use crate::out::{errln, outln};
use crate::secrets;

/// Revokes the refresh token (which also kills its access tokens), or the access token when
/// there is no refresh token or `access_token_only`.
async fn revoke_token(
    org: &ResolvedOrg,
    token: &Token,
    access_token_only: bool,
) -> sfauth::Result<&'static str> {
    match token.refresh_token().filter(|_| !access_token_only) {
        Some(refresh) => {
            org.revoke(&refresh).await?;
            Ok("refresh token (and its access tokens)")
        }
        None => {
            org.revoke(&token.access_token()).await?;
            Ok("access token")
        }
    }
}

/// Runs `sfauth revoke`.
pub async fn revoke(args: &RevokeArgs) -> anyhow::Result<()> {
    let org = ResolvedOrg::stored(&args.select, Some(&args.http))?;
    let (alias, record) = org.named()?;
    let token = org.store().load().await?;
    let what = revoke_token(&org, &token, args.access_token_only).await?;
    // With its refresh token gone, the access token in the file is dead too (or will be):
    // mark the org so it is not served. Revoking only the access token leaves the refresh
    // token, and the org, usable.
    if !args.access_token_only || token.refresh_token().is_none() {
        Config::update(&Home::locate()?, |config| {
            if let Some(entry) = config.orgs.get_mut(alias)
                && entry.token_file == record.token_file
            {
                entry.revoked = true;
            }
            Ok(())
        })
        .await?;
        errln!("revoked the {what} of org `{alias}` at Salesforce; log in again to use it");
        return summary(args.json, alias, "revoked", what);
    }
    // The stored access token is dead now, but not stale by its age: renew it (under the
    // store's lock, as any refresh) so that `sfauth token` does not hand out the revoked one.
    let alias = alias.clone();
    let renewing = org.with_app(&AppArgs::default(), None)?;
    if let Err(e) = renewing.session().invalidate(&token.access_token()).await {
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
    summary(args.json, &alias, "revoked_and_renewed", "access token")
}

/// What `revoke` or `logout` did, as JSON on stdout when asked.
fn summary(json: bool, alias: &Alias, action: &str, what: &str) -> anyhow::Result<()> {
    if json {
        outln!(
            "{}",
            serde_json::json!({
                "schema_version": crate::output::SCHEMA_VERSION,
                "action": action,
                "alias": alias.as_str(),
                "revoked": what,
            })
        )?;
    }
    Ok(())
}

/// Runs `sfauth logout`: revoke, then forget. If Salesforce cannot be reached, nothing is
/// forgotten (a token that still works should not be lost track of) unless `--local-only`.
pub async fn logout(args: &LogoutArgs) -> anyhow::Result<()> {
    let org = ResolvedOrg::stored(&args.select, Some(&args.http))?;
    let (alias, record) = org.named()?;
    confirm_logout(&org, alias, record, args)?;
    let store = record
        .store
        .as_deref()
        .and_then(|url| StoreUrl::parse(url).ok());
    if let Some(StoreUrl::SfCli(name)) = &store {
        // The Salesforce CLI's login, shared: revoking it would log `sf` out too.
        forget(&Home::locate()?, alias, record).await?;
        errln!(
            "the Salesforce CLI still holds sf:{name}, unrevoked; `sf org logout` removes it \
             there (or `sfauth revoke` first, to revoke it for both)"
        );
        return summary(args.json, alias, "logged_out", "nothing");
    }
    let mut revoked = "nothing";
    if !args.local_only {
        match org.store().load().await {
            Ok(token) => match revoke_token(&org, &token, false).await {
                Ok(what) => {
                    errln!("revoked the {what} at Salesforce");
                    revoked = what;
                }
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
    if let Some(StoreUrl::Keychain(_)) = &store {
        // The keychain entry is this machine's own, as sfauth's token file is.
        let keychain = org.store();
        let lock = keychain.lock().await?;
        keychain.delete(&lock).await?;
        drop(lock);
    }
    forget(&Home::locate()?, alias, record).await?;
    summary(args.json, alias, "logged_out", revoked)
}

/// Asks on a terminal before a logout (as `sf org logout` does), naming the org; without a
/// terminal, refuses to log out of the default org that nothing named. `--yes` skips both.
fn confirm_logout(
    org: &ResolvedOrg,
    alias: &Alias,
    record: &Org,
    args: &LogoutArgs,
) -> sfauth::Result<()> {
    use std::io::{BufRead, IsTerminal, Read, Write};
    if args.yes {
        return Ok(());
    }
    let who = match &record.username {
        Some(user) => format!("`{alias}` ({user} at {})", record.login_url),
        None => format!("`{alias}` (at {})", record.login_url),
    };
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        let revokes = if args.local_only {
            ""
        } else {
            "revoke its token at Salesforce and "
        };
        eprint!("Log out of {who}? This will {revokes}forget the org. [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().take(1024).read_line(&mut answer);
        return match answer.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => Ok(()),
            _ => Err(
                Error::new(ErrorKind::Usage, "logout cancelled; nothing changed")
                    .with_hint("answer y to log out, or pass --yes"),
            ),
        };
    }
    if org.named_explicitly() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Usage,
        format!(
            "logout would act on the default org {who}, which nothing named, and there is no \
             terminal to ask; nothing changed"
        ),
    )
    .with_hint(format!(
        "name it: sfauth logout --org {alias} (or pass --yes)"
    )))
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
    match org.store.as_deref().map(StoreUrl::parse) {
        Some(Ok(StoreUrl::Keychain(_))) => {
            errln!("logged out of `{alias}`: org forgotten, its token deleted from the keychain");
            return Ok(());
        }
        // The Salesforce CLI's org: the caller says what is left there.
        Some(Ok(StoreUrl::SfCli(_))) => {
            errln!("logged out of `{alias}`: org forgotten");
            return Ok(());
        }
        _ => {}
    }
    if let Some(store) = &org.store {
        // Other machines may share it: the store's token is theirs to delete.
        errln!(
            "logged out of `{alias}`: org forgotten; its token in the shared store {store} was \
             left there (sfauth store delete removes it)"
        );
        return Ok(());
    }
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
    let org = ResolvedOrg::stored(&args.select, None)?;
    let (alias, record) = org.named()?;
    let token = org.store().load().await?;
    match args.format {
        ExportFormat::SfdxUrl => {
            let refresh_token = token.refresh_token().ok_or_else(|| {
                Error::new(ErrorKind::Usage, format!("org `{alias}` has no refresh token to export"))
                    .with_hint("an SFDX auth URL needs a refresh token: log in with the web, device or sfdx-url flow")
            })?;
            let url = SfdxAuthUrl {
                client_id: record.client_id.clone(),
                client_secret: secrets::of_org(record, Some(&token))?,
                refresh_token,
                instance_url: LoginUrl::parse(token.instance_url())?,
            };
            if !token.known_not_to_rotate() {
                errln!(
                    "warning: this org's refresh token may rotate, and then the URL is single-use: the first refresh spends its refresh token. Two CI runs that import it (or this machine and one CI run) spend the same token, and the second revokes the whole token family. For CI, prefer JWT bearer (sfauth login jwt): there is no refresh token to spend"
                );
            }
            outln!("{}", url.to_url().expose())?;
        }
    }
    Ok(())
}
