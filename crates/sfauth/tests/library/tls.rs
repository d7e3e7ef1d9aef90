//! Certificate failures against a TLS server on 127.0.0.1 with certificates made in the
//! test: each is named, not retried, and not taken for a connection failure.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
use sfauth::{ConnectedApp, ErrorKind, FileStore, LoginUrl, Session};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

/// A test CA and a leaf certificate it signed.
struct Pki {
    ca_pem: String,
    leaf_der: Vec<u8>,
    leaf_key_der: Vec<u8>,
}

/// A leaf for `names` (DNS names, or 127.0.0.1), valid now unless `expired`.
fn pki(names: &[&str], expired: bool) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    for name in names {
        leaf_params
            .subject_alt_names
            .push(match name.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName((*name).try_into().unwrap()),
            });
    }
    if expired {
        leaf_params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        leaf_params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        leaf_der: leaf.der().to_vec(),
        leaf_key_der: leaf_key.serialize_der(),
    }
}

/// A TLS server presenting `pki`'s leaf: it answers each request with a token for itself,
/// and counts the connections it accepted. Abort the handle to stop it.
struct Server {
    url: String,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn tls_server(pki: &Pki) -> Server {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![pki_types::CertificateDer::from(pki.leaf_der.clone())],
            pki_types::PrivateKeyDer::Pkcs8(pki.leaf_key_der.clone().into()),
        )
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let (count, base) = (connections.clone(), url.clone());
    let task = tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            // A failed handshake is the point of most tests here: nothing more to do.
            if let Ok(stream) = acceptor.accept(socket).await {
                answer_with_a_token(stream, &base).await;
            }
        }
    });
    Server {
        url,
        connections,
        task,
    }
}

async fn answer_with_a_token(mut stream: impl AsyncRead + AsyncWrite + Unpin, base: &str) {
    if crate::support::read_request(&mut stream).await.is_none() {
        return;
    }
    let body = serde_json::json!({
        "access_token": "00Dtls!AQ.new", "instance_url": base, "token_type": "Bearer",
        "id": format!("{base}/id/00D/005"), "issued_at": "1738348388166",
    })
    .to_string();
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Refreshes a stale token at `server` with `ca_file` as the extra CA.
async fn refresh(server: &Server, ca_pem: Option<&str>) -> sfauth::Result<sfauth::Token> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.json");
    std::fs::write(
        &path,
        format!(
            r#"{{"access_token":"00Dold!AQ","refresh_token":"5Aep.rt","instance_url":"{}","issued_at":"1"}}"#,
            server.url
        ),
    )
    .unwrap();
    let ca_file = ca_pem.map(|pem| {
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, pem).unwrap();
        ca
    });
    let session = Session::builder(FileStore::new(&path), ConnectedApp::new("3MVG9.app"))
        .login_url(LoginUrl::parse(&server.url).unwrap())
        .http(match ca_file {
            Some(ca_file) => crate::support::fast_http().with_ca_file(ca_file),
            None => crate::support::fast_http(),
        })
        .build();
    session.refresh().await.map(|outcome| outcome.token)
}

#[tokio::test]
async fn certificate_from_the_configured_ca_is_trusted() {
    let pki = pki(&["127.0.0.1", "localhost"], false);
    let server = tls_server(&pki).await;
    let token = refresh(&server, Some(&pki.ca_pem)).await.unwrap();
    assert_eq!(token.access_token().expose(), "00Dtls!AQ.new");
}

#[tokio::test]
async fn certificate_from_an_unknown_ca_is_named_and_not_retried() {
    let pki = pki(&["127.0.0.1", "localhost"], false);
    let server = tls_server(&pki).await;
    let e = refresh(&server, None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(
        e.to_string()
            .contains("the server's certificate is not trusted (unknown issuer)"),
        "{e}"
    );
    assert!(e.hint().unwrap().contains("TLS proxy"), "{e:?}");
    assert!(!e.is_ambiguous());
    assert_eq!(server.connections.load(Ordering::SeqCst), 1, "retried");
}

#[tokio::test]
async fn expired_certificate_is_named_and_not_retried() {
    let pki = pki(&["127.0.0.1", "localhost"], true);
    let server = tls_server(&pki).await;
    let e = refresh(&server, Some(&pki.ca_pem)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(
        e.to_string()
            .contains("the server's certificate has expired"),
        "{e}"
    );
    assert_eq!(server.connections.load(Ordering::SeqCst), 1, "retried");
}

#[tokio::test]
async fn certificate_for_another_host_name_is_named_and_not_retried() {
    let pki = pki(&["other.example"], false);
    let server = tls_server(&pki).await;
    let e = refresh(&server, Some(&pki.ca_pem)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(
        e.to_string()
            .contains("the server's certificate is for another host name"),
        "{e}"
    );
    assert_eq!(server.connections.load(Ordering::SeqCst), 1, "retried");
}
