//! `sfauth login device`: the device flow. sfauth shows a short code to approve in any
//! browser, then polls for the token; the polling is the token request, so it runs under
//! the token file's lock.

use super::commit::{self, NewOrg};
use super::split_scopes;
use crate::cli::DeviceArgs;
use crate::config::Flow;
use crate::org::ResolvedOrg;
use crate::out::errln;

/// Runs `sfauth login device`.
pub async fn run(args: &DeviceArgs) -> anyhow::Result<()> {
    let org = ResolvedOrg::for_login(&args.login.org)?.with_login_app(&args.login)?;
    let client = org.app_client()?;
    let started = client.device_start(&split_scopes(&args.scopes)).await?;
    errln!(
        "To log in, open {} in any browser and enter the code {}\nWaiting for the approval...",
        started.verification_uri,
        started.user_code
    );
    let entry = org.entry(Flow::Device)?;
    let poll = async || client.device_poll(&started, args.wait).await;
    commit::log_in(&org, NewOrg::new(entry, args.login.org.set_default), poll).await
}
