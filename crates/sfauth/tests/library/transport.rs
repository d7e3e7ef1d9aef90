//! What goes over the wire for a refresh, against a raw server on 127.0.0.1 that answers
//! exactly as Salesforce's samples show: gzip-encoded and chunked.

use std::io::Write;

use sfauth::{ConnectedApp, FileStore, LoginUrl, Session};
use tokio::io::AsyncWriteExt;

/// Serves one request with `body` gzipped in two chunks; returns the raw request text.
async fn serve_once(listener: tokio::net::TcpListener, body: String) -> String {
    let (mut socket, _) = listener.accept().await.unwrap();
    let request = crate::support::read_request(&mut socket)
        .await
        .expect("a whole request");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let (a, b) = gz.split_at(gz.len() / 2);
    let mut answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for chunk in [a, b] {
        answer.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        answer.extend_from_slice(chunk);
        answer.extend_from_slice(b"\r\n");
    }
    answer.extend_from_slice(b"0\r\n\r\n");
    socket.write_all(&answer).await.unwrap();
    socket.shutdown().await.unwrap();
    request
}

#[tokio::test]
async fn gzipped_chunked_answer_is_decoded_and_the_form_is_salesforces() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answer = serde_json::json!({
        "access_token": "00Dgz!AQ.decoded", "signature": "x", "scope": "api",
        "instance_url": url, "id": format!("{url}/id/00D/005"), "token_type": "Bearer",
        "issued_at": "1738348388166",
    })
    .to_string();
    let server = tokio::spawn(serve_once(listener, answer));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.json");
    std::fs::write(
        &path,
        format!(r#"{{"access_token":"old","refresh_token":"5Aep.rt","instance_url":"{url}"}}"#),
    )
    .unwrap();
    let session = Session::builder(FileStore::new(&path), ConnectedApp::new("3MVG9.app"))
        .login_url(LoginUrl::parse(&url).unwrap())
        .build();
    let outcome = session.refresh().await.unwrap();
    assert_eq!(outcome.token.access_token().expose(), "00Dgz!AQ.decoded");

    let request = server.await.unwrap().to_ascii_lowercase();
    assert!(
        request.starts_with("post /services/oauth2/token http/1.1"),
        "{request}"
    );
    assert!(request.contains("accept: application/json"), "{request}");
    assert!(request.contains("accept-encoding: gzip"), "{request}");
    assert!(
        request.contains("content-type: application/x-www-form-urlencoded"),
        "{request}"
    );
    assert!(request.contains("grant_type=refresh_token"), "{request}");
    assert!(request.contains("client_id=3mvg9.app"), "{request}");
    assert!(request.contains("refresh_token=5aep.rt"), "{request}");
    assert!(
        !request.contains("client_secret"),
        "a secret was sent although none is configured"
    );
}
