//! `sfauth request`: an authenticated REST call. The body goes to stdout; with `-i`, the
//! status line and headers go to stderr. An HTTP error status gives exit code 8.

use std::io::Read;
use std::process::ExitCode;

use sfauth::{ApiRequest, Error, ErrorKind, Session, Token};

use crate::cli::RequestArgs;
use crate::exit::HTTP_ERROR;
use crate::org::ResolvedOrg;
use crate::out::errln;

/// Runs `sfauth request`.
pub async fn run(args: &RequestArgs) -> anyhow::Result<ExitCode> {
    let headers = args
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<sfauth::Result<Vec<_>>>()?;
    let body = args.data.as_deref().map(read_data).transpose()?;
    let mut headers = headers;
    if body.is_some()
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    let method = args
        .method
        .clone()
        .unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.to_owned());
    let org = ResolvedOrg::for_token(&args.target)?;
    let session = org.session();
    check_origin(&session, &args.target_url, &args.allow_hosts).await?;
    let api = org.api(&args.target);
    let request = ApiRequest {
        method,
        target: args.target_url.clone(),
        headers,
        body,
    };
    let answer = api.send(&request).await?;
    if args.include {
        errln!("{}", answer.status_line);
        for (name, value) in &answer.headers {
            errln!("{name}: {value}");
        }
        errln!();
    }
    if (300..400).contains(&answer.status) {
        let location = answer
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("location"))
            .map_or("no Location", |(_, value)| value.as_str());
        errln!(
            "note: {} answered {} ({location}); sfauth does not follow redirects, since the token would go along",
            answer.url,
            answer.status_line
        );
    }
    if args.json {
        let body = serde_json::from_slice::<serde_json::Value>(&answer.body)
            .unwrap_or_else(|_| String::from_utf8_lossy(&answer.body).into_owned().into());
        let headers: Vec<serde_json::Value> = answer
            .headers
            .iter()
            .map(|(name, value)| serde_json::json!([name, value]))
            .collect();
        let summary = serde_json::json!({
            "schema_version": crate::output::SCHEMA_VERSION,
            "status": answer.status,
            "status_line": answer.status_line,
            "headers": headers,
            "body": body,
            "refreshed": answer.refreshed,
        });
        crate::out::stdout_bytes(format!("{summary}\n").as_bytes())?;
    } else {
        let mut body = answer.body.clone();
        if !body.is_empty() && !body.ends_with(b"\n") {
            body.push(b'\n');
        }
        crate::out::stdout_bytes(&body)?;
    }
    if answer.status < 400 {
        return Ok(ExitCode::SUCCESS);
    }
    let hint = match (answer.status, answer.refreshed) {
        (401, true) => {
            Some("the token was refreshed and the retry was still refused; log in again")
        }
        (401, false) => Some(
            "the session is valid but not allowed for this API (scope, API access or the \
             connected app's policy): refreshing will not help",
        ),
        _ => None,
    };
    crate::exit::say(
        &format!("{} answered {}", answer.url, answer.status_line),
        hint,
    );
    Ok(ExitCode::from(HTTP_ERROR))
}

/// Refuses an absolute URL outside the org's own origins, unless its host was allowed:
/// the request carries the org's bearer token. The org's origins are its token's
/// `instance_url` and `api_instance_url`, and its site host when it logs in at a site.
async fn check_origin(session: &Session, target: &str, allowed: &[String]) -> anyhow::Result<()> {
    let target = target.trim();
    if !target.contains("://") {
        return Ok(());
    }
    let Ok(url) = url::Url::parse(target) else {
        // The library reports what is wrong with it.
        return Ok(());
    };
    let token = session.current().await?;
    let origins = org_origins(session, &token);
    let origin = url.origin().ascii_serialization();
    if origins.contains(&origin) {
        return Ok(());
    }
    let host = url.host_str().unwrap_or_default();
    let host_port = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    if allowed
        .iter()
        .map(|a| a.trim())
        .any(|a| a.eq_ignore_ascii_case(host) || a.eq_ignore_ascii_case(&host_port))
    {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Usage,
        format!(
            "refusing to send the org's token to {host_port}: it is not one of the org's own origins ({})",
            origins.join(", ")
        ),
    )
    .with_hint(format!(
        "pass a path (it is resolved against the org's instance_url), or --allow-host {host_port} (or SFAUTH_ALLOW_HOST) if that host should get the token"
    ))
    .into())
}

/// The origins the org's token may be sent to.
fn org_origins(session: &Session, token: &Token) -> Vec<String> {
    let mut urls = vec![token.instance_url().to_owned()];
    if let Some(api) = token.api_instance_url() {
        urls.push(api.to_owned());
    }
    if let Ok(endpoint) = session.endpoint_for(token)
        && !endpoint.site().as_str().is_empty()
    {
        urls.push(endpoint.login_url().as_str().to_owned());
    }
    let mut origins: Vec<String> = urls
        .iter()
        .filter_map(|u| url::Url::parse(u).ok())
        .map(|u| u.origin().ascii_serialization())
        .filter(|o| o != "null")
        .collect();
    origins.dedup();
    origins
}

fn parse_header(text: &str) -> sfauth::Result<(String, String)> {
    match text.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(Error::new(
            ErrorKind::Usage,
            format!("header `{text}` is not `Name: value`"),
        )
        .with_hint("pass headers as -H 'Name: value'")),
    }
}

/// `@FILE`, `-` (stdin) or the text itself.
fn read_data(data: &str) -> sfauth::Result<Vec<u8>> {
    if data == "-" {
        let mut body = Vec::new();
        std::io::stdin().read_to_end(&mut body).map_err(|e| {
            Error::new(
                ErrorKind::Usage,
                format!("cannot read the body from stdin: {e}"),
            )
        })?;
        return Ok(body);
    }
    match data.strip_prefix('@') {
        Some(path) => std::fs::read(path).map_err(|e| {
            Error::new(
                ErrorKind::Usage,
                format!("cannot read the body file {path}: {e}"),
            )
        }),
        None => Ok(data.as_bytes().to_vec()),
    }
}
