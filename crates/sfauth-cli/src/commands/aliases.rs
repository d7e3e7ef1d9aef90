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
            Config::update(&home, |config| {
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
                config.orgs.remove(&old);
                config.orgs.insert(new.clone(), org);
                if config.default_org.as_ref() == Some(&old) {
                    config.default_org = Some(new.clone());
                }
                Ok(())
            })
            .await?;
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
                 revokes and deletes)"
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
