//! One module per subcommand: resolve the org, call the library, format.

pub mod agent;
pub mod aliases;
#[cfg(feature = "demo")]
mod demo;
pub mod exec;
pub mod furniture;
pub mod login;
pub mod open;
pub mod orgs;
pub mod proxy;
pub mod refresh;
pub mod request;
pub mod revoke;
pub mod settings;
pub mod store;
pub mod token;

use crate::cli::DemoArgs;

/// Runs `sfauth demo`; a build without the `demo` feature has no emulator to run it
/// against, and says how to get one that has.
pub async fn demo(args: &DemoArgs) -> anyhow::Result<()> {
    #[cfg(feature = "demo")]
    return demo::run(args).await;
    #[cfg(not(feature = "demo"))]
    {
        let _ = args;
        Err(sfauth::Error::new(
            sfauth::ErrorKind::Usage,
            "this sfauth was built without `demo` (its Salesforce emulator is left out of \
             ordinary builds)",
        )
        .with_hint(
            "from a clone of the repository, run cargo run -p sfauth-cli --features demo -- demo \
             (or install it with cargo install --path crates/sfauth-cli --features demo)",
        )
        .into())
    }
}
