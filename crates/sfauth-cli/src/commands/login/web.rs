//! `sfauth login web`: authorization code + PKCE in a browser, through a loopback listener on
//! the redirect URI, or by pasting the redirected URL (`--no-browser`).
//!
//! The browser part comes first and holds nothing: only the code exchange, the token
//! request, runs under the token file's lock.

use sfauth::{AuthorizeOptions, RedirectListener};

use super::commit::{self, NewOrg};
use super::split_scopes;
use crate::cli::WebArgs;
use crate::config::Flow;
use crate::org::ResolvedOrg;
use crate::out::errln;
use crate::secrets;

/// Runs `sfauth login web`.
pub async fn run(args: &WebArgs) -> anyhow::Result<()> {
    let org = ResolvedOrg::for_login(&args.login.org)?.with_login_app(&args.login)?;
    let client = org.app_client()?;
    let mut options = AuthorizeOptions::default()
        .with_redirect_uri(args.redirect_uri.clone())
        .with_scopes(split_scopes(&args.scopes));
    if let Some(prompt) = &args.prompt {
        options = options.with_prompt(prompt.clone());
    }
    if let Some(login_hint) = &args.login_hint {
        options = options.with_login_hint(login_hint.clone());
    }
    let pending = client.authorize(&options)?;
    let code = if args.no_browser {
        errln!(
            "Open this URL in a browser, log in, then paste the URL you were sent to:\n\n{}\n",
            pending.authorize_url()
        );
        let redirected = secrets::stdin_line("redirected URL")?;
        pending.code_from_redirect(redirected.expose())?
    } else {
        let listener = RedirectListener::bind(pending.redirect_uri()).await?;
        errln!(
            "Opening the browser to log in. If it does not open, visit:\n\n{}\n",
            pending.authorize_url()
        );
        if let Err(e) = webbrowser::open(pending.authorize_url()) {
            // Said at once: a headless machine would otherwise wait out --wait in silence.
            errln!(
                "note: no browser opened here ({e}); open the URL above on any machine that can \
                 reach this one's port, or run again with --no-browser to paste the redirected URL"
            );
        }
        listener.wait(&pending, args.wait).await?
    };
    let mut entry = org.entry(Flow::Web)?;
    entry.username = args.login_hint.clone();
    let exchange = async || client.exchange_code(&pending, &code).await;
    commit::log_in(&org, NewOrg::new(entry, &args.login.org), exchange).await
}
