//! `sfauth open`: the org in a browser, logged in, through a single-use frontdoor URL that
//! the library asks Salesforce for (`sf org open`'s way since 2025). With `--url-only` or
//! `--json`, the URL is printed instead: it logs anyone in once, so it goes to stdout only
//! on request.

use sfauth::{Error, ErrorKind};

use crate::cli::{OpenArgs, OpenBrowser};
use crate::org::ResolvedOrg;
use crate::out::{errln, outln};

/// Runs `sfauth open`.
pub async fn run(args: &OpenArgs) -> anyhow::Result<()> {
    let org = ResolvedOrg::for_token(&args.target)?;
    let api = org.api(&args.target);
    let url = api.frontdoor_url(args.path.as_deref()).await?;
    if args.json {
        outln!(
            "{}",
            serde_json::json!({"url": url.expose(), "alias": org.alias().map(|a| a.as_str())})
        )?;
        return Ok(());
    }
    if args.url_only {
        outln!("{}", url.expose())?;
        return Ok(());
    }
    let opened = match args.browser {
        None => webbrowser::open(url.expose()),
        Some(browser) => open_in(browser, url.expose()),
    };
    if let Err(e) = opened {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("no browser opened here ({e}); the URL was not used"),
        )
        .with_hint("pass --url-only to print the single-use URL and open it elsewhere")
        .into());
    }
    let what = args.path.as_deref().unwrap_or("its home page");
    match org.alias() {
        Some(alias) => errln!("opened `{alias}` ({what}) in the browser"),
        None => errln!("opened the org ({what}) in the browser"),
    }
    Ok(())
}

/// Opens `url` in the named browser: through webbrowser on macOS, which knows them there;
/// elsewhere by starting the browser's program from PATH (webbrowser opens only the
/// default browser on Linux).
fn open_in(browser: OpenBrowser, url: &str) -> std::io::Result<()> {
    if cfg!(target_os = "macos") {
        let browser = match browser {
            OpenBrowser::Chrome => webbrowser::Browser::Chrome,
            OpenBrowser::Firefox => webbrowser::Browser::Firefox,
            OpenBrowser::Safari => webbrowser::Browser::Safari,
            OpenBrowser::Opera => webbrowser::Browser::Opera,
        };
        return webbrowser::open_browser(browser, url);
    }
    let programs: &[&str] = match browser {
        OpenBrowser::Chrome => &[
            "google-chrome",
            "google-chrome-stable",
            "chromium",
            "chromium-browser",
        ],
        OpenBrowser::Firefox => &["firefox"],
        OpenBrowser::Opera => &["opera"],
        OpenBrowser::Safari => &[],
    };
    let mut last = std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("{browser:?} is not installed here"),
    );
    for program in programs {
        match std::process::Command::new(program)
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
        {
            Ok(_) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}
