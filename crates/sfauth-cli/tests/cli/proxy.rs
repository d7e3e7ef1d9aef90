//! `sfauth proxy`: requests on 127.0.0.1 forwarded to the org's instance with its token,
//! bodies streamed both ways, an expired session renewed once and the request resent when
//! its body was kept, and every request that names another host, or could come from a web
//! page, refused.

use sfauth_emulator::query_row;
use sfauth_test_support::agent::Agent;
use sfauth_test_support::command::COMMAND_TIMEOUT;
use sfauth_test_support::prelude::*;
use sfauth_test_support::proxy::Proxy;

/// A proxy for org `a`, not using any agent.
fn proxy_for(home: &Home, more: &[&str]) -> Proxy {
    let mut args = vec!["--org", "a", "--no-agent"];
    args.extend_from_slice(more);
    Proxy::start(home, &args)
}

/// Every byte of the first `rows` rows of the emulator's query results.
fn query_results(rows: u64) -> Vec<u8> {
    let mut csv = String::from("\"Id\",\"Name\"\n");
    for row in 0..rows {
        csv.push_str(&query_row(row));
    }
    csv.into_bytes()
}

#[test]
fn a_get_goes_to_the_instance_with_the_orgs_token() {
    let org = org();
    let (home, file) = Home::with_org("a", &org);
    let proxy = proxy_for(&home, &[]);
    let reply = proxy.request(
        "GET",
        "/services/data/v62.0/limits",
        &[("Authorization", "Bearer not-the-orgs-token")],
        None,
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["DailyApiRequests"]["Max"], 15000);
    let seen = org.last_rest_request().unwrap();
    assert_eq!(seen.path, "/services/data/v62.0/limits");
    assert!(
        seen.headers
            .iter()
            .any(|(n, v)| n == "host" && *v == org.addr().to_string()),
        "the instance's own Host: {:?}",
        seen.headers
    );
    assert_eq!(
        org.stats().token_requests,
        0,
        "a fresh token needs no refresh"
    );
    proxy
        .stop()
        .assert_ok()
        .never_shows(&file.field("access_token"))
        .never_shows(&file.field("refresh_token"));
}

#[test]
fn the_proxy_prints_its_url_on_stdout() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let proxy = proxy_for(&home, &[]);
    let addr = proxy.addr;
    proxy
        .stop()
        .assert_ok()
        .stdout_has(&format!("http://{addr}\n"));
}

#[test]
fn a_post_body_reaches_salesforce_byte_for_byte() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let proxy = proxy_for(&home, &[]);
    let body = br#"{"Name":"Acme \u00e9","Industry":"Energy"}"#;
    let reply = proxy.request(
        "POST",
        "/services/data/v62.0/sobjects/Account",
        &[
            ("Content-Type", "application/json"),
            ("Sforce-Call-Options", "client=proxy-test"),
        ],
        Some(body),
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.json()["success"], true);
    let seen = org.last_rest_request().unwrap();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.body, body);
    for (name, value) in [
        ("content-type", "application/json"),
        ("sforce-call-options", "client=proxy-test"),
    ] {
        assert!(
            seen.headers.iter().any(|(n, v)| n == name && v == value),
            "{name} forwarded: {:?}",
            seen.headers
        );
    }
    proxy.stop().assert_ok();
}

#[test]
fn a_large_answer_streams_through_whole() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let proxy = proxy_for(&home, &[]);
    let rows = 200_000;
    let reply = proxy.get(&format!(
        "/services/data/v62.0/jobs/query/750000000000001AAA/results?maxRecords={rows}"
    ));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("sforce-numberofrecords"), Some("200000"));
    assert_eq!(reply.header("content-type"), Some("text/csv"));
    let expected = query_results(rows);
    assert!(expected.len() > 7_000_000, "{} bytes", expected.len());
    assert_eq!(reply.body.len(), expected.len());
    assert!(reply.body == expected, "the streamed CSV differs");
    proxy.stop().assert_ok();
}

#[test]
fn an_expired_session_is_renewed_once_and_the_request_resent() {
    let org = org();
    let (home, file) = Home::with_org("a", &org);
    let issued = file.json()["access_token"].clone();
    let proxy = proxy_for(&home, &[]);
    org.expire_access_tokens();
    let body = br#"{"Name":"Resent"}"#;
    let reply = proxy.request(
        "POST",
        "/services/data/v62.0/sobjects/Account",
        &[("Content-Type", "application/json")],
        Some(body),
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.header("sfauth-not-resent"), None);
    let stats = org.stats();
    assert_eq!(stats.token_requests, 1, "one refresh");
    assert_eq!(stats.rest_unauthorized, 1, "one 401, then the resend");
    assert_eq!(org.last_rest_request().unwrap().body, body);
    assert_ne!(
        file.json()["access_token"],
        issued,
        "the renewed token is saved"
    );
    proxy.stop().assert_ok();
}

