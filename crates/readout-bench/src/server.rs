//! The real `readout serve`, started for a run, and what it costs.

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::Context as _;

pub(crate) const ADMIN_TOKEN: &str = "bench-admin-token";

#[derive(Debug)]
pub(crate) struct Server {
    child: Child,
    pub(crate) url: String,
}

impl Server {
    /// Starts the server on `listen` (`127.0.0.1:0`: any free port); a
    /// cycle waits `settle_secs` after it arrived before the compactor
    /// folds it.
    pub(crate) fn start(
        binary: &Path,
        data_dir: &Path,
        database_url: Option<&str>,
        listen: &str,
        settle_secs: u32,
    ) -> anyhow::Result<Self> {
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg(listen)
            .arg("--compact-settle-secs")
            .arg(settle_secs.to_string())
            .env("READOUT_ADMIN_TOKEN", ADMIN_TOKEN)
            // READOUT_BENCH_LOG shows the server's own logs (its stderr).
            .env(
                "READOUT_LOG",
                std::env::var("READOUT_BENCH_LOG").unwrap_or_else(|_| "warn".to_owned()),
            )
            .stdout(Stdio::piped());
        if let Some(url) = database_url {
            command.arg("--database-url").arg(url);
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("the server's stdout")?;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("readout listening on ")
            .with_context(|| format!("unexpected first line from the server: {line:?}"))?;
        Ok(Self {
            url: format!("http://{addr}"),
            child,
        })
    }

    /// `host:port` it listens on.
    pub(crate) fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Seconds of CPU the server has used (user + system).
    pub(crate) fn cpu_secs(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        // Fields after the command name, which may hold spaces.
        let after = stat.rsplit_once(')').context("/proc stat")?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| -> anyhow::Result<f64> {
            Ok(fields.get(i).context("/proc stat field")?.parse::<f64>()?)
        };
        // utime and stime (fields 14 and 15), in USER_HZ = 100 on Linux.
        Ok((ticks(11)? + ticks(12)?) / 100.0)
    }

    /// The server's peak resident memory, in MiB.
    pub(crate) fn peak_rss_mib(&self) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .context("VmHWM")?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()?;
        Ok(kib / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
