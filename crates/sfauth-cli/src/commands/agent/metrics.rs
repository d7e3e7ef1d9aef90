//! `GET /metrics`: the agent's counters in Prometheus' text format. No secret: orgs by
//! alias, errors by kind.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::SystemTime;

use crate::commands::agent::worker::OrgAgent;

/// The metrics of `orgs`, as Prometheus text (version 0.0.4).
pub async fn render(orgs: &[Arc<OrgAgent>]) -> String {
    let mut refreshes = String::new();
    let mut adopted = String::new();
    let mut failures = String::new();
    let mut age = String::new();
    let mut left = String::new();
    let mut fresh = String::new();
    let now = SystemTime::now();
    for org in orgs {
        let health = org.health().await;
        let alias = org.alias.as_str();
        let _ = writeln!(
            refreshes,
            "sfauth_agent_refreshes_total{{org=\"{alias}\"}} {}",
            health.refreshes
        );
        let _ = writeln!(
            adopted,
            "sfauth_agent_adoptions_total{{org=\"{alias}\"}} {}",
            health.adopted
        );
        for (kind, count) in &health.failures {
            let _ = writeln!(
                failures,
                "sfauth_agent_refresh_failures_total{{org=\"{alias}\",kind=\"{kind}\"}} {count}"
            );
        }
        if let Some(issued) = health.token.as_ref().and_then(sfauth::Token::issued_at) {
            let secs = now.duration_since(issued).unwrap_or_default().as_secs_f64();
            let _ = writeln!(
                age,
                "sfauth_agent_token_age_seconds{{org=\"{alias}\"}} {secs:.3}"
            );
        }
        if let Some(at) = health.expires_at {
            let secs = at.duration_since(now).unwrap_or_default().as_secs_f64();
            let _ = writeln!(
                left,
                "sfauth_agent_token_expires_in_seconds{{org=\"{alias}\"}} {secs:.3}"
            );
        }
        let _ = writeln!(
            fresh,
            "sfauth_agent_token_fresh{{org=\"{alias}\"}} {}",
            u8::from(health.fresh)
        );
    }
    let mut text = String::new();
    for (name, kind, help, body) in [
        (
            "sfauth_agent_refreshes_total",
            "counter",
            "Refreshes this agent sent to Salesforce and saved.",
            &refreshes,
        ),
        (
            "sfauth_agent_adoptions_total",
            "counter",
            "Refreshes not sent because another agent or process had just made one.",
            &adopted,
        ),
        (
            "sfauth_agent_refresh_failures_total",
            "counter",
            "Failed refreshes, by error kind.",
            &failures,
        ),
        (
            "sfauth_agent_token_age_seconds",
            "gauge",
            "Age of the token served.",
            &age,
        ),
        (
            "sfauth_agent_token_expires_in_seconds",
            "gauge",
            "Seconds until the token served expires.",
            &left,
        ),
        (
            "sfauth_agent_token_fresh",
            "gauge",
            "1 when the token served is fresh.",
            &fresh,
        ),
    ] {
        let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
        text.push_str(body);
    }
    text
}