#[test]
fn a_burst_of_expired_requests_makes_one_refresh() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let proxy = proxy_for(&home, &[]);
    org.expire_access_tokens();
    let client = proxy.client();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(move || client.get("/services/data/v62.0/limits").status))
            .collect();
        for handle in handles {
            assert_eq!(handle.join().unwrap(), 200);
        }
    });
    let stats = org.stats();
    assert_eq!(stats.token_requests, 1, "one refresh for the burst");
    assert_eq!(stats.reuse_detected, 0);
    proxy.stop().assert_ok();
}

#[test]
fn a_streamed_body_after_an_expired_session_is_reported_not_resent() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let mut proxy = proxy_for(&home, &[]);
    org.expire_access_tokens();
    // Over the 1 MiB the proxy keeps for a resend, and sent chunked, as a stream.
    let csv = query_results(40_000);
    assert!(csv.len() > 1024 * 1024);
    let upload = "/services/data/v62.0/jobs/ingest/750000000000002AAA/batches";
    let reply = proxy.chunked("PUT", upload, "text/csv", &csv);
    assert_eq!(reply.status, 401, "{}", reply.text());
    assert!(
        reply.text().contains("Session expired or invalid"),
        "Salesforce's own 401: {}",
        reply.text()
    );
    assert!(
        reply.header("sfauth-not-resent").is_some(),
        "{:?}",
        reply.headers
    );
    proxy
        .running
        .line_with("the request was not resent", COMMAND_TIMEOUT);
    let stats = org.stats();
    assert_eq!(stats.rest_unauthorized, 1);
    assert_eq!(stats.token_requests, 1, "renewed for the next request");
    // Sent again, it goes through on the renewed token, whole.
    let again = proxy.chunked("PUT", upload, "text/csv", &csv);
    assert_eq!(again.status, 201, "{}", again.text());
    assert_eq!(org.last_rest_request().unwrap().body, csv);
    assert_eq!(org.stats().token_requests, 1);
    proxy.stop().assert_ok();
}

#[test]
fn a_large_body_with_a_length_streams_through() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let proxy = proxy_for(&home, &[]);
    let csv = query_results(40_000);
    let reply = proxy.request(
        "PUT",
        "/services/data/v62.0/jobs/ingest/750000000000003AAA/batches",
        &[("Content-Type", "text/csv")],
        Some(&csv),
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    let seen = org.last_rest_request().unwrap();
    assert_eq!(seen.body, csv);
    assert!(
        seen.headers
            .iter()
            .any(|(n, v)| n == "content-length" && *v == csv.len().to_string()),
        "the upload keeps its length: {:?}",
        seen.headers
    );
    proxy.stop().assert_ok();
}

#[test]
fn a_body_declared_over_the_limit_is_refused_before_it_is_read() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let adopted = org.stats().rest_requests; // `orgs add` asked userinfo
    let proxy = proxy_for(&home, &[]);
    // 300 MB announced, nothing sent: the answer comes without waiting for the body.
    let raw = format!(
        "PUT /services/data/v62.0/jobs/ingest/750000000000004AAA/batches HTTP/1.1\r\n\
         Host: {}\r\nContent-Type: text/csv\r\nContent-Length: 300000000\r\n\
         Connection: close\r\n\r\n",
        proxy.addr
    );
    let reply = proxy.send(raw.as_bytes());
    assert_eq!(reply.status, 413, "{}", reply.text());
    assert_eq!(reply.error_code(), "SFAUTH_PROXY_BAD_REQUEST");
    assert!(reply.text().contains("256 MiB"), "{}", reply.text());
    assert_eq!(org.stats().rest_requests, adopted, "nothing forwarded");
    proxy.stop().assert_ok();
}

#[test]
fn a_request_head_that_never_ends_is_cut_off_and_holds_up_nobody() {
    use std::io::{Read as _, Write as _};
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let proxy = proxy_for(&home, &[]);
    let mut slow = proxy.connect();
    slow.write_all(b"GET /services/data/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .unwrap();
    let started = std::time::Instant::now();
    assert_eq!(proxy.get("/services/data/").status, 200, "served meanwhile");
    // The proxy closes the connection once the head has taken 10 s (a 408 or nothing).
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(
        waited < std::time::Duration::from_secs(30),
        "the slow head held its connection {waited:?}"
    );
    assert!(
        rest.is_empty() || rest.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&rest)
    );
    proxy.stop().assert_ok();
}

