//! `sfauth login sf --alias A [--from USERNAME|ALIAS]`: registers one of the Salesforce CLI's
//! orgs under an sfauth alias. Nothing is asked of Salesforce and nothing is copied: the
//! CLI's auth file stays the store (`sf:USERNAME`), so `sf` and sfauth share one token.

use sfauth::{Error, ErrorKind, SfCliHome, SfCliRenewal, TokenStore};

use super::commit::{self, NewOrg};
use crate::cli::SfLoginArgs;
use crate::config::Flow;
use crate::org::ResolvedOrg;
use crate::out::errln;

/// Runs `sfauth login sf`.
pub async fn run(args: &SfLoginArgs) -> anyhow::Result<()> {
    let home = SfCliHome::of_user()?.with_project_from(&std::env::current_dir()?);
    let name = match &args.from {
        Some(name) => name.clone(),
        None => home.default_org()?.ok_or_else(|| {
            Error::new(
                ErrorKind::Usage,
                "the Salesforce CLI has no default target org, and --from names none",
            )
            .with_hint("pass --from with the CLI's alias or username (see sfauth orgs --sf)")
        })?,
    };
    let listed = home.org(&name)?;
    let username = listed.username;
    match listed.renewal {
        SfCliRenewal::Jwt => {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "the Salesforce CLI renews {username} with a JWT, not a refresh token, so \
                     its auth file holds no token to share"
                ),
            )
            .with_hint(format!(
                "log in with sfauth's own JWT flow: sfauth login jwt --alias {} --username \
                 {username} --client-id ID --key-file KEY",
                args.org.alias
            ))
            .into());
        }
        SfCliRenewal::None => errln!(
            "warning: the Salesforce CLI holds an access token alone for {username}; sfauth can \
             serve it but not renew it"
        ),
        SfCliRenewal::RefreshToken => {}
    }
    let org = ResolvedOrg::for_sf_cli_login(&args.org, &username)?;
    let token = org.store().load().await?;
    let mut entry = org.entry(Flow::Sf)?;
    entry.username = Some(username);
    let new = NewOrg {
        in_place: true,
        ..NewOrg::new(entry, &args.org)
    };
    commit::log_in(&org, new, async || Ok(token)).await
}
