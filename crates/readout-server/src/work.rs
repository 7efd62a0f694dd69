//! Bounded blocking work. What a request starts on the blocking pool
//! (argon2, parsing on behalf of an editor) goes through a [`Gate`]: a
//! few run at once, a few more wait, and the rest are refused at once, so
//! no caller can take the pool, the cores or the memory from the others.

use tokio::sync::Semaphore;

/// The machine's cores (2 when it cannot tell).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}

/// At most `running` jobs at once on the blocking pool, `queue` more waiting.
#[derive(Debug)]
pub struct Gate {
    /// Jobs let in: running plus waiting.
    admitted: Semaphore,
    running: Semaphore,
}

/// Why a job did not run.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error("the server is busy with work of this kind: try again in a few seconds")]
    Busy,
    #[error("the job panicked: {0}")]
    Panicked(#[from] tokio::task::JoinError),
}

impl Gate {
    pub fn new(running: usize, queue: usize) -> Self {
        Self {
            admitted: Semaphore::new(running + queue),
            running: Semaphore::new(running),
        }
    }

    /// Runs `job` on the blocking pool once a turn is free, or says busy
    /// at once when the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, WorkError> {
        let _admitted = self.admitted.try_acquire().map_err(|_| WorkError::Busy)?;
        let _running = self.running.acquire().await.map_err(|_| WorkError::Busy)?;
        Ok(tokio::task::spawn_blocking(job).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_gate_turns_away_what_it_cannot_queue() {
        let gate = std::sync::Arc::new(Gate::new(1, 1));
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
