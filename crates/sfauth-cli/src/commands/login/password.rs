//! `sfauth login password`: username, password and security token (from SFAUTH_PASSWORD or
//! stdin). Salesforce blocks the flow by default in new orgs, so the login warns.

use super::commit::{self, NewOrg};
use crate::cli::PasswordArgs;
use crate::config::Flow;
use crate::org::ResolvedOrg;
use crate::out::errln;
use crate::secrets;

/// Runs `sfauth login password`.
pub async fn run(args: &PasswordArgs) -> anyhow::Result<()> {
    let org = ResolvedOrg::for_login(&args.login.org)?.with_login_app(&args.login)?;
    let client = org.app_client()?;
    errln!(
        "warning: Salesforce blocks the username-password flow by default in orgs created since Summer '23; prefer web, jwt or device"
    );
    let secret = secrets::password()?;
    let mut entry = org.entry(Flow::Password)?;
    entry.username = Some(args.username.clone());
    let request = async || client.password(&args.username, &secret).await;
    commit::log_in(&org, NewOrg::new(entry, &args.login.org), request).await
}
