//! The one path by which a login reaches disk, whatever its flow: take the token file's lock
//! and prove the save can succeed, ask Salesforce for the token, write it (as a refresh
//! does), then the org's config entry; if the config cannot be written, put the previous
//! token file back. Then revoke the refresh token the login replaced.
//!
//! Taking the lock first means a lock that cannot be had (another sfauth refreshing the
//! alias's token) or a directory that cannot be written stops the login before anything is
//! asked of Salesforce, so nothing is obtained only to be lost.

use std::path::Path;

use sfauth::files::write_private_file;
use sfauth::{Error, ErrorKind, FileStore, LoginUrl, RefreshToken, Token, TokenStore};
use zeroize::Zeroizing;

use crate::cli::AliasArgs;
use crate::config::{Alias, Config, Home, Org};
use crate::org::ResolvedOrg;
use crate::out::errln;
use crate::signals::Hold;

/// What a login stores besides its token, and how.
pub struct NewOrg {
    /// The org's config entry.
    pub entry: Org,
    /// Make it the default org.
    pub set_default: bool,
    /// A refresh token the login spends (an SFDX auth URL's): signals wait from the request
    /// on, since the answer is then the only valid token, and it is not revoked as replaced.
    pub spends: Option<RefreshToken>,
    /// The token stays where it is (an adopted token file): nothing is locked or written but
    /// the config.
    pub in_place: bool,
    /// Say what was stored as JSON on stdout.
    pub json: bool,
}

impl NewOrg {
    /// A login that writes the token `entry` names to its own file, as `args` say (the
    /// default org, JSON).
    pub fn new(entry: Org, args: &AliasArgs) -> NewOrg {
        NewOrg {
            entry,
            set_default: args.set_default,
            spends: None,
            in_place: false,
            json: args.json,
        }
    }
}

/// Stores the org whose token `request` obtains (see the module docs). `request` runs under
/// the token file's lock; from a token in hand until the org is stored, a signal waits.
pub async fn log_in<T: Into<Token>>(
    org: &ResolvedOrg,
    new: NewOrg,
    request: impl AsyncFnOnce() -> sfauth::Result<T>,
) -> anyhow::Result<()> {
    let home = Home::locate()?;
    let alias = org
        .alias()
        .cloned()
        .ok_or_else(|| Error::new(ErrorKind::Internal, "a login needs an alias"))?;
    // Another alias's token in the place this login would write (an alias renamed away from
    // it) is not overwritten, nor revoked as replaced.
    if !new.in_place {
        let place = new.entry.place(&alias);
        if let Ok(config) = Config::load(&home)
            && let Some((other, _)) = config
                .orgs
                .iter()
                .find(|(other, org)| **other != alias && org.place(other) == place)
        {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "the place this login would store its token in holds org `{other}`'s token"
                ),
            )
            .with_hint(format!(
                "log in under another alias, or give `{other}` its own place first (sfauth \
                 logout --org {other}, or log in to it again)"
            ))
            .into());
        }
    }
    let store = org.store();
    let lock = if new.in_place {
        None
    } else {
        let lock = store.lock().await?;
        store.prepare(&lock).await?;
        Some(lock)
    };
    let spending = new.spends.is_some().then(Hold::begin);
    let token: Token = request().await?.into();
    let _hold = spending.unwrap_or_else(Hold::begin);

    let mut entry = new.entry;
    if entry.username.is_none() {
        entry.username = username_of(&token, org).await;
    }
    let previous = Config::load(&home)
        .ok()
        .and_then(|config| config.orgs.get(&alias).cloned());
    let shared = org.shared_store().is_some();
    let before = match &lock {
        Some(lock) => {
            let before = if shared {
                // A key that holds no token yet has nothing to put back.
                store
                    .load()
                    .await
                    .ok()
                    .map(|t| Zeroizing::new(t.to_json_pretty().as_bytes().to_vec()))
            } else {
                read_if_present(&entry.token_file)?
            };
            store.save(lock, &token).await?;
            before
        }
        None => None,
    };
    let set_default = new.set_default;
    let replaced = Config::update(&home, |config| {
        let replaced = config.orgs.insert(alias.clone(), entry.clone()).is_some();
        if set_default || config.default_org.is_none() {
            config.default_org = Some(alias.clone());
        }
        Ok(replaced)
    })
    .await;
    let replaced = match replaced {
        Ok(replaced) => replaced,
        Err(e) => {
            if let Some(lock) = lock {
                let before = before.as_ref().map(|b| b.as_slice());
                if shared {
                    put_back_shared(store.as_ref(), &lock, before).await;
                } else {
                    put_back(&entry.token_file, before);
                }
                let _ = store.release(lock).await;
            }
            return Err(e.into());
        }
    };
    if let Some(lock) = lock {
        let _ = store.release(lock).await;
    }
    let verb = if replaced { "replaced" } else { "stored" };
    let who = match token.user_id() {
        Some(user) => format!(" (user {user} at {})", token.instance_url()),
        None => String::new(),
    };
    errln!("{verb} org `{alias}`{who}; use it with --org {alias}");
    if new.json {
        let summary = serde_json::json!({
            "schema_version": crate::output::SCHEMA_VERSION,
            "action": verb,
            "alias": alias.as_str(),
            "flow": entry.flow.as_str(),
            "username": entry.username,
            "user_id": token.user_id(),
            "org_id": token.org_id(),
            "instance_url": token.instance_url(),
            "store": entry.store.as_deref().unwrap_or("file"),
            "token_file": entry.store.is_none().then(|| entry.token_file.display().to_string()),
            "issued_at": token.issued_at().map(crate::output::rfc3339),
        });
        if let Err(e) = crate::out::outln!("{summary}") {
            tracing::debug!(error = %e, "the login's summary could not be printed");
        }
    }
    let replaced = Replaced {
        home: &home,
        alias: &alias,
        entry: &entry,
        token: &token,
        spent: new.spends.as_ref(),
        org,
    };
    replaced
        .retire(previous.as_ref(), before.as_ref().map(|b| b.as_slice()))
        .await;
    Ok(())
}

