//! The `sfauth` binary end to end against the emulator on 127.0.0.1: one test binary, one
//! module per area, all on `sfauth-test-support` (like cargo's `tests/testsuite`).
//!
//! One area alone: `cargo test -p sfauth-cli --test cli AREA::`; the crash loop and the
//! fault matrix print their figures with `-- --nocapture`, for example
//! `cargo test -p sfauth-cli --test cli crash_loop -- --nocapture`.
//!
//! The tests share this process: a test sets environment variables on the runs it starts,
//! never on itself, and stops every process it starts.

mod agent; // `sfauth agent`: serving on its socket, refreshing ahead of expiry, the token commands using it
mod concurrency; // many processes on one token file: one refresh, no parallel or replayed token
mod crash_loop; // kill -9 at random instants: never a torn file, every lost family unavoidable
mod demo; // `sfauth demo` passes all its checks; without its feature, says how to get it
mod errors; // every failure class: exit code, exact `error:` and `hint:`, nothing changed or leaked
mod fault_matrix; // every token-endpoint fault against `refresh` and a stale `token`
mod faults; // signals, closed pipes, the org's own origins, revoked orgs, locks, bounded waits
mod fleet; // PostgreSQL and Redis stores: 64 processes in 8 homes, a killed holder, bad input
mod habits; // the habits of sf, gh and gcloud users: -o, SF_TARGET_ORG, SFDX_AUTH_URL, --format env, completions, man, --version
mod keychain; // `--store keychain` against a real Secret Service, and login's default store
mod login_grants; // logins without a redirect: JWT bearer, client credentials, password, device
mod login_import; // logins that import a credential: SFDX auth URL, access token
mod login_web; // `login web` with a scripted browser: loopback listener and pasted URL
mod logout; // `revoke`, `logout` and `export`
mod orgs; // named orgs: adopting, `--org`, the default org, precedence, `orgs`, `status`
mod postman; // `--store postman:FILE`: the token commands on an exported Postman environment
mod proxy; // `sfauth proxy`: forwarding to the org with the token added, renewal on a 401, what it refuses
mod refresh; // `refresh`: the seed file written back, rotation, `--json`, settings, sites
mod serve; // serving tokens to scripts: `header`, `exec`, `request`, expiry sources
mod sf_cli; // the Salesforce CLI's orgs: `orgs --sf`, `--store sf:ALIAS`, `login sf`, with @salesforce/core
mod tls; // `refresh` over https with the emulator's CA, and each refused certificate
mod token; // `token`: the fresh path sends nothing, a stale token is refreshed once, formats
