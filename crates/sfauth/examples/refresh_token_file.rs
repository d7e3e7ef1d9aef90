//! The seed samples' job: load a JSON token file, refresh it, save it, rotation-safe.
//!
//! `cargo run -p sfauth --example refresh_token_file` runs it against the built-in emulator.
//! With `SFAUTH_TOKEN_FILE` and `SFAUTH_CLIENT_ID` set (and optionally `SFAUTH_LOGIN_URL`,
//! `SFAUTH_CLIENT_SECRET`), it refreshes that file against that org instead.

use sfauth::{ClientSecret, ConnectedApp, FileStore, LoginUrl, RefreshAction, Session};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    // No org configured: run against an emulated one, with a token file it issued.
    let demo = match (var("SFAUTH_TOKEN_FILE"), var("SFAUTH_CLIENT_ID")) {
        (Some(_), Some(_)) => None,
        _ => Some(Demo::start().await?),
    };
    let (path, client_id) = match &demo {
        Some(d) => (d.path.clone(), d.client_id.clone()),
        None => (
            var("SFAUTH_TOKEN_FILE").unwrap_or_default().into(),
            var("SFAUTH_CLIENT_ID").unwrap_or_default(),
        ),
    };

    // The job itself: five lines.
    let mut app = ConnectedApp::new(client_id);
    if let Some(secret) = var("SFAUTH_CLIENT_SECRET") {
        app = app.with_secret(ClientSecret::from(secret));
    }
    let mut builder = Session::builder(FileStore::new(&path), app);
    if let Some(url) = var("SFAUTH_LOGIN_URL") {
        builder = builder.login_url(LoginUrl::parse(&url)?);
    }
    let outcome = builder.build().refresh().await?;

    match outcome.action {
        RefreshAction::Refreshed { rotated, signature } => println!(
            "refreshed {} at {}: refresh token {}, signature {signature:?}",
            path.display(),
            outcome.token.instance_url(),
            if rotated {
                "rotated and saved"
            } else {
                "unchanged"
            },
        ),
        RefreshAction::Adopted => println!("another process had just refreshed; adopted its token"),
        // RefreshAction may grow: a newer sfauth's outcome still holds a valid token.
        _ => println!("token ready at {}", outcome.token.instance_url()),
    }
    Ok(())
}

/// An emulated org and a token file it issued.
struct Demo {
    _org: sfauth_emulator::Emulator,
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    client_id: String,
}

impl Demo {
    async fn start() -> Result<Demo, Box<dyn std::error::Error>> {
        let org = sfauth_emulator::spawn(Default::default()).await?;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("_salesforce.json");
        std::fs::write(
            &path,
            serde_json::to_vec_pretty(&org.issue_token("ada@example.com"))?,
        )?;
        println!(
            "no SFAUTH_TOKEN_FILE/SFAUTH_CLIENT_ID: using an emulated org at {}",
            org.url()
        );
        let client_id = org.config().client_id.clone();
        Ok(Demo {
            _org: org,
            _dir: dir,
            path,
            client_id,
        })
    }
}
