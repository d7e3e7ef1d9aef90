//! `sfauth login client-credentials`: the app logs in as its run-as user, with its secret,
//! at a My Domain. Renewed by asking again.

use super::commit::{self, NewOrg};
use crate::cli::AppLoginArgs;
use crate::config::Flow;
use crate::org::ResolvedOrg;

/// Runs `sfauth login client-credentials`.
pub async fn run(args: &AppLoginArgs) -> anyhow::Result<()> {
    let org = ResolvedOrg::for_login(&args.org)?.with_login_app(args)?;
    let client = org.app_client()?;
    let entry = org.entry(Flow::ClientCredentials)?;
    let request = async || client.client_credentials().await;
    commit::log_in(&org, NewOrg::new(entry, &args.org), request).await
}
