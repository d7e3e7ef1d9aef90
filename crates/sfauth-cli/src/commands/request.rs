//! `sfauth request`: an authenticated REST call. The body goes to stdout; with `-i`, the
//! status line and headers go to stderr. An HTTP error status gives exit code 8.

use std::io::{Read, Write};
use std::process::ExitCode;

use sfauth::{Api, ApiRequest, Error, ErrorKind};

use crate::cli::RequestArgs;
use crate::exit::HTTP_ERROR;
use crate::target;

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
    let target = target::resolve(&args.target)?;
    let api = Api::new(target.session).with_http(target.http);
    let request = ApiRequest {
        method,
        target: args.target_url.clone(),
        headers,
        body,
    };
    let answer = api.send(&request).await?;
    if args.include {
        eprintln!("{}", answer.status_line);
        for (name, value) in &answer.headers {
            eprintln!("{name}: {value}");
        }
        eprintln!();
    }
    let mut out = std::io::stdout().lock();
    let written = out.write_all(&answer.body).and_then(|()| {
        if !answer.body.is_empty() && !answer.body.ends_with(b"\n") {
            out.write_all(b"\n")?;
        }
        out.flush()
    });
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other?,
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
