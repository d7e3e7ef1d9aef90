//! `sfauth config`: where sfauth keeps its files, and what each setting resolves to and
//! from where (a flag, a variable, the config, the default), as `gh config list` and
//! `gcloud config list` show theirs. The org's own settings come from the one place that
//! resolves an org (`org/`). No secret is shown: only where a secret would come from.

use serde_json::{Value, json};

use crate::cli::ConfigArgs;
use crate::config::{Config, Home};
use crate::org::ResolvedOrg;
use crate::out::outln;
use crate::output;

/// One setting: its name, value and source.
struct Setting {
    name: &'static str,
    value: Value,
    source: String,
}

/// `name`'s value from the environment variable `var`, else `default`.
fn from_env(name: &'static str, var: &str, default: &str) -> Setting {
    match crate::org::env_value(var) {
        Some(value) => Setting {
            name,
            value: value.into(),
            source: format!("env {var}"),
        },
        None => Setting {
            name,
            value: default.into(),
            source: "default".into(),
        },
    }
}

/// A store URL's setting as it may be shown: without a password it holds.
fn redacted(mut setting: Setting) -> Setting {
    if let Some(text) = setting.value.as_str()
        && setting.source != "default"
        && !matches!(text.trim(), "file" | "keychain")
    {
        setting.value = match sfauth::StoreUrl::parse(text) {
            Ok(url) => url.to_string().into(),
            Err(_) => "(not a store URL sfauth knows)".into(),
        };
    }
    setting
}

/// Runs `sfauth config`.
pub async fn run(args: &ConfigArgs) -> anyhow::Result<()> {
    let (home, home_source) = Home::locate_with_source()?;
    let (socket, socket_source) = crate::agent::socket::path_with_source(None)?;
    let config = Config::load(&home)?;
    let path = |p: std::path::PathBuf| Value::from(p.display().to_string());
    let mut settings = vec![
        Setting {
            name: "home",
            value: path(home.identity()),
            source: home_source.into(),
        },
        Setting {
            name: "config_file",
            value: path(home.config_file()),
            source: "home".into(),
        },
        Setting {
            name: "tokens_dir",
            value: path(home.token_dir()),
            source: "home".into(),
        },
        Setting {
            name: "lock_dir",
            value: path(home.lock_dir()),
            source: "home".into(),
        },
        Setting {
            name: "default_org",
            value: config.default_org.as_ref().map(|a| a.as_str()).into(),
            source: if config.default_org.is_some() {
                "config"
            } else {
                "none"
            }
            .into(),
        },
        Setting {
            name: "agent_socket",
            value: path(socket),
            source: socket_source.into(),
        },
        redacted(from_env(
            "login_store",
            "SFAUTH_STORE",
            "keychain where one answers, else file",
        )),
        from_env("timeout", "SFAUTH_TIMEOUT", "30s"),
        from_env("retries", "SFAUTH_RETRIES", "3"),
        from_env("ca_file", "SFAUTH_CA_FILE", "the system's CA store"),
        from_env("format", "SFAUTH_FORMAT", "bare"),
        from_env("json", "SFAUTH_JSON", "false"),
        from_env("log", "SFAUTH_LOG", "warn"),
        from_env("no_agent", "SFAUTH_NO_AGENT", "false"),
    ];
    // The org, resolved the way every command resolves it; none is not an error here.
    if let Ok(org) = ResolvedOrg::stored(&args.select, None) {
        settings.extend(
            org.settings()
                .into_iter()
                .map(|(name, value, source)| Setting {
                    name,
                    value,
                    source,
                }),
        );
    }
    if args.json {
        let map: serde_json::Map<String, Value> = settings
            .iter()
            .map(|s| {
                (
                    s.name.to_owned(),
                    json!({"value": s.value, "source": s.source}),
                )
            })
            .collect();
        outln!("{}", json!({"schema_version": 1, "settings": map}))?;
        return Ok(());
    }
    let cells: Vec<Vec<String>> = settings
        .iter()
        .map(|s| vec![s.name.to_owned(), output::cell(&s.value), s.source.clone()])
        .collect();
    for line in output::table(&["SETTING", "VALUE", "FROM"], &cells) {
        outln!("{line}")?;
    }
    Ok(())
}
