//! Cycles that could not be sent wait here, on disk, in order.
//!
//! Each cycle is one gzip-compressed JSON file named after its start time,
//! so a directory listing sorted by name is the sending order. The spool is
//! bounded: past its size, the oldest files are dropped first and counted
//! in `dropped`, which the next delivered cycle reports to the server.

use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use readout_proto::CycleRequest;

#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
}

/// A spooled cycle, ready to be retried.
#[derive(Debug)]
pub struct Spooled {
    pub path: PathBuf,
    pub cycle: CycleRequest,
}

/// Largest spool file read back; anything bigger is not ours.
const MAX_FILE: u64 = 64 * 1024 * 1024;

impl Spool {
    pub fn new(dir: PathBuf, max_bytes: u64) -> Self {
        Self { dir, max_bytes }
    }

    /// Files in sending order (oldest first).
    fn files(&self) -> anyhow::Result<Vec<(PathBuf, u64)>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot list spool {}", self.dir.display()));
            }
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            if name.to_string_lossy().ends_with(".json.gz") {
                files.push((entry.path(), entry.metadata()?.len()));
            }
        }
        files.sort();
        Ok(files)
    }

    /// Number of spooled cycles and their total size in bytes.
    pub fn usage(&self) -> anyhow::Result<(usize, u64)> {
        let files = self.files()?;
        Ok((files.len(), files.iter().map(|(_, len)| len).sum()))
    }

    /// Writes a cycle durably (temp file, fsync, rename), then trims.
    pub fn push(&self, cycle: &CycleRequest) -> anyhow::Result<()> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create spool {}", self.dir.display()))?;
        let name = format!("{:015}-{}.json.gz", cycle.started_at_ms, cycle.cycle_id);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let body = crate::client::gzip_json(cycle)?;
        let mut file =
            fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
        file.write_all(&body)?;
        file.sync_all()?;
        fs::rename(&tmp, self.dir.join(&name))?;
        self.trim()
    }

    /// Drops the oldest files until the spool fits its bound.
    fn trim(&self) -> anyhow::Result<()> {
        let files = self.files()?;
        let mut total: u64 = files.iter().map(|(_, len)| len).sum();
        let mut dropped = 0;
        // The newest file always stays, whatever its size.
        for (path, len) in &files[..files.len().saturating_sub(1)] {
            if total <= self.max_bytes {
                break;
            }
            fs::remove_file(path)?;
            total -= len;
            dropped += 1;
        }
        if dropped > 0 {
            tracing::warn!(
                dropped,
                max_bytes = self.max_bytes,
                "spool full; dropped the oldest cycles"
            );
            self.add_dropped(dropped)?;
        }
        Ok(())
    }

    /// Every spooled cycle, oldest first. Unreadable files are set aside
    /// (renamed `.bad`) rather than blocking the queue forever.
    pub fn load_all(&self) -> anyhow::Result<Vec<Spooled>> {
        let mut out = Vec::new();
        for (path, len) in self.files()? {
            match read_cycle(&path, len) {
                Ok(cycle) => out.push(Spooled { path, cycle }),
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %e, "unreadable spool file set aside");
                    fs::rename(&path, path.with_extension("bad"))?;
                }
            }
        }
        Ok(out)
    }

    pub fn remove(&self, spooled: &Spooled) -> anyhow::Result<()> {
        fs::remove_file(&spooled.path)
            .with_context(|| format!("cannot remove {}", spooled.path.display()))
    }

    fn dropped_path(&self) -> PathBuf {
        self.dir.join("dropped")
    }

    /// Cycles dropped and not yet reported to the server.
    pub fn dropped(&self) -> u64 {
        fs::read_to_string(self.dropped_path())
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    fn add_dropped(&self, n: u64) -> anyhow::Result<()> {
        write_atomic(
            &self.dropped_path(),
            (self.dropped() + n).to_string().as_bytes(),
        )
    }

    /// The server has been told about `n` dropped cycles.
    pub fn reported_dropped(&self, n: u64) -> anyhow::Result<()> {
        if n == 0 {
            return Ok(());
        }
        write_atomic(
            &self.dropped_path(),
            self.dropped().saturating_sub(n).to_string().as_bytes(),
        )
    }
}

fn read_cycle(path: &Path, len: u64) -> anyhow::Result<CycleRequest> {
    anyhow::ensure!(
        len <= MAX_FILE,
        "{len} bytes is more than a spooled cycle can be"
    );
    let file = fs::File::open(path)?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(file)
        .take(MAX_FILE)
        .read_to_end(&mut json)?;
    Ok(serde_json::from_slice(&json)?)
}

/// Writes a small file so that readers see the old or the new content.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    let mut file =
        fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use readout_proto::{AgentInfo, AllowlistReport, CommandResult};

    fn cycle(started_at_ms: i64, output_len: usize) -> CycleRequest {
        CycleRequest {
            cycle_id: format!("c{started_at_ms}"),
            started_at_ms,
            duration_ms: 1,
            agent: AgentInfo {
                version: "t".into(),
                hostname: String::new(),
                os: String::new(),
                arch: String::new(),
            },
            allowlist: AllowlistReport::default(),
            // Random-looking bytes do not compress: sizes stay predictable.
            results: vec![CommandResult {
                name: "readout_x".into(),
                duration_ms: 0,
                exit_code: Some(0),
                signal: None,
                timed_out: false,
                truncated: false,
                output: (0..output_len)
                    .map(|i| (i * 7919 % 251) as u8 ^ (i >> 8) as u8)
                    .collect(),
            }],
            rejected: vec![],
            spool_dropped: 0,
        }
    }

    #[test]
    fn cycles_come_back_oldest_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::new(dir.path().join("spool"), 1 << 20);
        for t in [3_000, 1_000, 20_000] {
            spool.push(&cycle(t, 10)).expect("push");
        }
        let back: Vec<i64> = spool
            .load_all()
            .expect("load")
            .iter()
            .map(|s| s.cycle.started_at_ms)
            .collect();
        assert_eq!(back, [1_000, 3_000, 20_000]);
        assert_eq!(spool.usage().expect("usage").0, 3);
    }

    #[test]
    fn a_full_spool_drops_the_oldest_and_counts_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::new(dir.path().join("spool"), 25_000);
        for t in 1..=5 {
            spool.push(&cycle(t * 1000, 10_000)).expect("push");
        }
        let left: Vec<i64> = spool
            .load_all()
            .expect("load")
            .iter()
            .map(|s| s.cycle.started_at_ms)
            .collect();
        assert_eq!(left, [4_000, 5_000]);
        assert_eq!(spool.dropped(), 3);
        assert!(spool.usage().expect("usage").1 <= 25_000);
        spool.reported_dropped(2).expect("report");
        assert_eq!(spool.dropped(), 1);
    }

    #[test]
    fn a_corrupt_file_is_set_aside() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::new(dir.path().to_path_buf(), 1 << 20);
        spool.push(&cycle(2_000, 10)).expect("push");
        fs::write(dir.path().join("000000000001000-x.json.gz"), b"not gzip").expect("write");
        let back = spool.load_all().expect("load");
        assert_eq!(back.len(), 1);
        assert!(dir.path().join("000000000001000-x.json.bad").exists());
    }
}
