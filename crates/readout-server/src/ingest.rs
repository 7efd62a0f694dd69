//! Group commit of incoming cycles.
//!
//! Request handlers hand their cycle to one writer task and wait for it to
//! be durable. The writer takes everything that queued up while the previous
//! transaction was committing and writes it in one transaction: at low load
//! a cycle is written alone with no added delay; at high load one commit
//! (one fsync on SQLite) covers hundreds of cycles.
//!
//! A byte budget bounds what cycles in flight hold: a handler reserves a
//! body's bytes before reading it and its decoded bytes before parsing, and
//! gives them back once the cycle is stored. Past the budget a cycle gets a
//! 503 and its agent sends it again later, so a herd of agents or clients
//! trickling large bodies cannot take the node's memory.

use std::sync::Arc;

use readout_storage::{Database, DbError, IncomingCycle, Stored};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

/// Most cycles written in one transaction.
const MAX_BATCH: usize = 512;
/// Cycles waiting for the writer before handlers are made to wait.
const QUEUE_DEPTH: usize = 4096;

type Reply = oneshot::Sender<Result<Stored, String>>;

/// The handlers' side of the writer.
#[derive(Debug, Clone)]
pub struct Ingest {
    queue: mpsc::Sender<(IncomingCycle, Reply)>,
    /// One permit per KiB of the budget.
    budget: Arc<Semaphore>,
}

/// Bytes of the budget a cycle holds; given back when dropped.
#[derive(Debug)]
pub struct Reservation(OwnedSemaphorePermit);

/// Why a cycle was not stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the writer has shut down")]
    Closed,
    #[error("storage failed: {0}")]
    Storage(String),
}

impl Ingest {
    /// Starts the writer task; it ends once every `Ingest` clone is dropped
    /// and the queue is drained.
    pub fn start<D: Database>(db: D, budget_bytes: usize) -> (Self, tokio::task::JoinHandle<()>) {
        let (queue, rx) = mpsc::channel(QUEUE_DEPTH);
        let task = tokio::spawn(write_loop(db, rx));
        let budget = Arc::new(Semaphore::new(kib(budget_bytes) as usize));
        (Self { queue, budget }, task)
    }

    /// Takes `bytes` of the budget, or `None` when it is spent.
    pub fn reserve(&self, bytes: usize) -> Option<Reservation> {
        self.budget
            .clone()
            .try_acquire_many_owned(kib(bytes))
            .ok()
            .map(Reservation)
    }

    /// Adds `bytes` to what `held` reserves; false when the budget is spent.
    pub fn grow(&self, held: &mut Reservation, bytes: usize) -> bool {
        match self.reserve(bytes) {
            Some(more) => {
                held.0.merge(more.0);
                true
            }
            None => false,
        }
    }

    /// Stores one cycle; returns once it is committed.
    pub async fn store(&self, cycle: IncomingCycle) -> Result<Stored, IngestError> {
        let (reply, done) = oneshot::channel();
        self.queue
            .send((cycle, reply))
            .await
            .map_err(|_| IngestError::Closed)?;
        done.await
            .map_err(|_| IngestError::Closed)?
            .map_err(IngestError::Storage)
    }
}

async fn write_loop<D: Database>(db: D, mut rx: mpsc::Receiver<(IncomingCycle, Reply)>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let (cycles, replies): (Vec<_>, Vec<_>) = jobs.drain(..).unzip();
        let started = std::time::Instant::now();
        match db.store_cycles(&cycles).await {
            Ok(outcome) => {
                tracing::debug!(
                    batch.cycles = cycles.len(),
                    duration_ms = started.elapsed().as_millis(),
                    "cycles committed"
                );
                for (reply, stored) in replies.into_iter().zip(outcome) {
                    let _ = reply.send(Ok(stored));
                }
            }
            // One bad cycle must not fail the others: write them one by one.
            Err(e) if cycles.len() > 1 => {
                tracing::warn!(error = %e, batch.cycles = cycles.len(), "batch failed; retrying cycles one by one");
                for (cycle, reply) in cycles.into_iter().zip(replies) {
                    let result = db.store_cycles(std::slice::from_ref(&cycle)).await;
                    let _ = reply.send(first_outcome(result));
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.to_string()));
                }
                tracing::error!(error = %e, "storing a cycle failed");
            }
        }
    }
}

/// KiB, rounded up, at least one.
fn kib(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(1024).max(1)).unwrap_or(u32::MAX)
}

fn first_outcome(result: Result<Vec<Stored>, DbError>) -> Result<Stored, String> {
    match result {
        Ok(outcome) => outcome
            .into_iter()
            .next()
            .ok_or_else(|| "storage returned no outcome".to_owned()),
        Err(e) => {
            tracing::error!(error = %e, "storing a cycle failed");
            Err(e.to_string())
        }
    }
}
