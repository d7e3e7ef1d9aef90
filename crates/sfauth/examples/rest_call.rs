//! A REST call with automatic refresh: the token is refreshed when stale, and once more if
//! Salesforce answers 401 "Session expired or invalid".
//!
//! `cargo run -p sfauth --example rest_call` runs it against the built-in emulator, whose
//! sessions are expired first so the refresh-and-retry shows. With `SFAUTH_TOKEN_FILE` and
//! `SFAUTH_CLIENT_ID` set it calls that org's `/services/data/` instead.

use sfauth::{Api, ApiRequest, ConnectedApp, FileStore, Session};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut _keep = None;
    let (path, client_id) = match (var("SFAUTH_TOKEN_FILE"), var("SFAUTH_CLIENT_ID")) {
        (Some(path), Some(id)) => (std::path::PathBuf::from(path), id),
        _ => {
            let org = sfauth_emulator::spawn(Default::default()).await?;
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("_salesforce.json");
            std::fs::write(
                &path,
                serde_json::to_vec_pretty(&org.issue_token("ada@example.com"))?,
            )?;
            org.expire_access_tokens();
            println!(
                "using an emulated org at {} whose sessions have just expired",
                org.url()
            );
            let id = org.config().client_id.clone();
            _keep = Some((org, dir));
            (path, id)
        }
    };

    let session = Session::builder(FileStore::new(&path), ConnectedApp::new(client_id)).build();
    let api = Api::new(session);
    let answer = api.send(&ApiRequest::get("/services/data/")).await?;

    println!("GET {} -> {}", answer.url, answer.status_line);
    println!("refreshed and retried after a 401: {}", answer.refreshed);
    println!("{}", String::from_utf8_lossy(&answer.body));
    Ok(())
}
