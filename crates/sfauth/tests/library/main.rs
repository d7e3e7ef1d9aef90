//! The library's integration tests: one binary, one module per behaviour, over one support
//! layer (`support`). One module alone: `cargo test -p sfauth --test library rotation::`.

// REST calls through [`Api`]: bearer, path resolution, refresh-once on an expired session.
mod api;
// A refresh that was sent runs to its save, whatever happens to the caller's future.
mod cancellation;
// The examples run against the emulator and do what they say. `cargo test` builds them
mod examples;
// Every failure has its class, and leaves the stored token byte-for-byte as it was.
mod failures;
// The web-server login against the emulator: authorize URL, redirect, PKCE code exchange,
mod flows_code;
// Salesforce's device flow against the emulator: start, poll through `slow_down` and
mod flows_device;
// The grants that need no browser, against the emulator: JWT bearer, client credentials,
mod flows_grants;
// Sessions over tokens without a refresh token: renewed by their own grant, once, however
mod flows_renewal;
// Revocation and introspection against the emulator.
mod flows_revoke;
// `Forwarder`: request bodies bounded in size and in how long they may stall.
mod forward;
// The Salesforce CLI's encryption, round trips both ways with the real @salesforce/core.
mod sf_crypto;
// Answers no Salesforce server sends, from a raw server on 127.0.0.1: a gzip bomb, an
mod hostile_server;
// `Session::invalidate`: refresh after a 401, once per rejected token.
mod invalidate;
// Property tests: every parser of outside input, fed arbitrary and generated input.
mod properties;
// The refresh job against the emulator: rotation, merge, signature, the file on disk.
mod refresh;
// A refresh token that may have been spent is never sent again while rotation may be on.
mod rotation;
// 5xx, 429 and oversized answers from the token endpoint, injected in the emulator: retried
mod server_errors;
// One refresh in flight per token, whatever the number of callers (invariant 3).
mod single_flight;
// Before a refresh is sent, sfauth knows it can save the answer; a store that cannot be
mod storage_faults;
// The contract every TokenStore keeps (the file store runs it).
mod store_contract;
// The Postman environment store: the contract, write-back that keeps the rest, a replaced token.
mod store_postman;
// The OS keychain store against a real Secret Service: the contract.
#[cfg(feature = "keychain")]
mod store_keychain;
// The Salesforce CLI's auth file: the contract, round trips with @salesforce/core.
mod store_sf_cli;
// The stores many machines share, against real PostgreSQL and Redis servers: the contract,
// leases and dead holders, one refresh across "machines", interrupted refreshes, bad input.
#[cfg(all(feature = "postgres", feature = "redis"))]
mod store_fleet;
// The token file: crash leftovers, symlinks, and what counts as a token file.
mod store_file;
// Certificate failures against a TLS server on 127.0.0.1 with certificates made in the
mod tls;
// What goes over the wire for a refresh, against a raw server on 127.0.0.1 that answers
mod transport;
// Shared set-up: emulated orgs, token files, fast HTTP settings, a tmpfs.
mod support;