/// The token's username from UserInfo, when the login did not name one. Best effort: an
/// org whose UserInfo cannot be read is stored without it.
async fn username_of(token: &Token, org: &ResolvedOrg) -> Option<String> {
    let instance = LoginUrl::parse(token.instance_url()).ok()?;
    let client = org.app_client().ok()?;
    match client
        .userinfo(instance.as_str(), &token.access_token())
        .await
    {
        Ok(info) => info.preferred_username,
        Err(e) => {
            tracing::debug!(error = %e, "no username from UserInfo");
            None
        }
    }
}

/// A stored login, and what it may have replaced.
struct Replaced<'a> {
    home: &'a Home,
    alias: &'a Alias,
    entry: &'a Org,
    token: &'a Token,
    /// A refresh token the login itself used up: never revoked as "replaced".
    spent: Option<&'a RefreshToken>,
    /// The org the login stored, whose HTTP settings the revoke uses.
    org: &'a ResolvedOrg,
}

impl Replaced<'_> {
    /// Revokes the refresh token this login replaced, if any, and says so; a failure is a
    /// warning, since the login itself succeeded. Left live, it would hold one of the few
    /// approvals Salesforce allows per user and app.
    async fn retire(&self, previous: Option<&Org>, before: Option<&[u8]>) {
        // The token the login overwrote, else one in a file of sfauth's own that the alias
        // pointed to and no longer does.
        let (old, at, orphan) = match (before, previous) {
            (Some(bytes), _) => {
                let Ok(old) = Token::from_json(bytes) else {
                    return;
                };
                let at = previous
                    .filter(|p| p.token_file == self.entry.token_file)
                    .unwrap_or(self.entry);
                (old, at, None)
            }
            (None, Some(prev))
                if prev.token_file != self.entry.token_file && self.home.owns(&prev.token_file) =>
            {
                let Ok(old) = FileStore::new(&prev.token_file).load().await else {
                    return;
                };
                (old, prev, Some(prev.token_file.clone()))
            }
            _ => return,
        };
        let Some(old_refresh) = old.refresh_token() else {
            return;
        };
        if Some(&old_refresh) == self.token.refresh_token().as_ref()
            || Some(&old_refresh) == self.spent
        {
            return;
        }
        let alias = self.alias;
        let recorded = ResolvedOrg::recorded(
            alias.clone(),
            at.clone(),
            self.org.http_config(),
            self.org.lock_timeout(),
        );
        match recorded.revoke(&old_refresh).await {
            Ok(()) => {
                errln!(
                    "revoked the refresh token this login replaced for `{alias}` at Salesforce (each one holds one of the 5 approvals Salesforce allows per user and app)"
                );
                if let Some(file) = orphan {
                    let _ = std::fs::remove_file(file);
                }
            }
            Err(e) => errln!(
                "warning: could not revoke the refresh token this login replaced for `{alias}` ({e}); it stays live until revoked in Setup (Connected Apps OAuth Usage) or it expires"
            ),
        }
    }
}

/// The bytes of `path`, or `None` if there is no such file.
fn read_if_present(path: &Path) -> sfauth::Result<Option<Zeroizing<Vec<u8>>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(Zeroizing::new(bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::new(
            ErrorKind::Storage,
            format!("cannot read {}: {e}", path.display()),
        )
        .with_hint("check the file and its directory's permissions")),
    }
}

/// Puts the previous token back into a shared store after a failed login (or removes the
/// new one when there was none). The caller holds the store's lock.
async fn put_back_shared(store: &dyn TokenStore, lock: &sfauth::StoreLock, before: Option<&[u8]>) {
    let undone = match before.map(Token::from_json) {
        Some(Ok(token)) => store.save(lock, &token).await,
        Some(Err(_)) => return,
        None => store.delete(lock).await,
    };
    if let Err(e) = undone {
        errln!(
            "warning: the login failed and the previous token in {} could not be put back: {e}",
            store.describe()
        );
    }
}

/// Puts the previous token file back after a failed login (or removes the new one when there
/// was none). The caller holds the store's lock.
fn put_back(path: &Path, before: Option<&[u8]>) {
    let undone = match before {
        Some(bytes) => write_private_file(path, bytes).map_err(|e| e.to_string()),
        None => std::fs::remove_file(path).map_err(|e| e.to_string()),
    };
    if let Err(e) = undone {
        errln!(
            "warning: the login failed and the previous token file {} could not be put back: {e}",
            path.display()
        );
    }
}
