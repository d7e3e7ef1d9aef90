//! Where a value of the resolved org came from (a flag, a variable, the stored org, the
//! default), and the wording that adds it to an error about the value. Not here: which
//! source wins (`org/mod.rs`).

use std::fmt;

use sfauth::{Error, Result};

/// Where a value came from, for the messages that report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A flag (or argument) on this command line.
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    /// The stored org's record in the config.
    Config,
    /// The store itself, named: a Postman environment or the Salesforce CLI's auth file
    /// names its app (`clientId`, `url`, …).
    Store(&'static str),
    /// sfauth's default, or what it derived (the default org, an org's own token file).
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(name) | Source::Env(name) => f.write_str(name),
            Source::Config => f.write_str("the org's config"),
            Source::Store(store) => f.write_str(store),
            Source::Default => f.write_str("the default"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub source: Source,
}

impl<T> Sourced<T> {
    pub(super) fn new(value: T, source: Source) -> Sourced<T> {
        Sourced { value, source }
    }

    /// Turns the value into another; an error about it says where the value came from.
    pub(super) fn parse<U>(self, parse: impl FnOnce(&T) -> Result<U>) -> Result<Sourced<U>> {
        match parse(&self.value) {
            Ok(value) => Ok(Sourced::new(value, self.source)),
            Err(e) => Err(from_source(e, &self.source)),
        }
    }
}

/// The flag's value, else the environment variable's (non-empty).
pub(super) fn flag_or_env<T: From<String> + Clone>(
    flag: Option<&T>,
    name: &'static str,
    env: &'static str,
) -> Option<Sourced<T>> {
    match flag {
        Some(value) => Some(Sourced::new(value.clone(), Source::Flag(name))),
        None => env_value(env).map(|value| Sourced::new(T::from(value), Source::Env(env))),
    }
}

/// A non-empty environment value.
pub(crate) fn env_value(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|value| !value.is_empty())
}

/// `error` about a value, saying where the value came from unless the user just typed it
/// (or sfauth chose it).
pub(super) fn from_source(error: Error, source: &Source) -> Error {
    if matches!(source, Source::Flag(_) | Source::Default) {
        return error;
    }
    let mut out = Error::new(error.kind(), format!("{error} (from {source})"));
    if let Some(hint) = error.hint() {
        out = out.with_hint(hint.to_owned());
    }
    if let Some(remedy) = error.remedy() {
        out = out.with_remedy(remedy);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sfauth::ErrorKind;

    #[test]
    fn an_error_about_a_value_from_the_environment_names_the_variable_and_keeps_the_hint() {
        let e = Error::new(ErrorKind::Usage, "no org named `qa`").with_hint("known orgs: prod");
        let shown = from_source(e, &Source::Env("SFAUTH_ORG"));
        assert_eq!(shown.to_string(), "no org named `qa` (from SFAUTH_ORG)");
        assert_eq!(shown.hint(), Some("known orgs: prod"));
        assert_eq!(shown.kind(), ErrorKind::Usage);
    }

    #[test]
    fn an_error_about_a_stored_value_says_it_came_from_the_config() {
        let e = Error::new(ErrorKind::Usage, "`ftp://x` is not a login URL");
        let shown = from_source(e, &Source::Config);
        assert_eq!(
            shown.to_string(),
            "`ftp://x` is not a login URL (from the org's config)"
        );
    }

    #[test]
    fn an_error_about_a_flag_value_is_left_as_it_is() {
        let e = Error::new(ErrorKind::Usage, "no org named `qa`");
        let shown = from_source(e, &Source::Flag("--org"));
        assert_eq!(shown.to_string(), "no org named `qa`");
    }
}
