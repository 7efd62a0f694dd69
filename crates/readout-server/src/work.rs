//! Bounded blocking work. What a request starts on the blocking pool
//! (argon2, parsing on behalf of an editor) goes through a [`Gate`]: a
//! few run at once, a few more wait, and the rest are refused at once, so
//! no caller can take the pool, the cores or the memory from the others.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, mpsc};

use tokio::sync::Semaphore;

/// The machine's cores (2 when it cannot tell).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}

type Job = Box<dyn FnOnce() + Send>;

/// A few threads of its own, and a bounded queue in front of them.
///
/// Its own threads, not tokio's blocking pool: the pool starts a new
/// thread whenever none is idle at that instant, and every thread keeps
/// what it allocated in its own malloc arena, so argon2's 19 MiB a hash
/// grew to half a gigabyte under a flood. Here the memory is bounded by the
/// number of threads.
#[derive(Debug)]
pub struct Gate {
    /// Jobs let in: running plus waiting.
    admitted: Arc<Semaphore>,
    jobs: mpsc::Sender<Job>,
}

/// Why a job did not run.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error("the server is busy with work of this kind: try again in a few seconds")]
    Busy,
    #[error("the job panicked")]
    Panicked,
}

impl Gate {
    /// `threads` named `name-N` run jobs; `queue` more may wait.
    pub fn new(name: &str, threads: usize, queue: usize) -> std::io::Result<Self> {
        let (jobs, inbox) = mpsc::channel::<Job>();
        let inbox = Arc::new(Mutex::new(inbox));
        for n in 0..threads.max(1) {
            let inbox = Arc::clone(&inbox);
            std::thread::Builder::new()
                .name(format!("{name}-{n}"))
                .spawn(move || {
                    loop {
                        let next = inbox
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .recv();
                        // The gate is gone: so is the work.
                        let Ok(job) = next else { return };
                        job();
                    }
                })?;
        }
        Ok(Self {
            admitted: Arc::new(Semaphore::new(threads.max(1) + queue)),
            jobs,
        })
    }

    /// Runs `job` on the gate's threads once one is free, or says busy at
    /// once when the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, WorkError> {
        let admitted = Arc::clone(&self.admitted)
            .try_acquire_owned()
            .map_err(|_| WorkError::Busy)?;
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(job));
            drop(admitted);
            let _ = done.send(outcome);
        });
        self.jobs.send(job).map_err(|_| WorkError::Busy)?;
        match result.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) | Err(_) => Err(WorkError::Panicked),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_gate_turns_away_what_it_cannot_queue() {
        let gate = std::sync::Arc::new(Gate::new("test", 1, 1).expect("gate"));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = std::sync::Mutex::new(wait);
        let blocker = {
            let gate = std::sync::Arc::clone(&gate);
            tokio::spawn(async move {
                gate.run(move || {
                    let _ = wait.lock().map(|w| w.recv());
                })
                .await
            })
        };
        let queued = {
            let gate = std::sync::Arc::clone(&gate);
            tokio::spawn(async move { gate.run(|| 2).await })
        };
        // The running one and the queued one hold both admissions.
        while gate.admitted.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(gate.run(|| 3).await, Err(WorkError::Busy)));
        release.send(()).expect("release");
        assert!(blocker.await.expect("join").is_ok());
        assert_eq!(queued.await.expect("join").expect("ran"), 2);
        assert_eq!(gate.run(|| 4).await.expect("free again"), 4);
    }
}
