//! An emulated org on `127.0.0.1`, set up and started in one expression, and the questions
//! tests ask of a running one ([`OrgExt`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use sfauth_test_support::prelude::*;
//!
//! let plain = org();
//! let slow = OrgBuilder::new().latency(Duration::from_millis(200)).start();
//! let jwt = OrgBuilder::new().trusting_the_jwt_key().start();
//! ```
//!
//! Not a second emulator API: the builder only names the `Config` fields tests set, and
//! [`OrgBuilder::with`] reaches the rest.

use std::time::Duration;

use sfauth_emulator::{Config, Consent, Emulator, Fault, TlsLeaf};

use crate::fixtures;
use crate::token::text;

/// The user every test logs in as.
pub const USERNAME: &str = "ada@example.com";

/// An emulator with its defaults (rotation on, no latency), started.
pub fn org() -> Emulator {
    OrgBuilder::new().start()
}

/// The configuration of an org to start; [`OrgBuilder::start`] starts it.
#[derive(Debug, Default)]
#[must_use]
pub struct OrgBuilder {
    config: Config,
}

impl OrgBuilder {
    /// The emulator's defaults: rotation on, no latency, consent approved.
    pub fn new() -> OrgBuilder {
        OrgBuilder::default()
    }

    /// Each token-endpoint request takes this long to process.
    pub fn latency(mut self, latency: Duration) -> OrgBuilder {
        self.config.latency = latency;
        self
    }

    /// Refresh tokens do not rotate.
    pub fn without_rotation(mut self) -> OrgBuilder {
        self.config.rotation = false;
        self
    }

    /// The OAuth endpoints live under this Experience Cloud site prefix.
    pub fn site(mut self, prefix: &str) -> OrgBuilder {
        self.config.site = prefix.to_owned();
        self
    }

    /// The connected app holds the public key of [`fixtures::JWT_KEY`].
    pub fn trusting_the_jwt_key(mut self) -> OrgBuilder {
        self.config.jwt_certificate_pem = Some(fixtures::JWT_PUBLIC_KEY.to_owned());
        self
    }

    /// The client credentials flow is on, running as `user`.
    pub fn client_credentials_as(mut self, user: &str) -> OrgBuilder {
        self.config.client_credentials_user = Some(user.to_owned());
        self
    }

    /// The username-password flow is on, and `user` has `password`.
    pub fn password_flow_for(mut self, user: &str, password: &str) -> OrgBuilder {
        self.config.password_flow = true;
        self.config.users = vec![(user.to_owned(), password.to_owned())];
        self
    }

    /// The connected app's callback URL.
    pub fn callback(mut self, redirect_uri: &str) -> OrgBuilder {
        self.config.redirect_uris = vec![redirect_uri.to_owned()];
        self
    }

    /// What the user answers at the consent page (and to a device code).
    pub fn consent(mut self, consent: Consent) -> OrgBuilder {
        self.config.consent = consent;
        self
    }

    /// The device flow answers `slow_down` this many times, then approves after `polls`.
    pub fn device_polls(mut self, slow_down: u32, approve_after: u32) -> OrgBuilder {
        self.config.device_slow_down_polls = slow_down;
        self.config.device_approve_after_polls = approve_after;
        self
    }

    /// Serves https with a throw-away CA, presenting `leaf`.
    pub fn https(mut self, leaf: TlsLeaf) -> OrgBuilder {
        self.config.tls = Some(leaf);
        self
    }

    /// Any other setting.
    pub fn with(mut self, change: impl FnOnce(&mut Config)) -> OrgBuilder {
        change(&mut self.config);
        self
    }

    /// Starts the emulator on `127.0.0.1`, on its own runtime.
    pub fn start(self) -> Emulator {
        let https = self.config.tls.is_some();
        let org = Emulator::start(self.config).expect("the emulator starts on 127.0.0.1");
        assert_eq!(org.url().starts_with("https://"), https, "{}", org.url());
        org
    }
}

/// What tests ask of a running org, beyond the emulator's own side doors.
pub trait OrgExt {
    /// The connected app's consumer key.
    fn client_id(&self) -> &str;
    /// The connected app's consumer secret.
    fn client_secret(&self) -> &str;
    /// The refresh token of a fresh login of [`USERNAME`].
    fn fresh_refresh_token(&self) -> String;
    /// The access token of a fresh login of [`USERNAME`].
    fn fresh_access_token(&self) -> String;
    /// This org's app and `refresh_token` as an SFDX auth URL (`force://...`); the instance
    /// keeps its `http://` scheme (allowed for loopback only).
    fn sfdx_url(&self, refresh_token: &str) -> String;
    /// Queues the faults written as `SPEC`s (`Fault`'s text form), in order.
    fn inject_specs(&self, specs: &[&str]);
}

impl OrgExt for Emulator {
    fn client_id(&self) -> &str {
        &self.config().client_id
    }

    fn client_secret(&self) -> &str {
        &self.config().client_secret
    }

    fn fresh_refresh_token(&self) -> String {
        text(&self.issue_token(USERNAME), "refresh_token")
    }

    fn fresh_access_token(&self) -> String {
        text(&self.issue_token(USERNAME), "access_token")
    }

    fn sfdx_url(&self, refresh_token: &str) -> String {
        format!(
            "force://{}:{}:{refresh_token}@{}",
            self.client_id(),
            self.client_secret(),
            self.url()
        )
    }

    fn inject_specs(&self, specs: &[&str]) {
        for spec in specs {
            let fault: Fault = spec
                .parse()
                .unwrap_or_else(|e| panic!("`{spec}` is not a fault: {e}"));
            self.inject(fault);
        }
    }
}
