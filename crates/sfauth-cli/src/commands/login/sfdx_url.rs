//! `sfauth login sfdx-url FILE|-` (or `--sfdx-url-file FILE`, or SFDX_AUTH_URL): import an
//! SFDX auth URL (`force://<clientId>:<clientSecret>:<refreshToken>@<instance>`), refreshing
//! once to prove it works. That refresh may spend the URL's refresh token (under rotation), so signals
//! wait from the request until the org is stored.

use sfauth::{Error, ErrorKind, SfdxAuthUrl, Token};

use super::commit::{self, NewOrg};
use crate::cli::SfdxUrlArgs;
use crate::config::{Flow, TOKEN_FILE_SECRET_KEY};
use crate::org::ResolvedOrg;
use crate::secrets;

/// The Salesforce CLI's variable for an SFDX auth URL (as CI systems set it).
const SFDX_AUTH_URL_ENV: &str = "SFDX_AUTH_URL";

/// Runs `sfauth login sfdx-url`.
pub async fn run(args: &SfdxUrlArgs) -> anyhow::Result<()> {
    let org = ResolvedOrg::for_login(&args.org)?;
    let text = match args.file.as_ref().or(args.sfdx_url_file.as_ref()) {
        Some(file) => secrets::text(file, "SFDX auth URL")?,
        None => secrets::env(SFDX_AUTH_URL_ENV)?.ok_or_else(|| {
            Error::new(ErrorKind::Usage, "no SFDX auth URL given").with_hint(format!(
                "pass the file holding it (or - for stdin), --sfdx-url-file FILE, or set \
                 {SFDX_AUTH_URL_ENV}"
            ))
        })?,
    };
    let url = SfdxAuthUrl::parse(text.expose())?;
    let org = org.with_sfdx_url(&url);
    let client = org.app_client()?;
    let entry = org.entry(Flow::SfdxUrl)?;
    let new = NewOrg {
        spends: Some(url.refresh_token.clone()),
        ..NewOrg::new(entry, &args.org)
    };
    let request = async || {
        let granted = client.refresh(&url.refresh_token).await?;
        let mut token = merged(&url, &granted.token);
        if let Some(secret) = &url.client_secret {
            token.set(TOKEN_FILE_SECRET_KEY, secret.expose());
        }
        Ok(token)
    };
    commit::log_in(&org, new, request).await
}

/// The token a refresh `answer` makes of what the URL holds, merged as every refresh is
/// merged (the library's rule: a rotated refresh token replaces the URL's, an answer without
/// one keeps it), with whether it rotated recorded as a refresh records it.
fn merged(url: &SfdxAuthUrl, answer: &Token) -> Token {
    let mut token = answer.clone();
    token.set("refresh_token", url.refresh_token.expose());
    let rotated = token.merge_refresh(answer);
    token.set(Token::ROTATION_KEY, if rotated { "true" } else { "false" });
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> SfdxAuthUrl {
        SfdxAuthUrl::parse("force://3MVG9id:s3cret:5Aep861url@https://acme.my.salesforce.com")
            .unwrap()
    }

    fn answer(extra: &str) -> Token {
        let json = format!(
            r#"{{"access_token":"00Dx!new","instance_url":"https://acme.my.salesforce.com","issued_at":"1700000000000"{extra}}}"#
        );
        Token::from_json(json.as_bytes()).unwrap()
    }

    #[test]
    fn an_answer_without_a_refresh_token_keeps_the_urls_and_records_no_rotation() {
        let token = merged(&url(), &answer(""));
        assert_eq!(token.refresh_token().unwrap().expose(), "5Aep861url");
        assert_eq!(token.access_token().expose(), "00Dx!new");
        assert_eq!(token.get(Token::ROTATION_KEY).unwrap(), "false");
    }

    #[test]
    fn a_rotated_refresh_token_replaces_the_urls_and_is_recorded_as_rotation() {
        let token = merged(&url(), &answer(r#","refresh_token":"5Aep861new""#));
        assert_eq!(token.refresh_token().unwrap().expose(), "5Aep861new");
        assert_eq!(token.get(Token::ROTATION_KEY).unwrap(), "true");
    }
}
