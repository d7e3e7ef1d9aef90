//! `sfauth default` and `sfauth alias rename|unset`: naming orgs, as `sf config set
//! target-org` and `sf alias set|unset` do. Only the config changes; no token moves.

use sfauth::{Error, ErrorKind, StoreUrl};

use crate::cli::{AliasAction, AliasCommandArgs, DefaultArgs};
use crate::config::{Alias, Config, Home};
use crate::out::{errln, outln};

/// Runs `sfauth default [ALIAS] [--unset]`.
pub async fn default(args: &DefaultArgs) -> anyhow::Result<()> {
    let home = Home::locate()?;
    let default = match (&args.alias, args.unset) {
        (Some(alias), _) => {
            let alias = Alias::parse(alias)?;
            Config::update(&home, |config| {
                config.org(&alias)?;
                config.default_org = Some(alias.clone());
                Ok(())
            })
            .await?;
            errln!("the default org is now `{alias}`");
            Some(alias)
        }
        (None, true) => {
            Config::update(&home, |config| {
                config.default_org = None;
                Ok(())
            })
            .await?;
            errln!("no default org now; commands need --org");
            None
        }
        (None, false) => Config::load(&home)?.default_org,
    };
    if args.json {
        outln!(
            "{}",
            serde_json::json!({"default_org": default.as_ref().map(Alias::as_str)})
        )?;
    } else if args.alias.is_none() && !args.unset {
        match &default {
            Some(alias) => outln!("{alias}")?,
            None => errln!("no default org; set one with: sfauth default ALIAS"),
        }
    }
    Ok(())
}

/// Runs `sfauth alias rename|unset`.
pub async fn run(args: &AliasCommandArgs) -> anyhow::Result<()> {
    let home = Home::locate()?;
    match &args.action {
        AliasAction::Rename { old, new } => {
            let (old, new) = (Alias::parse(old)?, Alias::parse(new)?);
            // sfauth's own token file is named for the alias: it moves with it, so that a
            // later login under the old name gets a place of its own.
            let moved = move_token_file(&home, &old, &new).await?;
            let renamed = Config::update(&home, |config| {
                if config.orgs.contains_key(&new) {
                    return Err(Error::new(
                        ErrorKind::Usage,
                        format!("an org named `{new}` exists already"),
                    )
                    .with_hint(format!(
                        "pick another name, or forget that one first (sfauth alias unset {new})"
                    )));
                }
                let mut org = config.org(&old)?.clone();
                // A store that holds many tokens found this one by the old alias: it keeps
                // that key.
                let keyed = org
                    .store
                    .as_deref()
                    .and_then(|url| StoreUrl::parse(url).ok())
                    .is_some_and(|url| url.is_shared());
                if keyed && org.store_key.is_none() {
                    org.store_key = Some(old.as_str().to_owned());
                }
                if let Some((_, to)) = &moved {
                    org.token_file = to.clone();
                }
                config.orgs.remove(&old);
                config.orgs.insert(new.clone(), org);
                if config.default_org.as_ref() == Some(&old) {
                    config.default_org = Some(new.clone());
                }
                Ok(())
            })
            .await;
            if let (Err(_), Some((from, to))) = (&renamed, &moved) {
                // The config still names the old file: put it back.
                let _ = std::fs::rename(to, from);
            }
            renamed?;
            errln!("renamed `{old}` to `{new}`; its token stays where it was");
            said(
                args.json,
                serde_json::json!({"action": "renamed", "from": old.as_str(), "to": new.as_str()}),
            )?;
        }
        AliasAction::Unset { alias } => {
            let alias = Alias::parse(alias)?;
            let org = Config::update(&home, |config| {
                let org = config.org(&alias)?.clone();
                config.orgs.remove(&alias);
                if config.default_org.as_ref() == Some(&alias) {
                    config.default_org = None;
                }
                Ok(org)
            })
            .await?;
            let place = match &org.store {
                Some(store) => store.clone(),
                None => org.token_file.display().to_string(),
            };
            errln!(
                "forgot `{alias}`; its token was left in {place}, unrevoked (sfauth logout \
                 revokes and deletes; a new login as `{alias}` would replace it, and revoke it)"
            );
            said(
                args.json,
                serde_json::json!({"action": "unset", "alias": alias.as_str(), "token_left_in": place}),
            )?;
        }
    }
    Ok(())
}

/// What an alias command did, as JSON on stdout when asked.
fn said(json: bool, mut summary: serde_json::Value) -> anyhow::Result<()> {
    if json {
        summary["schema_version"] = crate::output::SCHEMA_VERSION.into();
        outln!("{summary}")?;
    }
    Ok(())
}

/// Moves `old`'s token file, when it is sfauth's own `tokens/OLD.json`, to `tokens/NEW.json`,
/// under its lock; gives (from, to) when it moved.
async fn move_token_file(
    home: &Home,
    old: &Alias,
    new: &Alias,
) -> sfauth::Result<Option<(std::path::PathBuf, std::path::PathBuf)>> {
    let config = Config::load(home)?;
    let org = config.org(old)?;
    let from = home.token_file(old);
    if org.store.is_some() || org.token_file != from || !from.exists() {
        return Ok(None);
    }
    let to = home.token_file(new);
    if to.exists() {
        return Err(
            Error::new(ErrorKind::Usage, format!("{} exists already", to.display()))
                .with_hint(format!("move it away, or pick another name than `{new}`")),
        );
    }
    let _lock = sfauth::files::lock_file(
        &sfauth::files::lock_path_for(&from),
        std::time::Duration::from_secs(30),
    )
    .await?;
    std::fs::rename(&from, &to).map_err(|e| {
        Error::new(
            ErrorKind::Storage,
            format!("cannot move {} to {}: {e}", from.display(), to.display()),
        )
    })?;
    Ok(Some((from, to)))
}
