//! The contract every `TokenStore` keeps, as one suite a store runs by naming a factory:
//! what was saved loads back, the lock is exclusive, a reader never sees half a save, and a
//! deleted token is gone.

use std::sync::Arc;
use std::time::Duration;

use sfauth::{ErrorKind, FileStore, RefreshMark, Token, TokenStore};

/// Makes fresh, empty stores of the kind under test.
pub trait StoreUnderTest {
    type Store: TokenStore + 'static;
    fn fresh(&self) -> Self::Store;
}

pub fn token(access: &str) -> Token {
    Token::from_json(
        format!(
            r#"{{"access_token":"{access}","refresh_token":"5Aep.{access}","instance_url":"https://acme.my.salesforce.com","issued_at":"1700000000000"}}"#
        )
        .as_bytes(),
    )
    .unwrap()
}

async fn saved_token_loads_back_with_every_field(kind: &impl StoreUnderTest) {
    let store = kind.fresh();
    let lock = store.lock().await.unwrap();
    store.prepare(&lock).await.unwrap();
    let mut written = token("first");
    written.set("x_custom", "kept");
    store.save(&lock, &written).await.unwrap();
    store.release(lock).await.unwrap();
    assert_eq!(store.load().await.unwrap(), written);
}

async fn a_second_lock_waits_for_the_first(kind: &impl StoreUnderTest) {
    let store = Arc::new(kind.fresh());
    let first = store.lock().await.unwrap();
    let waiter = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let second = store.lock().await?;
            store.release(second).await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiter.is_finished(), "the second lock did not wait");
    store.release(first).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("the second lock is granted once the first is released")
        .unwrap()
        .unwrap();
}

async fn readers_see_the_old_token_or_the_new_one_never_a_mix(kind: &impl StoreUnderTest) {
    let store = Arc::new(kind.fresh());
    let lock = store.lock().await.unwrap();
    store.save(&lock, &token("old")).await.unwrap();
    let reader = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..200 {
                seen.push(
                    store
                        .load()
                        .await
                        .unwrap()
                        .access_token()
                        .expose()
                        .to_owned(),
                );
                tokio::task::yield_now().await;
            }
            seen
        })
    };
    for round in 0..20 {
        let access = if round % 2 == 0 { "new" } else { "old" };
        store.save(&lock, &token(access)).await.unwrap();
    }
    for access in reader.await.unwrap() {
        assert!(access == "old" || access == "new", "read {access:?}");
    }
    store.release(lock).await.unwrap();
}

async fn a_deleted_token_is_gone(kind: &impl StoreUnderTest) {
    let store = kind.fresh();
    let lock = store.lock().await.unwrap();
    store.save(&lock, &token("doomed")).await.unwrap();
    store.delete(&lock).await.unwrap();
    store.release(lock).await.unwrap();
    let e = store.load().await.unwrap_err();
    assert!(!e.to_string().contains("doomed"), "{e}");
}

/// Runs the whole contract against one kind of store.
pub async fn contract(kind: &impl StoreUnderTest) {
    saved_token_loads_back_with_every_field(kind).await;
    a_second_lock_waits_for_the_first(kind).await;
    readers_see_the_old_token_or_the_new_one_never_a_mix(kind).await;
    a_deleted_token_is_gone(kind).await;
}

async fn a_holder_with_a_stale_version_cannot_overwrite_a_newer_token(kind: &impl StoreUnderTest) {
    let store = kind.fresh();
    let lock = store.lock().await.unwrap();
    store.save(&lock, &token("first")).await.unwrap();
    let read = lock.version().expect("a shared store keeps versions");
    store.save(&lock, &token("second")).await.unwrap();
    // As a holder whose lock ran out after it read, while another holder wrote.
    lock.set_version(read);
    let e = store.save(&lock, &token("stale")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Storage, "{e}");
    store.release(lock).await.unwrap();
    assert_eq!(store.load().await.unwrap(), token("second"));
}

async fn a_refresh_mark_outlives_its_holder_until_a_save_clears_it(kind: &impl StoreUnderTest) {
    let store = kind.fresh();
    let lock = store.lock().await.unwrap();
    store.save(&lock, &token("marked")).await.unwrap();
    let mark = RefreshMark::now(Duration::from_secs(1));
    store.mark_refreshing(&lock, &mark).await.unwrap();
    // The holder is gone (its lock with it) before it could save.
    store.release(lock).await.unwrap();
    assert_eq!(
        store.load().await.unwrap(),
        token("marked"),
        "a mark keeps the token"
    );
    let next = store.lock().await.unwrap();
    assert_eq!(next.interrupted(), Some(&mark));
    store.save(&next, &token("saved")).await.unwrap();
    store.release(next).await.unwrap();
    let after = store.lock().await.unwrap();
    assert_eq!(after.interrupted(), None, "the save cleared the mark");
    store.release(after).await.unwrap();
}

async fn a_cleared_mark_is_gone_and_the_token_unchanged(kind: &impl StoreUnderTest) {
    let store = kind.fresh();
    let lock = store.lock().await.unwrap();
    store.save(&lock, &token("kept")).await.unwrap();
    store
        .mark_refreshing(&lock, &RefreshMark::now(Duration::from_secs(1)))
        .await
        .unwrap();
    store.clear_mark(&lock).await.unwrap();
    store.release(lock).await.unwrap();
    let next = store.lock().await.unwrap();
    assert_eq!(next.interrupted(), None);
    store.release(next).await.unwrap();
    assert_eq!(store.load().await.unwrap(), token("kept"));
}

/// The contract of a store many machines share: the whole [`contract`], plus versions that
/// keep a holder whose lock ran out from overwriting, and marks of refreshes never saved.
pub async fn shared_contract(kind: &impl StoreUnderTest) {
    contract(kind).await;
    a_holder_with_a_stale_version_cannot_overwrite_a_newer_token(kind).await;
    a_refresh_mark_outlives_its_holder_until_a_save_clears_it(kind).await;
    a_cleared_mark_is_gone_and_the_token_unchanged(kind).await;
}

struct Files(tempfile::TempDir);

impl StoreUnderTest for Files {
    type Store = FileStore;

    fn fresh(&self) -> FileStore {
        let name = format!("token-{}.json", next_number());
        FileStore::new(self.0.path().join(name)).with_lock_timeout(Duration::from_secs(10))
    }
}

/// A number no other store in this run was given.
pub fn next_number() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_store_keeps_the_store_contract() {
    contract(&Files(tempfile::tempdir().unwrap())).await;
}

#[tokio::test]
async fn deleting_a_token_file_that_is_a_symlink_removes_the_link_and_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.json");
    let link = dir.path().join("link.json");
    std::fs::write(&real, token("linked").to_json_pretty().as_bytes()).unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let store = FileStore::new(&link);
    let lock = store.lock().await.unwrap();
    store.delete(&lock).await.unwrap();
    store.release(lock).await.unwrap();
    assert!(!real.exists());
    assert!(std::fs::symlink_metadata(&link).is_err());
}
