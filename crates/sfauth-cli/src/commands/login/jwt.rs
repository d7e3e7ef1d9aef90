//! `sfauth login jwt`: JWT bearer, an assertion signed with the connected app's private key.
//! No refresh token comes back: the org is renewed by signing again, with the key file its
//! config names.

use super::commit::{self, NewOrg};
use crate::cli::JwtArgs;
use crate::config::Flow;
use crate::org::{ResolvedOrg, absolute};

/// Runs `sfauth login jwt`.
pub async fn run(args: &JwtArgs) -> anyhow::Result<()> {
    let org = ResolvedOrg::for_login(&args.login.org)?.with_login_app(&args.login)?;
    let key_file = absolute(&args.key_file)?;
    let bearer = org.jwt_bearer(&args.username, &key_file, args.audience.as_deref())?;
    let client = org.app_client()?;
    let mut entry = org.entry(Flow::Jwt)?;
    entry.username = Some(args.username.clone());
    entry.key_file = Some(key_file);
    entry.audience = args.audience.clone();
    let request = async || client.jwt_bearer(&bearer).await;
    commit::log_in(&org, NewOrg::new(entry, &args.login.org), request).await
}
