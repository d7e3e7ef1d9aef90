//! `sfauth orgs` and `sfauth status`: what is stored, with every token redacted.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sfauth::{FileStore, Token, TokenStore};

use crate::cli::{ListArgs, StatusArgs};
use crate::config::{Alias, Config, Home, Org};
use crate::out::{errln, outln};

/// Runs `sfauth orgs`.
pub async fn list(args: &ListArgs) -> anyhow::Result<()> {
    let home = Home::locate()?;
    let config = Config::load(&home)?;
    let mut rows = Vec::new();
    for (alias, org) in &config.orgs {
        let token = FileStore::new(&org.token_file).load().await.ok();
        rows.push(describe(
            alias,
            org,
            token.as_ref(),
            config.default_org.as_ref() == Some(alias),
        ));
    }
    if args.json {
        outln!("{}", serde_json::Value::Array(rows))?;
        return Ok(());
    }
    if rows.is_empty() {
        errln!("no orgs stored yet; log in with: sfauth login web --alias NAME");
        return Ok(());
    }
    let cell = |row: &serde_json::Value, key: &str| match &row[key] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".to_owned(),
        other => other.to_string(),
    };
    let header = [
        "ALIAS",
        "USERNAME",
        "INSTANCE",
        "FLOW",
        "TOKEN AGE",
        "DEFAULT",
    ];
    let keys = [
        "alias",
        "username",
        "instance_url",
        "flow",
        "token_age",
        "default",
    ];
    let table: Vec<Vec<String>> = std::iter::once(header.iter().map(|h| h.to_string()).collect())
        .chain(rows.iter().map(|r| {
            keys.iter()
                .map(|k| match (*k, &r[*k]) {
                    ("default", serde_json::Value::Bool(true)) => "*".to_owned(),
                    ("default", _) => String::new(),
                    _ => cell(r, k),
                })
                .collect()
        }))
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| table.iter().map(|row| row[i].len()).max().unwrap_or(0))
        .collect();
    for row in table {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:w$}"))
            .collect();
        outln!("{}", line.join("  ").trim_end())?;
    }
    Ok(())
}

/// Runs `sfauth status`.
pub async fn status(args: &StatusArgs) -> anyhow::Result<()> {
    let config = Config::load(&Home::locate()?)?;
    let (alias, org) = config.select(args.org.as_ref())?;
    let token = FileStore::new(&org.token_file).load().await;
    let mut details = describe(
        &alias,
        org,
        token.as_ref().ok(),
        config.default_org.as_ref() == Some(&alias),
    );
    if let Err(e) = &token {
        details["token_problem"] = e.to_string().into();
    }
    if args.json {
        outln!("{details}")?;
    } else if let serde_json::Value::Object(map) = details {
        for (key, value) in map {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => "-".to_owned(),
                other => other.to_string(),
            };
            outln!("{key:<18} {text}")?;
        }
    }
    Ok(())
}

/// One org as JSON: no secret, the access token shown as `[redacted]`.
fn describe(alias: &Alias, org: &Org, token: Option<&Token>, default: bool) -> serde_json::Value {
    let expiry = org.expiry(None);
    let estimate = token.and_then(|t| expiry.expiry(t));
    let age = token
        .and_then(Token::issued_at)
        .and_then(|t| SystemTime::now().duration_since(t).ok());
    let secret_source = match (
        &org.secret.client_secret_file,
        &org.secret.client_secret_env,
    ) {
        (Some(path), _) => format!("file {}", path.display()),
        (None, Some(var)) => format!("env {var}"),
        (None, None) => "none".to_owned(),
    };
    serde_json::json!({
        "alias": alias.as_str(),
        "default": default,
        "flow": org.flow.as_str(),
        "username": org.username,
        "user_id": token.and_then(Token::user_id),
        "org_id": token.and_then(Token::org_id),
        "instance_url": token.map(Token::instance_url),
        "login_url": org.login_url,
        "site": org.site,
        "client_id": org.client_id,
        "client_secret": secret_source,
        "token_file": org.token_file.display().to_string(),
        "access_token": token.map(|_| "[redacted]"),
        "refresh_token": token.map(|t| if t.refresh_token().is_some() { "[redacted]" } else { "none" }),
        "issued_at": token.and_then(Token::issued_at_raw),
        "token_age": age.map(human),
        // A revoked token is never fresh, whatever its age.
        "fresh": token.map(|t| !org.revoked && expiry.is_fresh(t)),
        "revoked": org.revoked,
        "expires_at": estimate.and_then(|e| e.at.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs()),
        "expiry_source": estimate.map(|e| e.source.as_str()),
        "session_timeout": human(expiry.max_age()),
        "introspect": org.introspect,
    })
}

/// `42s`, `12m`, `3h`, `2d`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}
