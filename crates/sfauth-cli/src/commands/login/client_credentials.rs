//! `sfauth login client-credentials`: the app logs in as its run-as user, with its secret,
//! at a My Domain. Renewed by asking again.

use sfauth::flows::client_credentials;

use super::commit::{self, NewOrg};
use crate::cli::AppLoginArgs;
use crate::config::Flow;
use crate::org::ResolvedOrg;

/// Runs `sfauth login client-credentials`.
pub async fn run(args: &AppLoginArgs) -> anyhow::Result<()> {
    let org = ResolvedOrg::for_login(&args.org)?.with_login_app(args)?;
    let grant = org.grant()?;
    client_credentials::requires_my_domain(grant.endpoint.login_url())?;
    let entry = org.entry(Flow::ClientCredentials)?;
    let request =
        async || client_credentials::request(&grant.http, &grant.endpoint, &grant.client).await;
    commit::log_in(&org, NewOrg::new(entry, args.org.set_default), request).await
}
