//! Chooses the storage backend from the URL scheme, once.

use std::future::Future;

use anyhow::{Context as _, bail};
use readout_storage::Database;
use readout_storage_postgres::PostgresStore;
use readout_storage_sqlite::SqliteStore;

/// Work to do with whichever backend the URL names.
pub trait StoreTask {
    type Output;
    fn run<D: Database>(self, db: D) -> impl Future<Output = anyhow::Result<Self::Output>> + Send;
}

/// Opens the store at `url` (running its migrations) and runs `task` on it.
pub async fn with_store<T: StoreTask>(url: &str, task: T) -> anyhow::Result<T::Output> {
    let scheme = url.split_once("://").map(|(s, _)| s);
    match scheme {
        Some("sqlite") => {
            if let Some(parent) = sqlite_parent_dir(url) {
                // It holds password hashes and webhook secrets: its owner's only.
                use std::os::unix::fs::DirBuilderExt as _;
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(&parent)
                    .with_context(|| {
                        format!("cannot create data directory {}", parent.display())
                    })?;
            }
            let db = SqliteStore::open(url)
                .await
                .with_context(|| format!("cannot open SQLite database {url}"))?;
            task.run(db).await
        }
        Some("postgres" | "postgresql") => {
            let db = PostgresStore::open(url)
                .await
                .context("cannot open the PostgreSQL database (check database_url)")?;
            task.run(db).await
        }
        Some(other) => bail!(
            "unsupported database_url scheme {other:?}: use sqlite://PATH or postgres://USER:PASSWORD@HOST/DB"
        ),
        None => bail!(
            "database_url {url:?} has no scheme: use sqlite://PATH or postgres://USER:PASSWORD@HOST/DB"
        ),
    }
}

fn sqlite_parent_dir(url: &str) -> Option<std::path::PathBuf> {
    let path = url.strip_prefix("sqlite://")?.split('?').next()?;
    let parent = std::path::Path::new(path).parent()?;
    (!parent.as_os_str().is_empty()).then(|| parent.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nothing;
    impl StoreTask for Nothing {
        type Output = ();
        async fn run<D: Database>(self, _db: D) -> anyhow::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn an_unknown_scheme_is_a_clear_error_without_secrets() {
        let err = with_store("mysql://root:hunter2@db/readout", Nothing)
            .await
            .map_err(|e| e.to_string())
            .err()
            .unwrap_or_default();
        assert!(
            err.contains("unsupported database_url scheme \"mysql\""),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        let err = with_store("/var/lib/readout.db", Nothing)
            .await
            .map_err(|e| e.to_string())
            .err()
            .unwrap_or_default();
        assert!(err.contains("has no scheme"), "{err}");
    }

    #[tokio::test]
    async fn sqlite_creates_its_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}/a/b/readout.db", dir.path().display());
        with_store(&url, Nothing).await.expect("open");
        assert!(dir.path().join("a/b/readout.db").exists());
    }
}
