//! `sfauth login <flow>`: obtain a token by one of Salesforce's login flows, or adopt one,
//! and store the org under an alias. One module per flow; every one of them reaches disk
//! through `commit.rs`, so an alias that exists is replaced only once the new token is in
//! hand, and a failed login leaves the stored org as it was.

mod access_token;
mod client_credentials;
mod commit;
mod device;
mod jwt;
mod password;
mod sf;
mod sfdx_url;
mod token_file;
mod web;

use crate::cli::{LoginArgs, LoginFlow};

/// Runs `sfauth login`.
pub async fn run(args: &LoginArgs) -> anyhow::Result<()> {
    match &args.flow {
        LoginFlow::Web(args) => web::run(args).await,
        LoginFlow::Jwt(args) => jwt::run(args).await,
        LoginFlow::ClientCredentials(args) => client_credentials::run(args).await,
        LoginFlow::Password(args) => password::run(args).await,
        LoginFlow::Device(args) => device::run(args).await,
        LoginFlow::SfdxUrl(args) => sfdx_url::run(args).await,
        LoginFlow::AccessToken(args) => access_token::run(args).await,
        LoginFlow::TokenFile(args) => token_file::run(args).await,
        LoginFlow::Sf(args) => sf::run(args).await,
    }
}

/// Scopes given space- or comma-separated, one by one.
fn split_scopes(scopes: &str) -> Vec<String> {
    scopes
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
