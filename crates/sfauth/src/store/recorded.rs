//! What sfauth records beside a token it keeps in a file another tool also writes (a Postman
//! environment, the Salesforce CLI's auth file): the token's other fields (its age above
//! all, which those files do not keep), and short fingerprints of the access and refresh
//! tokens they belong to. A later read tells from the fingerprints whether the other tool
//! replaced the token since, and whether it kept the refresh token it was given or a new one.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::store::RefreshMark;
use crate::token::Token;

/// The token's fields that are secrets: never in the record.
pub(crate) const SECRET_FIELDS: [&str; 3] = ["access_token", "refresh_token", "id_token"];
/// In the record, the fingerprint of the access token its fields belong to.
const ACCESS_CHECK: &str = "access_token_check";
/// In the record, the fingerprint of the refresh token saved with it.
const REFRESH_CHECK: &str = "refresh_token_check";

/// Who put the file's access token there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provenance {
    /// sfauth, with its last save.
    Ours,
    /// Another tool, since sfauth's last save, which kept the refresh token sfauth saved:
    /// if its refresh rotated, the new refresh token is lost and the saved one spent.
    Replaced,
    /// Another tool, since sfauth's last save, which also wrote a new refresh token: it
    /// kept what its refresh returned.
    ReplacedWithRefresh,
    /// sfauth never saved here.
    NeverSaved,
}

/// The record of `token` to keep beside it, as JSON text: every field but the secrets,
/// and the fingerprints.
pub(crate) fn record(token: &Token) -> String {
    let mut rest = Map::new();
    for key in token.keys().filter(|k| !SECRET_FIELDS.contains(k)) {
        if let Some(value) = token.get(key) {
            rest.insert(key.to_owned(), value.clone());
        }
    }
    rest.insert(
        ACCESS_CHECK.into(),
        fingerprint(token.access_token().expose()).into(),
    );
    if let Some(refresh) = token.refresh_token() {
        rest.insert(REFRESH_CHECK.into(), fingerprint(refresh.expose()).into());
    }
    Value::Object(rest).to_string()
}

/// The fields `record` holds (fingerprints taken out), and who put `access` (with
/// `refresh` beside it) in the file.
pub(crate) fn recall(
    record: Option<&str>,
    access: &str,
    refresh: Option<&str>,
) -> (Map<String, Value>, Provenance) {
    let Some(mut fields) = record.and_then(|r| serde_json::from_str::<Map<String, Value>>(r).ok())
    else {
        return (Map::new(), Provenance::NeverSaved);
    };
    let refresh_check = fields.remove(REFRESH_CHECK);
    let provenance = match fields.remove(ACCESS_CHECK) {
        Some(check) if check.as_str() == Some(fingerprint(access).as_str()) => Provenance::Ours,
        Some(_) => match (refresh_check, refresh) {
            (Some(check), Some(refresh))
                if check.as_str() != Some(fingerprint(refresh).as_str()) =>
            {
                Provenance::ReplacedWithRefresh
            }
            _ => Provenance::Replaced,
        },
        None => Provenance::NeverSaved,
    };
    (fields, provenance)
}

/// A mark for a refresh `holder` made of a file's token, dated by the file's last change:
/// the refresh token it left may be spent. `None` if the file cannot be dated.
pub(crate) fn replaced_mark(path: &std::path::Path, holder: &str) -> Option<RefreshMark> {
    let changed = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_millis();
    RefreshMark::from_text(&format!("{changed} {changed} {holder}"))
}

/// Eight hex digits of SHA-256 of a token: enough to tell that it changed, nothing that
/// helps anyone guess it.
fn fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(access: &str, refresh: &str) -> Token {
        Token::from_json(
            format!(
                r#"{{"access_token":"{access}","refresh_token":"{refresh}","instance_url":"https://x.my.salesforce.com","issued_at":"1700000000000"}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn the_record_holds_no_secret_and_recalls_its_fields() {
        let text = record(&token("00D!secret-access", "5Aep.secret-refresh"));
        assert!(!text.contains("secret-access") && !text.contains("secret-refresh"));
        let (fields, provenance) = recall(
            Some(&text),
            "00D!secret-access",
            Some("5Aep.secret-refresh"),
        );
        assert_eq!(provenance, Provenance::Ours);
        assert_eq!(fields["issued_at"], "1700000000000");
        assert!(!fields.contains_key(ACCESS_CHECK));
    }

    #[test]
    fn a_replaced_access_token_says_whether_the_refresh_token_was_kept() {
        let text = record(&token("a1", "r1"));
        assert_eq!(
            recall(Some(&text), "a2", Some("r1")).1,
            Provenance::Replaced
        );
        assert_eq!(
            recall(Some(&text), "a2", Some("r2")).1,
            Provenance::ReplacedWithRefresh
        );
        assert_eq!(recall(None, "a1", Some("r1")).1, Provenance::NeverSaved);
        assert_eq!(
            recall(Some("not json"), "a1", None).1,
            Provenance::NeverSaved
        );
    }
}
