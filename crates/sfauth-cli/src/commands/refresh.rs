//! `sfauth refresh`: refresh now, save, and say what happened (no secret).

use sfauth::{RefreshAction, RefreshOutcome, SignatureCheck};

use crate::cli::RefreshArgs;
use crate::org::ResolvedOrg;
use crate::out::{errln, outln};

/// Runs `sfauth refresh`.
pub async fn run(args: &RefreshArgs) -> anyhow::Result<()> {
    let org = ResolvedOrg::for_token(&args.target)?;
    let outcome = org.session().refresh().await?;
    let mut summary = summary(&outcome, &org.describe_store());
    // The times every command's JSON gives: issued_at, expires_at, expires_in.
    for (key, value) in crate::output::token_times(&outcome.token, &org.expiry()) {
        summary[key] = value;
    }
    if args.json {
        outln!("{summary}")?;
    } else {
        errln!("{}", sentence(&outcome));
    }
    Ok(())
}

/// The outcome as JSON, for `--json`.
pub fn summary(outcome: &RefreshOutcome, token_file: &str) -> serde_json::Value {
    let t = &outcome.token;
    let (action, rotated, signature) = match &outcome.action {
        RefreshAction::Refreshed { rotated, signature } => (
            "refreshed",
            Some(*rotated),
            Some(signature_word(*signature)),
        ),
        RefreshAction::Adopted => ("adopted", None, None),
        // An outcome a newer library adds.
        _ => ("other", None, None),
    };
    serde_json::json!({
        "schema_version": crate::output::SCHEMA_VERSION,
        "action": action,
        "rotated": rotated,
        "signature": signature,
        "user_id": t.user_id(),
        "org_id": t.org_id(),
        "instance_url": t.instance_url(),
        "issued_at": t.issued_at().map(crate::output::rfc3339),
        "token_file": token_file,
    })
}

fn signature_word(check: SignatureCheck) -> &'static str {
    match check {
        SignatureCheck::Verified => "verified",
        SignatureCheck::NoSecret => "unchecked",
        SignatureCheck::Absent => "absent",
        _ => "other",
    }
}

/// The one-line human summary.
pub fn sentence(outcome: &RefreshOutcome) -> String {
    let t = &outcome.token;
    let who = match (t.user_id(), t.org_id()) {
        (Some(user), Some(org)) => format!("user {user} (org {org})"),
        _ => "the token".to_owned(),
    };
    match &outcome.action {
        RefreshAction::Refreshed { rotated, signature } => {
            let rotation = if *rotated {
                "refresh token rotated, new one saved"
            } else {
                "refresh token unchanged"
            };
            let signature = match signature {
                SignatureCheck::Verified => "signature verified",
                SignatureCheck::NoSecret => "signature not checked (no client secret)",
                SignatureCheck::Absent => "no signature in the response",
                _ => "signature checked in a way this sfauth does not name",
            };
            format!(
                "refreshed {who} at {}; {rotation}; {signature}",
                t.instance_url()
            )
        }
        RefreshAction::Adopted => format!(
            "another sfauth refreshed {who} at {} just now; adopted its token",
            t.instance_url()
        ),
        _ => format!("{who} at {} is ready", t.instance_url()),
    }
}
