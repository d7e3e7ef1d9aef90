//! `sfauth login access-token --instance-url URL`: adopt an access token (from
//! SF_ACCESS_TOKEN or stdin). Nothing is asked of Salesforce, and the token cannot be
//! renewed; it is stored as any login's is.

use sfauth::{Error, ErrorKind, LoginUrl, Token};

use super::commit::{self, NewOrg};
use crate::cli::AccessTokenArgs;
use crate::config::Flow;
use crate::org::ResolvedOrg;
use crate::out::errln;
use crate::output::now_millis;
use crate::secrets;

/// Runs `sfauth login access-token`.
pub async fn run(args: &AccessTokenArgs) -> anyhow::Result<()> {
    let instance = LoginUrl::parse(&args.instance_url)?;
    let org = ResolvedOrg::for_login(&args.org)?.with_instance(instance.clone());
    let access = secrets::access_token()?;
    // Salesforce never says when a token was issued; the adoption time is the best guess.
    let token = Token::from_value(serde_json::json!({
        "access_token": access.expose(),
        "instance_url": instance.as_str(),
        "token_type": "Bearer",
        "issued_at": now_millis().to_string(),
    }))
    .map_err(|e| {
        Error::new(
            ErrorKind::Usage,
            format!("the access token is unusable: {e}"),
        )
    })?;
    let entry = org.entry(Flow::AccessToken)?;
    commit::log_in(&org, NewOrg::new(entry, &args.org), async || Ok(token)).await?;
    errln!(
        "note: an adopted access token cannot be renewed; log in with another flow when it expires"
    );
    Ok(())
}
