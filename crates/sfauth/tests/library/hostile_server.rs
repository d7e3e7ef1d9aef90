//! Answers no Salesforce server sends, from a raw server on 127.0.0.1: a gzip bomb, an
//! oversized body, a redirect to another origin. sfauth stops reading at its caps, saves
//! nothing, and never sends the token across origins.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sfauth::{Api, ApiRequest, ConnectedApp, ErrorKind, FileStore, HttpConfig, LoginUrl, Session};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// Accepts one connection, reads one request, answers `head` + `body` and closes. Returns the
/// request's head. Write errors are ignored: the client may hang up once it has read enough.
async fn serve_once(listener: TcpListener, head: String, body: Vec<u8>) -> String {
    let (socket, _) = listener.accept().await.unwrap();
    serve_socket(socket, head, body).await
}

/// Reads one request from `socket`, answers `head` + `body` and closes; returns the head.
async fn serve_socket(mut socket: tokio::net::TcpStream, head: String, body: Vec<u8>) -> String {
    let request = crate::support::read_request(&mut socket)
        .await
        .expect("a whole request");
    let head_text = request[..request.find("\r\n\r\n").unwrap_or(request.len())].to_owned();
    let _ = socket.write_all(head.as_bytes()).await;
    let _ = socket.write_all(&body).await;
    let _ = socket.shutdown().await;
    head_text
}

async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// A stale token file whose refresh goes to `url`; returns the guard, path and bytes.
fn stale_token_at(url: &str) -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.json");
    let text = format!(
        r#"{{"access_token":"00Dold!AQ","refresh_token":"5Aep.rt","instance_url":"{url}","issued_at":"1"}}"#
    );
    std::fs::write(&path, &text).unwrap();
    (dir, path, text.into_bytes())
}

fn session_at(url: &str, path: &std::path::Path) -> Session {
    Session::builder(FileStore::new(path), ConnectedApp::new("3MVG9.app"))
        .login_url(LoginUrl::parse(url).unwrap())
        .http(crate::support::fast_http())
        .build()
}

/// About 100 KB of gzip that inflates to 100 MiB of zeros.
fn gzip_bomb() -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..100 {
        gz.write_all(&zeros).unwrap();
    }
    gz.finish().unwrap()
}

#[tokio::test]
async fn token_answer_that_inflates_to_100_mib_is_a_protocol_error_and_nothing_is_saved() {
    let (listener, url) = listener().await;
    let bomb = gzip_bomb();
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n\
         Content-Length: {}\r\n\r\n",
        bomb.len()
    );
    let server = tokio::spawn(serve_once(listener, head, bomb));
    let (_dir, path, before) = stale_token_at(&url);
    let e = session_at(&url, &path).refresh().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e:?}");
    assert!(e.to_string().contains("over 256 KiB"), "{e}");
    assert!(e.hint().unwrap().contains("nothing was saved"), "{e:?}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    server.await.unwrap();
}

#[tokio::test]
async fn uncompressed_1_mb_token_answer_is_a_protocol_error() {
    let (listener, url) = listener().await;
    let body = vec![b' '; 1_000_000];
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let server = tokio::spawn(serve_once(listener, head, body));
    let (_dir, path, before) = stale_token_at(&url);
    let e = session_at(&url, &path).refresh().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e:?}");
    assert!(e.to_string().contains("over 256 KiB"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    server.await.unwrap();
}

/// An [`Api`] over a fresh token whose instance is `url`, with these HTTP settings.
fn api_at(url: &str, http: HttpConfig) -> (tempfile::TempDir, Api) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.json");
    std::fs::write(
        &path,
        format!(
            r#"{{"access_token":"00Dfresh!AQ.bearer","refresh_token":"5Aep.rt","instance_url":"{url}","issued_at":"{}"}}"#,
            now_ms()
        ),
    )
    .unwrap();
    let session = Session::builder(FileStore::new(&path), ConnectedApp::new("3MVG9.app"))
        .http(http.clone())
        .build();
    (dir, Api::new(session).with_http(http))
}

#[tokio::test]
async fn api_answer_over_max_api_body_is_a_protocol_error() {
    let (listener, url) = listener().await;
    let body = vec![b'x'; 200 * 1024];
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let server = tokio::spawn(serve_once(listener, head, body));
    let (_dir, api) = api_at(
        &url,
        crate::support::fast_http().with_max_api_body(64 * 1024),
    );
    let e = api
        .send(&ApiRequest::get("/services/data/"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e:?}");
    assert!(e.to_string().contains("over 64 KiB"), "{e}");
    server.await.unwrap();
}

#[tokio::test]
async fn api_answer_under_max_api_body_is_read_whole() {
    let (listener, url) = listener().await;
    let body = vec![b'x'; 200 * 1024];
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let server = tokio::spawn(serve_once(listener, head, body));
    let (_dir, api) = api_at(&url, crate::support::fast_http());
    let answer = api.send(&ApiRequest::get("/services/data/")).await.unwrap();
    assert_eq!(answer.body.len(), 200 * 1024);
    server.await.unwrap();
}

#[tokio::test]
async fn redirect_to_another_origin_is_not_followed_with_the_token() {
    let (elsewhere, elsewhere_url) = listener().await;
    let (listener, url) = listener().await;
    let head = format!(
        "HTTP/1.1 302 Found\r\nLocation: {elsewhere_url}/steal\r\nContent-Length: 0\r\n\r\n"
    );
    let server = tokio::spawn(serve_once(listener, head, Vec::new()));
    let (_dir, api) = api_at(&url, crate::support::fast_http());
    let answer = api.send(&ApiRequest::get("/services/data/")).await.unwrap();
    assert_eq!(answer.status, 302);
    let first = server.await.unwrap().to_ascii_lowercase();
    assert!(
        first.contains("authorization: bearer 00dfresh!aq.bearer"),
        "{first}"
    );
    // Nothing connected to the other origin: the accept finds no one waiting.
    let visited = tokio::time::timeout(Duration::from_millis(200), elsewhere.accept()).await;
    assert!(
        visited.is_err(),
        "the redirect was followed to {elsewhere_url}"
    );
}

#[tokio::test]
async fn retry_after_longer_than_max_delay_waits_max_delay_then_retries() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let token = serde_json::json!({
        "access_token": "00Dnew!AQ", "instance_url": url, "issued_at": now_ms().to_string(),
    })
    .to_string();
    let busy = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 3600\r\nContent-Length: 0\r\n\
                Connection: close\r\n\r\n"
        .to_owned();
    let ok = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        token.len()
    );
    let server = tokio::spawn(async move {
        // Two connections on one listener: the 503, then the token.
        for (head, body) in [(busy, Vec::new()), (ok, token.into_bytes())] {
            let socket = listener.accept().await.unwrap().0;
            serve_socket(socket, head, body).await;
        }
    });
    let (_dir, path, _) = stale_token_at(&url);
    // max_delay is 50 ms here: an uncapped Retry-After would wait an hour.
    let outcome = tokio::time::timeout(Duration::from_secs(60), session_at(&url, &path).refresh())
        .await
        .expect("the Retry-After of an hour was not capped at max_delay")
        .unwrap();
    assert_eq!(outcome.token.access_token().expose(), "00Dnew!AQ");
    server.await.unwrap();
}
