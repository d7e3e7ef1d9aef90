//! `sfauth store`: put a token into a shared store, take it out, list, delete, set up.

use std::time::SystemTime;

use sfauth::StoreUrl;

use crate::cli::{StoreAction, StoreCommandArgs, StoreImportArgs, StoreListArgs, StoreTargetArgs};
use crate::org::ResolvedOrg;
use crate::out::{errln, outln};
use crate::{output, secrets};

/// Runs `sfauth store …`.
pub async fn run(args: &StoreCommandArgs) -> anyhow::Result<()> {
    match &args.action {
        StoreAction::Init(args) => init(args).await,
        StoreAction::Import(args) => import(args).await,
        StoreAction::Export(args) => export(args).await,
        StoreAction::List(args) => list(args).await,
        StoreAction::Delete(args) => delete(args).await,
    }
}

fn resolve(args: &StoreTargetArgs) -> sfauth::Result<ResolvedOrg> {
    ResolvedOrg::for_store(&args.store, &args.http)
}

/// Sets the store up if it is a shared one, and says what in its settings puts a rotated
/// token at risk.
async fn set_up(org: &ResolvedOrg) -> sfauth::Result<()> {
    if let Some((url, _)) = org.shared_store()
        && let Some(warning) = url.init(&org.store_options()).await?
    {
        errln!("warning: {warning}");
    }
    Ok(())
}

async fn init(args: &StoreTargetArgs) -> anyhow::Result<()> {
    let org = resolve(args)?;
    set_up(&org).await?;
    let shown = org
        .shared_store()
        .map_or_else(|| org.describe_store(), |(url, _)| url.to_string());
    errln!("the token store {shown} is ready");
    said(
        args.json,
        serde_json::json!({"action": "initialized", "store": shown}),
    )
}

/// What a store command did, as JSON on stdout when asked.
fn said(json: bool, mut summary: serde_json::Value) -> anyhow::Result<()> {
    if json {
        summary["schema_version"] = output::SCHEMA_VERSION.into();
        outln!("{summary}")?;
    }
    Ok(())
}

async fn import(args: &StoreImportArgs) -> anyhow::Result<()> {
    let token = secrets::token_json(&args.file)?;
    let org = resolve(&args.target)?;
    set_up(&org).await?;
    let store = org.store();
    let lock = store.lock().await?;
    let saved = async {
        let replaced = lock.version().is_some();
        store.prepare(&lock).await?;
        store.save(&lock, &token).await?;
        Ok::<bool, sfauth::Error>(replaced)
    }
    .await;
    let _ = store.release(lock).await;
    let verb = if saved? { "replaced" } else { "imported" };
    errln!(
        "{verb} the token in {}; use it with --store and --store-key on every machine, and \
         delete or revoke other copies of it (with rotation, one refresh token has one holder)",
        store.describe()
    );
    said(
        args.target.json,
        serde_json::json!({"action": verb, "store": store.describe()}),
    )
}

async fn export(args: &StoreTargetArgs) -> anyhow::Result<()> {
    let org = resolve(args)?;
    let token = org.store().load().await?;
    outln!("{}", token.to_json_pretty().as_str())?;
    Ok(())
}

async fn list(args: &StoreListArgs) -> anyhow::Result<()> {
    let org = resolve(&args.target)?;
    let url: StoreUrl = match org.shared_store() {
        Some((url, _)) => url.clone(),
        None => StoreUrl::File(org.describe_store().into()),
    };
    let keys = url.keys(&org.store_options()).await?;
    let now = SystemTime::now();
    if args.target.json {
        let listed: Vec<serde_json::Value> = keys
            .iter()
            .map(|k| {
                serde_json::json!({
                    "schema_version": output::SCHEMA_VERSION,
                    "key": k.key,
                    "version": k.version,
                    "updated": k.updated.map(output::rfc3339),
                    "updated_at": k.updated.map(output::rfc3339),
                    "age_seconds": k.updated.and_then(|t| now.duration_since(t).ok()).map(|d| d.as_secs()),
                    "refresh_interrupted": k.interrupted,
                })
            })
            .collect();
        outln!("{}", serde_json::Value::Array(listed))?;
        return Ok(());
    }
    let header = ["KEY", "UPDATED", "AGE", "VERSION", "NOTE"];
    let cells: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            vec![
                k.key.clone(),
                k.updated
                    .map(output::rfc3339)
                    .unwrap_or_else(|| "-".to_owned()),
                k.updated
                    .and_then(|t| now.duration_since(t).ok())
                    .map(output::age)
                    .unwrap_or_else(|| "-".to_owned()),
                k.version.to_string(),
                if k.interrupted {
                    "a refresh was interrupted"
                } else {
                    ""
                }
                .to_owned(),
            ]
        })
        .collect();
    for line in output::table(&header, &cells) {
        outln!("{line}")?;
    }
    Ok(())
}

async fn delete(args: &StoreTargetArgs) -> anyhow::Result<()> {
    let org = resolve(args)?;
    let store = org.store();
    let lock = store.lock().await?;
    let deleted = store.delete(&lock).await;
    let _ = store.release(lock).await;
    deleted?;
    errln!(
        "deleted the token in {} (its refresh token is still live at Salesforce until \
         revoked)",
        store.describe()
    );
    said(
        args.json,
        serde_json::json!({"action": "deleted", "store": store.describe()}),
    )
}
