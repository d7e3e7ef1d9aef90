//! https: a throw-away CA generated at start-up, and a leaf certificate it signs.

use std::io;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Which leaf certificate an https emulator presents; see [`Config::tls`].
///
/// Every variant is signed by the emulator's own CA ([`Emulator::ca_pem`]). A client that
/// does not trust that CA fails the handshake whatever the variant: that is the
/// "unknown CA" case.
///
/// [`Config::tls`]: crate::Config::tls
/// [`Emulator::ca_pem`]: crate::Emulator::ca_pem
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsLeaf {
    /// Valid now, for `127.0.0.1` and `localhost`.
    #[default]
    Valid,
    /// For `127.0.0.1` and `localhost`, but expired (valid only during 2020).
    Expired,
    /// Valid now, but only for `wrong.example`: a host-name mismatch for any client of
    /// `127.0.0.1` or `localhost`.
    WrongHost,
}

/// The CA PEM to hand to clients, and the acceptor that serves the leaf.
pub(crate) struct Tls {
    pub(crate) ca_pem: String,
    pub(crate) acceptor: TlsAcceptor,
}

fn tls_error(error: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("cannot set up TLS: {error}"))
}

/// Generates a CA and a `leaf` signed by it.
pub(crate) fn generate(leaf: TlsLeaf) -> io::Result<Tls> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls_error)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "sfauth-emulator test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().map_err(tls_error)?;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(tls_error)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let names: Vec<String> = match leaf {
        TlsLeaf::Valid | TlsLeaf::Expired => vec!["127.0.0.1".into(), "localhost".into()],
        TlsLeaf::WrongHost => vec!["wrong.example".into()],
    };
    let mut leaf_params = CertificateParams::new(names).map_err(tls_error)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "sfauth-emulator");
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if leaf == TlsLeaf::Expired {
        leaf_params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        leaf_params.not_after = rcgen::date_time_ymd(2020, 12, 31);
    }
    let leaf_key = KeyPair::generate().map_err(tls_error)?;
    let leaf_cert = leaf_params
        .signed_by(&leaf_key, &issuer)
        .map_err(tls_error)?;

    let chain = vec![
        leaf_cert.der().clone(),
        CertificateDer::from(ca_cert.der().to_vec()),
    ];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    // The provider the rest of the workspace uses (reqwest's rustls), named explicitly so
    // no process-wide default has to be installed.
    let mut config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(tls_error)?;
    // The server speaks HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        ca_pem: ca_cert.pem(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}
