//! The emulator's integration tests, in one binary that links the crate once.
//!
//! Each module drives the emulator from outside, over HTTP and its public API, as a client
//! would.

mod support; // the set-up every module shares: emulators, clients, requests, answers

#[cfg(unix)]
mod binary; // the `sfauth-emulator` binary: its URL line, token file, flags and signals
mod faults; // injected faults: raw answers, OAuth errors, dropped connections, delays
mod flows; // the logins besides refresh, introspection and revocation
mod resources; // around the grants: REST, UserInfo, site prefix, gzip, counters, life cycle
mod tls; // https: the emulator's own CA, and the broken certificates a client must refuse
mod token_endpoint; // the refresh grant: rotation, reuse, parallel refusal, client checks
