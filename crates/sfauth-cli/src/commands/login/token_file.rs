//! `sfauth login token-file PATH`: adopt a seed-format token file in place, so the scripts
//! that read it keep working. Nothing is asked of Salesforce and the file is not written:
//! only the org's config entry is. With `--store`, the file's token is copied into the
//! shared store instead (under its lock), and the org is served from there.

use sfauth::TokenStore;

use super::commit::{self, NewOrg};
use crate::cli::TokenFileArgs;
use crate::config::Flow;
use crate::org::{ResolvedOrg, absolute, warn_if_others_can_replace};
use crate::out::errln;

/// Runs `sfauth login token-file`.
pub async fn run(args: &TokenFileArgs) -> anyhow::Result<()> {
    let org = ResolvedOrg::for_login_in_place(&args.login.org)?.with_login_app(&args.login)?;
    let path = absolute(&args.path)?;
    let token = sfauth::FileStore::new(&path).load().await?;
    warn_if_others_can_replace(&path);
    let org = org.adopting(path, &token)?;
    if token.refresh_token().is_none() {
        errln!(
            "warning: {} has no refresh_token; sfauth can serve it but not renew it",
            org.token_file().display()
        );
    }
    let entry = org.entry(Flow::TokenFile)?;
    let new = NewOrg {
        in_place: org.shared_store().is_none(),
        ..NewOrg::new(entry, &args.login.org)
    };
    commit::log_in(&org, new, async || Ok(token)).await
}
