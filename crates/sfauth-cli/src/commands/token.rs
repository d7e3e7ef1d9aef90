//! `sfauth token` and `sfauth header`: print a valid access token. The fresh path reads one
//! file and builds no HTTP client.

use sfauth::{ExpiryPolicy, Token};

use crate::cli::{HeaderArgs, TargetArgs, TokenArgs, TokenFormat};
use crate::org::ResolvedOrg;

/// Runs `sfauth token`.
pub async fn run(args: &TokenArgs) -> anyhow::Result<()> {
    serve(&args.target, args.format).await
}

/// Runs `sfauth header`.
pub async fn header(args: &HeaderArgs) -> anyhow::Result<()> {
    serve(&args.target, TokenFormat::Header).await
}

async fn serve(args: &TargetArgs, format: TokenFormat) -> anyhow::Result<()> {
    let org = ResolvedOrg::for_token(args)?;
    let token = sfauth::TokenSource::token(&org.token_source(args)).await?;
    let text = render(&token, format, org.expiry());
    // A closed pipe (`sfauth token | head -c 10`) is the reader's choice: main stops quietly.
    crate::out::stdout_bytes(text.as_bytes())
}

/// The token in the asked-for format, newline-terminated.
pub fn render(
    token: &Token,
    format: TokenFormat,
    expiry: ExpiryPolicy,
) -> zeroize::Zeroizing<String> {
    let access = token.access_token();
    zeroize::Zeroizing::new(match format {
        TokenFormat::Bare => format!("{}\n", access.expose()),
        TokenFormat::Header => format!("Authorization: Bearer {}\n", access.expose()),
        TokenFormat::Json => {
            let mut body = serde_json::Map::new();
            body.insert(
                "schema_version".into(),
                crate::output::SCHEMA_VERSION.into(),
            );
            body.insert("access_token".into(), access.expose().into());
            body.insert("instance_url".into(), token.instance_url().into());
            body.extend(crate::output::token_times(token, &expiry));
            format!("{}\n", serde_json::Value::Object(body))
        }
        TokenFormat::Env => {
            let mut lines: String = exported(token)
                .iter()
                .map(|(name, value)| format!("export {name}={}\n", shell_quoted(value)))
                .collect();
            // As exec does: no API instance URL of another org is left behind.
            if token.api_instance_url().is_none() {
                lines.push_str("unset SF_API_INSTANCE_URL\n");
            }
            lines
        }
    })
}

/// The variables a token gives a program (`exec`) or a shell (`--format env`): the access
/// token, the instance URL under the Salesforce CLI's two names, and the API instance URL
/// when the token names one.
pub fn exported(token: &Token) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        ("SF_ACCESS_TOKEN", token.access_token().expose().to_owned()),
        ("SF_INSTANCE_URL", token.instance_url().to_owned()),
        ("SF_ORG_INSTANCE_URL", token.instance_url().to_owned()),
    ];
    if let Some(api) = token.api_instance_url() {
        vars.push(("SF_API_INSTANCE_URL", api.to_owned()));
    }
    vars
}

/// `value` in single quotes for a POSIX shell, each `'` written as `'\''`.
fn shell_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}
