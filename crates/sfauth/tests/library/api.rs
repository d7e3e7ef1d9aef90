//! REST calls through [`Api`]: bearer, path resolution, refresh-once on an expired session.

use crate::support::Org;
use sfauth::{Api, ApiRequest};
use sfauth_emulator::Config;

const POLICY_401: &str = r#"[{"message":"This session is not valid for use with the REST API","errorCode":"INVALID_SESSION_ID"}]"#;

fn api(org: &Org) -> Api {
    Api::new(org.session(org.client()))
}

#[tokio::test]
async fn relative_path_resolves_against_instance_url() {
    let org = Org::start(Config::default()).await;
    let answer = api(&org)
        .send(&ApiRequest::get("/services/data/v62.0/limits"))
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.url,
        format!("{}/services/data/v62.0/limits", org.emulator.url())
    );
    assert!(!answer.refreshed);
    assert_eq!(org.emulator.stats().token_requests, 0);
}

#[tokio::test]
async fn absolute_url_is_used_as_given() {
    let org = Org::start(Config::default()).await;
    let url = format!("{}/services/data/", org.emulator.url());
    let answer = api(&org).send(&ApiRequest::get(url.clone())).await.unwrap();
    assert_eq!((answer.status, answer.url), (200, url));
}

#[tokio::test]
async fn expired_session_is_refreshed_once_and_retried() {
    let org = Org::start(Config::default()).await;
    let before = org.stored().access_token();
    org.emulator.expire_access_tokens();
    let answer = api(&org)
        .send(&ApiRequest::get("/services/data/"))
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert!(answer.refreshed);
    let stats = org.emulator.stats();
    assert_eq!(stats.refreshes_served, 1);
    assert_eq!(stats.rest_requests, 2);
    assert_ne!(
        org.stored().access_token(),
        before,
        "the refreshed token was not saved"
    );
}

#[tokio::test]
async fn other_401_is_returned_without_a_refresh() {
    let org = Org::start(Config::default()).await;
    org.emulator.inject_rest(401, POLICY_401);
    let answer = api(&org)
        .send(&ApiRequest::get("/services/data/"))
        .await
        .unwrap();
    assert_eq!(answer.status, 401);
    assert!(!answer.refreshed);
    assert_eq!(org.emulator.stats().token_requests, 0);
    assert_eq!(String::from_utf8(answer.body).unwrap(), POLICY_401);
}

#[tokio::test]
async fn a_second_expired_answer_after_the_refresh_is_returned_not_looped() {
    let org = Org::start(Config::default()).await;
    let expired = r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
    org.emulator.inject_rest(401, expired);
    org.emulator.inject_rest(401, expired);
    let answer = api(&org)
        .send(&ApiRequest::get("/services/data/"))
        .await
        .unwrap();
    assert_eq!(answer.status, 401);
    assert!(answer.refreshed);
    let stats = org.emulator.stats();
    assert_eq!(stats.refreshes_served, 1);
    assert_eq!(stats.rest_requests, 2);
}

#[tokio::test]
async fn post_sends_the_body_and_headers() {
    let org = Org::start(Config::default()).await;
    let request = ApiRequest {
        method: "post".into(),
        target: "/services/data/v62.0/sobjects/Account".into(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Some(br#"{"Name":"Acme"}"#.to_vec()),
    };
    let answer = api(&org).send(&request).await.unwrap();
    assert_eq!(answer.status, 201);
    let seen = org.emulator.last_rest_request().unwrap();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.body, br#"{"Name":"Acme"}"#);
}

#[tokio::test]
async fn error_status_comes_back_as_an_answer() {
    let org = Org::start(Config::default()).await;
    let answer = api(&org)
        .send(&ApiRequest::get("/services/data/v62.0/nope"))
        .await
        .unwrap();
    assert_eq!(answer.status, 404);
}

#[tokio::test]
async fn plain_http_to_a_remote_host_never_gets_the_token() {
    let org = Org::start(Config::default()).await;
    let e = api(&org)
        .send(&ApiRequest::get("http://example.com/x"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), sfauth::ErrorKind::Usage);
    assert_eq!(org.emulator.stats().rest_requests, 0);
}
