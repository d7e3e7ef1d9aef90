//! `sfauth login device`: the device flow. sfauth shows a short code to approve in any
//! browser, then polls for the token; the polling is the token request, so it runs under
//! the token file's lock. On a terminal, it offers to open the browser (Enter) and says
//! every 30 s how long it will still wait; elsewhere it prints the code and waits quietly.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use super::commit::{self, NewOrg};
use super::split_scopes;
use crate::cli::DeviceArgs;
use crate::config::Flow;
use crate::org::ResolvedOrg;
use crate::out::errln;

/// How often a terminal is told how long the wait has left.
const REMIND_EVERY: Duration = Duration::from_secs(30);

/// Runs `sfauth login device`.
pub async fn run(args: &DeviceArgs) -> anyhow::Result<()> {
    let org = ResolvedOrg::for_login(&args.login.org)?.with_login_app(&args.login)?;
    let client = org.app_client()?;
    let started = client.device_start(&split_scopes(&args.scopes)).await?;
    let wait = crate::output::age(args.wait);
    errln!(
        "To log in, open {} in any browser and enter the code {}\nWaiting for the approval \
         (up to {wait})...",
        started.verification_uri,
        started.user_code
    );
    let on_terminal = std::io::stderr().is_terminal() && std::io::stdin().is_terminal();
    if on_terminal {
        errln!("Press Enter to open it in this machine's browser.");
        offer_browser(started.verification_uri.clone());
    }
    let entry = org.entry(Flow::Device)?;
    let deadline = Instant::now() + args.wait;
    let poll = async || {
        let polling = client.device_poll(&started, args.wait);
        if !on_terminal {
            return polling.await;
        }
        tokio::pin!(polling);
        loop {
            tokio::select! {
                answer = &mut polling => return answer,
                () = tokio::time::sleep(REMIND_EVERY) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    errln!("still waiting for the approval ({} left)...", crate::output::age(left));
                }
            }
        }
    };
    commit::log_in(&org, NewOrg::new(entry, &args.login.org), poll).await
}

/// Opens `uri` in the browser when a line is typed; the reader thread ends with the
/// process.
fn offer_browser(uri: String) {
    let _ = std::thread::Builder::new()
        .name("sfauth-device-browser".into())
        .spawn(move || {
            let mut line = String::new();
            if std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
                match webbrowser::open(&uri) {
                    Ok(()) => errln!("opened {uri} in the browser"),
                    Err(e) => errln!("no browser opened here ({e}); open {uri} yourself"),
                }
            }
        });
}