#[test]
fn an_absolute_uri_to_another_host_is_refused() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let adopted = org.stats().rest_requests; // `orgs add` asked userinfo
    let silent = sfauth_test_support::net::Silent::bind();
    let proxy = proxy_for(&home, &[]);
    let raw = format!(
        "GET {}/services/data/ HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        silent.url(),
        silent.host()
    );
    let reply = proxy.send(raw.as_bytes());
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert_eq!(reply.error_code(), "SFAUTH_PROXY_HOST_REFUSED");
    let raw = "GET http://evil.example/services/data/ HTTP/1.1\r\nHost: evil.example\r\n\
               Connection: close\r\n\r\n";
    assert_eq!(proxy.send(raw.as_bytes()).status, 403);
    assert!(!silent.was_contacted());
    assert_eq!(org.stats().rest_requests, adopted, "nothing forwarded");
    proxy.stop().assert_ok();
}

#[test]
fn an_absolute_uri_to_the_orgs_own_instance_is_forwarded() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let proxy = proxy_for(&home, &[]);
    let raw = format!(
        "GET {}/services/data/v62.0/limits HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        org.url(),
        org.addr()
    );
    let reply = proxy.send(raw.as_bytes());
    assert_eq!(reply.status, 200, "{}", reply.text());
    proxy.stop().assert_ok();
}

#[test]
fn an_absolute_uri_naming_the_proxy_itself_is_forwarded() {
    // What a client configured with HTTP_PROXY=http://127.0.0.1:PORT sends.
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let proxy = proxy_for(&home, &[]);
    let raw = format!(
        "GET http://{0}/services/data/v62.0/limits HTTP/1.1\r\nHost: {0}\r\nConnection: close\r\n\r\n",
        proxy.addr
    );
    let reply = proxy.send(raw.as_bytes());
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        org.last_rest_request().unwrap().path,
        "/services/data/v62.0/limits"
    );
    proxy.stop().assert_ok();
}

#[test]
fn connect_is_refused() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let silent = sfauth_test_support::net::Silent::bind();
    let proxy = proxy_for(&home, &[]);
    let raw = format!("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\n", silent.host());
    let reply = proxy.send(raw.as_bytes());
    assert_eq!(reply.status, 405, "{}", reply.text());
    assert_eq!(reply.error_code(), "SFAUTH_PROXY_CONNECT_REFUSED");
    assert!(!silent.was_contacted());
    proxy.stop().assert_ok();
}

#[test]
fn a_web_pages_host_or_origin_is_refused() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let adopted = org.stats().rest_requests; // `orgs add` asked userinfo
    let proxy = proxy_for(&home, &[]);
    // DNS rebinding: a page's own name that resolves to 127.0.0.1.
    let raw = "GET /services/data/ HTTP/1.1\r\nHost: attacker.example:8701\r\n\
               Connection: close\r\n\r\n";
    let reply = proxy.send(raw.as_bytes());
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert_eq!(reply.error_code(), "SFAUTH_PROXY_HOST_REFUSED");
    let reply = proxy.request(
        "POST",
        "/services/data/v62.0/sobjects/Account",
        &[
            ("Origin", "https://attacker.example"),
            ("Content-Type", "text/plain"),
        ],
        Some(b"{}"),
    );
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert_eq!(reply.error_code(), "SFAUTH_PROXY_ORIGIN_REFUSED");
    assert_eq!(org.stats().rest_requests, adopted, "nothing forwarded");
    proxy.stop().assert_ok();
}

#[test]
fn a_required_header_keeps_out_requests_without_it_and_stays_local() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let adopted = org.stats().rest_requests; // `orgs add` asked userinfo
    let key = home.file("proxy-key", "k3y-0f-the-proxy\n");
    let spec = format!("X-Proxy-Key:@{}", key.display());
    let proxy = proxy_for(&home, &["--require-header", &spec]);
    let refused = proxy.get("/services/data/v62.0/limits");
    assert_eq!(refused.status, 403);
    assert_eq!(refused.error_code(), "SFAUTH_PROXY_HEADER_REQUIRED");
    let wrong = proxy.request(
        "GET",
        "/services/data/v62.0/limits",
        &[("X-Proxy-Key", "guess")],
        None,
    );
    assert_eq!(wrong.status, 403);
    assert_eq!(org.stats().rest_requests, adopted, "nothing forwarded");
    let admitted = proxy.request(
        "GET",
        "/services/data/v62.0/limits",
        &[("X-Proxy-Key", "k3y-0f-the-proxy")],
        None,
    );
    assert_eq!(admitted.status, 200, "{}", admitted.text());
    let seen = org.last_rest_request().unwrap();
    assert!(
        !seen.headers.iter().any(|(n, _)| n == "x-proxy-key"),
        "the proxy's key is not sent on: {:?}",
        seen.headers
    );
    proxy.stop().assert_ok().never_shows("k3y-0f-the-proxy");
}

