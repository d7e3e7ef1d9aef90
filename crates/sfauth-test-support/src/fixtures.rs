//! The test-only JWT key pair and an unrelated key, from this crate's `fixtures/`: as text
//! (compiled in) for code that signs or configures, as paths for `--key-file`.
//!
//! Not for anything real: the private keys are public (`fixtures/README.md`).

use std::path::PathBuf;

/// The private key (PKCS#8 PEM) that signs test assertions.
pub const JWT_KEY: &str = include_str!("../fixtures/jwt_test_key.pem");

/// The public key of [`JWT_KEY`] (SPKI PEM), for `Config::jwt_certificate_pem`.
pub const JWT_PUBLIC_KEY: &str = include_str!("../fixtures/jwt_test_key.pub.pem");

/// A self-signed certificate of [`JWT_KEY`], also accepted by `Config::jwt_certificate_pem`.
pub const JWT_CERT: &str = include_str!("../fixtures/jwt_test_cert.pem");

/// An RSA private key unrelated to [`JWT_KEY`]: its signatures do not verify.
pub const JWT_OTHER_KEY: &str = include_str!("../fixtures/jwt_test_other_key.pem");

/// The directory of the fixtures.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The path of a file in `fixtures/`, for flags that take a file.
pub fn path(name: &str) -> PathBuf {
    let path = dir().join(name);
    assert!(path.is_file(), "no fixture {}", path.display());
    path
}

/// The path of [`JWT_KEY`].
pub fn jwt_key_path() -> PathBuf {
    path("jwt_test_key.pem")
}

/// The path of [`JWT_OTHER_KEY`].
pub fn jwt_other_key_path() -> PathBuf {
    path("jwt_test_other_key.pem")
}
