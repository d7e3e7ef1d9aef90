//! One module per subcommand: resolve the org, call the library, format.

pub mod demo;
pub mod exec;
pub mod login;
pub mod orgs;
pub mod refresh;
pub mod request;
pub mod revoke;
pub mod token;