#[test]
fn a_required_header_value_on_the_command_line_works_and_is_warned_about() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let proxy = proxy_for(&home, &["--require-header", "X-Proxy-Key: in-argv"]);
    assert_eq!(proxy.get("/services/data/").status, 403);
    let admitted = proxy.request(
        "GET",
        "/services/data/",
        &[("X-Proxy-Key", "in-argv")],
        None,
    );
    assert_eq!(admitted.status, 200);
    proxy.stop().assert_ok().stderr_has("shows in `ps`");
}

#[test]
fn a_required_header_can_come_from_the_environment() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let proxy = Proxy::start_command(
        home.sfauth()
            .args(["proxy", "--org", "a", "--no-agent"])
            .env("SFAUTH_PROXY_REQUIRE_HEADER", "X-Proxy-Key: from-env"),
    );
    assert_eq!(proxy.get("/services/data/").status, 403);
    let admitted = proxy.request(
        "GET",
        "/services/data/",
        &[("X-Proxy-Key", "from-env")],
        None,
    );
    assert_eq!(admitted.status, 200);
    proxy.stop().assert_ok().stderr_lacks("shows in `ps`");
}

#[test]
fn the_api_instance_prefix_goes_to_the_tokens_api_instance_url() {
    let org = org();
    let home = Home::new();
    let mut token = org.issue_token(USERNAME);
    // The same emulator under another name: a host of its own for the token to name.
    let api_host = format!("localhost:{}", org.addr().port());
    token["api_instance_url"] = format!("http://{api_host}").into();
    let file = TokenFile::new(&token);
    home.adopt("a", &org, &file.path);
    let proxy = proxy_for(&home, &[]);
    let reply = proxy.get("/__api_instance/services/data/v62.0/limits");
    assert_eq!(reply.status, 200, "{}", reply.text());
    let seen = org.last_rest_request().unwrap();
    assert_eq!(seen.path, "/services/data/v62.0/limits");
    assert!(
        seen.headers
            .iter()
            .any(|(n, v)| n == "host" && *v == api_host),
        "{:?}",
        seen.headers
    );
    proxy.stop().assert_ok();
}

#[test]
fn the_api_instance_prefix_without_an_api_instance_url_is_an_error_that_says_so() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let proxy = proxy_for(&home, &[]);
    let reply = proxy.get("/__api_instance/services/data/");
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert!(
        reply.text().contains("api_instance_url"),
        "{}",
        reply.text()
    );
    proxy.stop().assert_ok();
}

#[test]
fn the_proxy_listens_on_loopback_only() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let run = home
        .sfauth()
        .args(["proxy", "--org", "a", "--listen", "0.0.0.0:0"])
        .exits(exit::USAGE);
    assert!(run.error().contains("loopback"), "{run}");
    assert!(run.hint().is_some_and(|h| h.contains("ssh -L")), "{run}");
}

#[test]
fn a_proxy_without_a_usable_token_does_not_start() {
    let org = org();
    let (home, file) = Home::with_org("a", &org);
    org.revoke_refresh_token(&file.field("refresh_token"));
    file.make_stale();
    let run = home
        .sfauth()
        .args(["proxy", "--org", "a", "--listen", "127.0.0.1:0"])
        .exits(exit::LOGIN_REQUIRED);
    run.stdout_is_empty();
}

#[test]
fn the_proxy_takes_its_tokens_from_a_running_agent() {
    let org = org();
    let (home, file) = Home::with_org("a", &org);
    let agent = Agent::start(&home, &[]);
    // Only the agent, which read the token at start, can serve now.
    file.write_raw(b"{ not a token");
    let proxy = Proxy::start(&home, &["--org", "a"]);
    let reply = proxy.get("/services/data/v62.0/limits");
    assert_eq!(reply.status, 200, "{}", reply.text());
    proxy.stop().assert_ok();
    agent.stop().assert_ok();
}
