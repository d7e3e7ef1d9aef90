//! `sfauth orgs` and `sfauth status`: what is stored, with every token redacted.

use std::time::SystemTime;

use sfauth::{FileStore, SfCliHome, StoreUrl, Token, TokenStore};

use crate::agent::client::AgentClient;
use crate::cli::{ListArgs, StatusArgs, StatusFormat};
use crate::config::{Alias, Config, Home, Org};
use crate::org::ResolvedOrg;
use crate::out::{errln, outln};
use crate::output;

/// Runs `sfauth orgs`.
pub async fn list(args: &ListArgs) -> anyhow::Result<()> {
    let home = Home::locate()?;
    let config = Config::load(&home)?;
    if args.sf {
        return list_sf_cli(args, &config);
    }
    let mut rows = Vec::new();
    for (alias, org) in &config.orgs {
        // A shared store is a server to log in to (maybe without its password here): the
        // list stays local, and `status --org` reads the token there.
        let token = match org.store {
            None => FileStore::new(&org.token_file).load().await.ok(),
            Some(_) => None,
        };
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
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            keys.iter()
                .map(|key| match (*key, &row[*key]) {
                    ("default", serde_json::Value::Bool(true)) => "*".to_owned(),
                    ("default", _) => String::new(),
                    (_, value) => output::cell(value),
                })
                .collect()
        })
        .collect();
    for line in output::table(&header, &cells) {
        outln!("{line}")?;
    }
    Ok(())
}

/// `sfauth orgs --sf`: the Salesforce CLI's orgs, and the sfauth aliases that use them.
fn list_sf_cli(args: &ListArgs, config: &Config) -> anyhow::Result<()> {
    let sf = SfCliHome::of_user()?.with_project_from(&std::env::current_dir()?);
    let mut rows = Vec::new();
    for org in sf.orgs()? {
        let store = StoreUrl::SfCli(org.username.clone()).to_string();
        let used_by: Vec<&str> = config
            .orgs
            .iter()
            .filter(|(_, o)| o.store.as_deref() == Some(store.as_str()))
            .map(|(alias, _)| alias.as_str())
            .collect();
        rows.push(serde_json::json!({
            "schema_version": output::SCHEMA_VERSION,
            "username": org.username,
            "aliases": org.aliases,
            "default": org.is_default,
            "org_id": org.org_id,
            "instance_url": org.instance_url,
            "login_url": org.login_url,
            "client_id": org.client_id,
            "renewal": org.renewal.as_str(),
            "expiration_date": org.expiration_date,
            "store": store,
            "sfauth_aliases": used_by,
        }));
    }
    if args.json {
        outln!("{}", serde_json::Value::Array(rows))?;
        return Ok(());
    }
    if rows.is_empty() {
        errln!(
            "the Salesforce CLI holds no orgs in {}; log in with: sf org login web --alias NAME",
            sf.sfdx_dir().display()
        );
        return Ok(());
    }
    let header = [
        "ALIASES",
        "USERNAME",
        "INSTANCE",
        "RENEWAL",
        "DEFAULT",
        "SFAUTH ALIAS",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            vec![
                join(&row["aliases"]),
                output::cell(&row["username"]),
                output::cell(&row["instance_url"]),
                output::cell(&row["renewal"]),
                if row["default"] == true { "*" } else { "" }.to_owned(),
                join(&row["sfauth_aliases"]),
            ]
        })
        .collect();
    for line in output::table(&header, &cells) {
        outln!("{line}")?;
    }
    errln!("use one with: sfauth login sf --alias NAME --from USERNAME|ALIAS");
    Ok(())
}

/// A JSON list of strings as `a, b`.
fn join(list: &serde_json::Value) -> String {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(serde_json::Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// Runs `sfauth status`.
pub async fn status(args: &StatusArgs) -> anyhow::Result<()> {
    let org = ResolvedOrg::stored(&args.select, None)?;
    let (alias, record) = org.named()?;
    let token = org.store().load().await;
    let mut details = describe(alias, record, token.as_ref().ok(), org.is_default());
    if let Err(e) = &token {
        details["token_problem"] = e.to_string().into();
    }
    // A running agent's view: when it last refreshed, and what went wrong last.
    let agent = match AgentClient::for_alias(alias.as_str()) {
        Some(client) => client.health().await,
        None => None,
    };
    details["agent"] = agent.unwrap_or(serde_json::Value::Null);
    let format = match (args.format, args.json) {
        (Some(format), _) => format,
        (None, true) => StatusFormat::Json,
        (None, false) => StatusFormat::Human,
    };
    if format == StatusFormat::Sf {
        outln!("{}", sf_org_display(&details))?;
    } else if format == StatusFormat::Json {
        outln!("{details}")?;
    } else if let serde_json::Value::Object(map) = details {
        for line in output::fields(&map) {
            outln!("{line}")?;
        }
    }
    Ok(())
}

/// `details` in the shape of `sf org display --json`, the access token redacted as the
/// Salesforce CLI (2.136.8 and later) redacts it.
fn sf_org_display(details: &serde_json::Value) -> serde_json::Value {
    let alias = details["alias"].as_str().unwrap_or_default();
    let connected = match details["fresh"].as_bool() {
        Some(true) => "Connected",
        Some(false) => "Expired",
        None => "Unknown",
    };
    serde_json::json!({
        "status": 0,
        "result": {
            "id": details["org_id"],
            "accessToken": format!("[REDACTED] Use 'sfauth token --org {alias}' to view"),
            "instanceUrl": details["instance_url"],
            "loginUrl": details["login_url"],
            "username": details["username"],
            "clientId": details["client_id"],
            "connectedStatus": connected,
            "alias": alias,
        },
        "warnings": [],
    })
}

/// One org as JSON: no secret, the access token shown as `[redacted]`.
fn describe(alias: &Alias, org: &Org, token: Option<&Token>, default: bool) -> serde_json::Value {
    let expiry = org.expiry(None);
    // The times every command's JSON gives, computed in one place.
    let times = token
        .map(|t| output::token_times(t, &expiry))
        .unwrap_or_default();
    let time = |key: &str| times.get(key).cloned().unwrap_or_default();
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
        "schema_version": output::SCHEMA_VERSION,
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
        // Where the token lives: its file, or a shared store's URL (never a password) and key.
        "token_file": org.store.is_none().then(|| org.token_file.display().to_string()),
        "store": org.store.as_deref().unwrap_or("file"),
        // A key names one token among many: a server store's, not a file's.
        "store_key": org
            .store
            .as_deref()
            .filter(|url| sfauth::StoreUrl::parse(url).is_ok_and(|u| u.is_shared()))
            .map(|_| org.store_key.as_deref().unwrap_or(alias.as_str())),
        "access_token": token.map(|_| "[redacted]"),
        "refresh_token": token.map(|t| if t.refresh_token().is_some() { "[redacted]" } else { "none" }),
        "issued_at": time("issued_at"),
        "token_age": age.map(output::age),
        // A revoked token is never fresh, whatever its age.
        "fresh": token.map(|t| !org.revoked && expiry.is_fresh(t)),
        "revoked": org.revoked,
        "expires_at": time("expires_at"),
        "expires_in": time("expires_in"),
        "expiry_source": time("expiry_source"),
        "session_timeout": output::age(expiry.max_age()),
        "introspect": org.introspect,
    })
}
