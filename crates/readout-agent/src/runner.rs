//! Runs allowlisted commands: `/bin/sh -c COMMAND` in a process group of
//! its own, stdout and stderr interleaved in one pipe, with a timeout and an
//! output cap. On either limit the whole group is killed, so children and
//! grandchildren go too.

use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use readout_proto::CommandResult;

/// Limits applied to every command.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    pub output_cap: usize,
}

/// One command to run, already checked against the allowlist.
#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    pub command: String,
}

/// After a kill, how long to wait for the pipe to close before giving up
/// on a process that escaped the group (`setsid`).
const KILL_GRACE: Duration = Duration::from_secs(1);

/// Runs `jobs`, at most `parallel` at once; results come back in job order.
pub fn run_all(jobs: &[Job], limits: Limits, parallel: usize) -> Vec<CommandResult> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<CommandResult>>> = Mutex::new(vec![None; jobs.len()]);
    std::thread::scope(|scope| {
        for _ in 0..parallel.clamp(1, jobs.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let result = run(job, limits);
                    if let Ok(mut slots) = results.lock() {
                        slots[i] = Some(result);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

/// Runs one command. Never fails: a command that cannot start is reported
/// as exit code 127 with the reason as its output, as a shell would.
pub fn run(job: &Job, limits: Limits) -> CommandResult {
    let started = Instant::now();
    let mut result = CommandResult {
        name: job.name.clone(),
        duration_ms: 0,
        exit_code: None,
        signal: None,
        timed_out: false,
        truncated: false,
        output: Vec::new(),
    };
    match spawn_and_collect(&job.command, limits, started) {
        Ok(done) => {
            result.exit_code = done.status.and_then(|s| s.code());
            result.signal = done.status.and_then(|s| s.signal());
            result.timed_out = done.timed_out;
            result.truncated = done.truncated;
            result.output = done.output;
        }
        Err(e) => {
            result.exit_code = Some(127);
            result.output = format!("readout-agent: cannot run the command: {e}\n").into_bytes();
        }
    }
    result.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if result.timed_out {
        tracing::warn!(command.name = %job.name, timeout_s = limits.timeout.as_secs(), "command timed out; killed its process group");
    }
    result
}

struct Done {
    status: Option<ExitStatus>,
    timed_out: bool,
    truncated: bool,
    output: Vec<u8>,
}

fn spawn_and_collect(command: &str, limits: Limits, started: Instant) -> std::io::Result<Done> {
    let deadline = started + limits.timeout;
    let (mut reader, writer) = std::io::pipe()?;
    let mut child = {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(command)
            .stdin(Stdio::null())
            .stdout(writer.try_clone()?)
            .stderr(writer)
            .process_group(0);
        cmd.spawn()?
        // `cmd` drops here, closing our copies of the pipe's write end, so
        // the reader sees end-of-file once the command's processes are done.
    };

    let buffer = Arc::new(Mutex::new(Vec::new()));
    let (done_tx, done_rx) = mpsc::channel();
    let sink = buffer.clone();
    let cap = limits.output_cap;
    std::thread::spawn(move || {
        let truncated = read_capped(&mut reader, cap, &sink);
        let _ = done_tx.send(truncated);
    });

    let mut timed_out = false;
    let truncated = match done_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(truncated) => truncated,
        Err(_) => {
            timed_out = true;
            kill_group(&child);
            done_rx.recv_timeout(KILL_GRACE).unwrap_or(false)
        }
    };
    if truncated {
        // Nobody will read the rest: stop the command instead of letting it
        // block on a full pipe until the timeout.
        kill_group(&child);
    }
    let status = wait_until(&mut child, deadline)?.or_else(|| {
        timed_out = true;
        kill_group(&child);
        child.wait().ok()
    });
    let output = std::mem::take(
        &mut *buffer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    Ok(Done {
        status,
        timed_out,
        truncated,
        output,
    })
}

/// Reads until end-of-file or `cap` bytes; returns whether more was there.
fn read_capped(reader: &mut impl std::io::Read, cap: usize, sink: &Mutex<Vec<u8>>) -> bool {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        };
        let Ok(mut out) = sink.lock() else {
            return false;
        };
        let room = cap.saturating_sub(out.len());
        if n > room {
            out.extend_from_slice(&chunk[..room]);
            return true;
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// Waits for the shell until `deadline`; `None` if it is still running.
fn wait_until(child: &mut Child, deadline: Instant) -> std::io::Result<Option<ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn kill_group(child: &Child) {
    let pid = rustix::process::Pid::from_child(child);
    if let Err(e) = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL) {
        // ESRCH: the group is already gone.
        tracing::debug!(error = %e, "kill of the process group failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(command: &str) -> Job {
        Job {
            name: "readout_t".into(),
            command: command.into(),
        }
    }

    const LIMITS: Limits = Limits {
        timeout: Duration::from_secs(5),
        output_cap: 1024,
    };

    #[test]
    fn captures_interleaved_output_and_exit_status() {
        let r = run(
            &job("echo out; echo err >&2; printf 'caf\\351'; exit 3"),
            LIMITS,
        );
        assert_eq!(r.exit_code, Some(3));
        assert_eq!(r.signal, None);
        assert!(!r.timed_out && !r.truncated);
        assert_eq!(r.output, b"out\nerr\ncaf\xE9");
    }

    #[test]
    fn output_over_the_cap_is_cut_and_marked() {
        let r = run(&job("yes readout"), LIMITS);
        assert!(r.truncated);
        assert!(!r.timed_out);
        assert_eq!(r.output.len(), 1024);
        assert!(r.output.starts_with(b"readout\nreadout\n"));
    }

    #[test]
    fn a_timed_out_command_is_killed_with_its_children() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pidfile = dir.path().join("child.pid");
        let limits = Limits {
            timeout: Duration::from_millis(300),
            output_cap: 1024,
        };
        let command = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
        let r = run(&job(&command), limits);
        assert!(r.timed_out);
        assert_eq!(r.signal, Some(9));
        assert!(r.duration_ms < 5000, "took {} ms", r.duration_ms);
        let pid = std::fs::read_to_string(&pidfile).expect("child pid");
        let stat = format!("/proc/{}/stat", pid.trim());
        let alive = || std::fs::read_to_string(&stat).is_ok_and(|s| !s.contains(") Z "));
        // SIGKILL is delivered asynchronously: wait for the death, bounded.
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive() && Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert!(
            !alive(),
            "background child {} survived the timeout",
            pid.trim()
        );
    }

    #[test]
    fn parallel_results_keep_job_order() {
        let jobs: Vec<Job> = (0..6)
            .map(|i| Job {
                name: format!("readout_{i}"),
                command: format!("sleep 0.0{}; echo {i}", 6 - i),
            })
            .collect();
        let results = run_all(&jobs, LIMITS, 3);
        let outputs: Vec<_> = results
            .iter()
            .map(|r| String::from_utf8_lossy(&r.output).into_owned())
            .collect();
        assert_eq!(outputs, ["0\n", "1\n", "2\n", "3\n", "4\n", "5\n"]);
        assert_eq!(results[5].name, "readout_5");
    }
}
