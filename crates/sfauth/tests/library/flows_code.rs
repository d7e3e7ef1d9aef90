//! The web-server login against the emulator: authorize URL, redirect, PKCE code exchange,
//! and the loopback listener with a reqwest client playing the browser.

use std::time::Duration;

use sfauth::{AppClient, AuthorizeOptions, ConnectedApp, ErrorKind, RedirectListener, Session};
use sfauth_emulator::{Config, Consent};

fn client(emulator: &sfauth_emulator::Emulator) -> AppClient {
    crate::support::app_client(
        emulator,
        ConnectedApp::new(emulator.config().client_id.clone()),
    )
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

/// Opens the authorize URL and returns where Salesforce sends the browser.
async fn follow_authorize(url: &str) -> String {
    let answer = browser().get(url).send().await.unwrap();
    assert_eq!(answer.status(), 302, "authorize should redirect");
    answer.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn code_flow_end_to_end_yields_a_token_with_a_refresh_token() {
    let emulator = crate::support::emulator(Config::default()).await;
    let client = client(&emulator);
    let login = client.authorize(&AuthorizeOptions::default()).unwrap();

    let location = follow_authorize(login.authorize_url()).await;
    assert!(
        location.starts_with(AuthorizeOptions::DEFAULT_REDIRECT_URI),
        "{location}"
    );
    let code = login.code_from_redirect(&location).unwrap();
    let token = client.exchange_code(&login, &code).await.unwrap().token;

    assert!(token.refresh_token().is_some());
    assert_eq!(token.instance_url(), emulator.url());
    assert_eq!(emulator.stats().codes_exchanged, 1);

    // The refresh token it brought works with the refresh grant.
    let (_dir, path) = crate::support::token_file(&token);
    let session = Session::builder(sfauth::FileStore::new(&path), client.app().clone())
        .http(crate::support::fast_http())
        .build();
    session.refresh().await.unwrap();
    assert_eq!(emulator.stats().refreshes_served, 1);
}

#[tokio::test]
async fn code_exchange_with_secret_checks_the_signature() {
    let emulator = crate::support::emulator(Config::default()).await;
    let app = ConnectedApp::new(emulator.config().client_id.clone()).with_secret(
        sfauth::ClientSecret::from(emulator.config().client_secret.as_str()),
    );
    let client = crate::support::app_client(&emulator, app);
    let login = client.authorize(&AuthorizeOptions::default()).unwrap();
    let code = login
        .code_from_redirect(&follow_authorize(login.authorize_url()).await)
        .unwrap();
    let token = client.exchange_code(&login, &code).await.unwrap().token;
    assert!(token.signature().is_some());
}

#[tokio::test]
async fn a_code_works_once() {
    let emulator = crate::support::emulator(Config::default()).await;
    let client = client(&emulator);
    let login = client.authorize(&AuthorizeOptions::default()).unwrap();
    let code = login
        .code_from_redirect(&follow_authorize(login.authorize_url()).await)
        .unwrap();
    client.exchange_code(&login, &code).await.unwrap();
    let e = client.exchange_code(&login, &code).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LoginRequired);
    assert!(e.hint().unwrap().contains("start the login again"), "{e:?}");
    assert!(!e.to_string().contains(code.expose()));
}

#[tokio::test]
async fn a_code_exchanged_with_another_logins_verifier_is_refused() {
    let emulator = crate::support::emulator(Config::default()).await;
    let client = client(&emulator);
    let login = client.authorize(&AuthorizeOptions::default()).unwrap();
    let other = client.authorize(&AuthorizeOptions::default()).unwrap();
    let code = login
        .code_from_redirect(&follow_authorize(login.authorize_url()).await)
        .unwrap();
    let e = client.exchange_code(&other, &code).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LoginRequired);
    assert!(e.to_string().contains("code verifier"), "{e}");
    assert_eq!(emulator.stats().codes_exchanged, 0);
}

#[tokio::test]
async fn a_denied_consent_is_denied_by_policy() {
    let emulator = sfauth_emulator::spawn(Config {
        consent: Consent::Deny,
        ..Config::default()
    })
    .await
    .unwrap();
    let client = client(&emulator);
    let login = client.authorize(&AuthorizeOptions::default()).unwrap();
    let e = login
        .code_from_redirect(&follow_authorize(login.authorize_url()).await)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DeniedByPolicy);
}

#[tokio::test]
async fn loopback_listener_end_to_end() {
    let listener = RedirectListener::bind("http://127.0.0.1:0/OauthRedirect")
        .await
        .unwrap();
    let redirect_uri = format!("http://127.0.0.1:{}/OauthRedirect", listener.local_port());
    let emulator = sfauth_emulator::spawn(Config {
        redirect_uris: vec![redirect_uri.clone()],
        ..Config::default()
    })
    .await
    .unwrap();
    let client = client(&emulator);
    let login = client
        .authorize(&AuthorizeOptions::default().with_redirect_uri(redirect_uri))
        .unwrap();

    // The "browser": open the authorize URL, follow its redirect to the listener.
    let authorize_url = login.authorize_url().to_owned();
    let user = tokio::spawn(async move {
        let location = follow_authorize(&authorize_url).await;
        let page = browser().get(location).send().await.unwrap();
        (page.status(), page.text().await.unwrap())
    });
    let code = listener
        .wait(&login, Duration::from_secs(20))
        .await
        .unwrap();
    let (status, page) = user.await.unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("Login received"), "{page}");

    let token = client.exchange_code(&login, &code).await.unwrap().token;
    assert!(token.refresh_token().is_some());
}
