//! A closed hour of one command's results on one host, packed into one
//! zstd frame by the compactor. Consecutive outputs of a command are
//! nearly identical, so compressed together they shrink many times more
//! than one by one, and the hour's per-result rows (with their index
//! entries, which weighed more than the compressed outputs) are gone.

use serde::{Deserialize, Serialize};

use crate::DbError;

/// Packing runs once per host-hour, off the ingest path: a little more
/// effort than the head's level 1 buys a smaller history.
const LEVEL: i32 = 3;

/// One result as the pack keeps it: what `command_results` held, with the
/// cycle's id so a packed output is found without its cycle row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedResult {
    pub cycle_pk: i64,
    pub cycle_id: String,
    /// Where the result stood in its cycle: the cycle log keeps the
    /// agent's order.
    pub position: u32,
    pub started_at_ms: i64,
    pub duration_ms: i64,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub truncated: bool,
    pub parse_errors_json: String,
    #[serde(with = "serde_bytes")]
    pub output: Vec<u8>,
}

impl PackedResult {
    pub fn outcome(&self) -> crate::RunOutcome {
        crate::RunOutcome {
            duration_ms: self.duration_ms,
            exit_code: self.exit_code,
            signal: self.signal,
            timed_out: self.timed_out,
            truncated: self.truncated,
        }
    }

    /// The cycle log's line for this result.
    pub fn summary(&self, name: &str) -> Result<crate::ResultRow, DbError> {
        let parse_errors = crate::JsonText::try_from(self.parse_errors_json.clone())
            .map_err(|e| DbError::Corrupt(format!("parse errors of a packed result: {e}")))?;
        Ok(crate::ResultRow {
            cycle_pk: self.cycle_pk,
            summary: crate::ResultSummary {
                name: name.to_owned(),
                outcome: self.outcome(),
                output_bytes: i64::try_from(self.output.len()).unwrap_or(i64::MAX),
                parse_errors,
            },
        })
    }

    pub fn into_output(self, name: &str) -> crate::StoredOutput {
        crate::StoredOutput {
            name: name.to_owned(),
            outcome: self.outcome(),
            cycle_id: self.cycle_id,
            started_at_ms: self.started_at_ms,
            output: self.output,
        }
    }
}

/// The stored pack of `results`, which the caller gives in time order.
pub fn encode(results: &[PackedResult]) -> Result<Vec<u8>, DbError> {
    let plain = crate::head::encode(&results);
    crate::codec::zstd_compress(LEVEL, &plain)
        .map_err(|e| DbError::Corrupt(format!("packing outputs failed: {e}")))
}

pub fn decode(stored: &[u8]) -> Result<Vec<PackedResult>, DbError> {
    let plain = crate::codec::zstd_decompress(stored, "a packed hour")?;
    crate::head::decode(&plain, "packed outputs")
}

/// Adds `fresh` to a pack's results (a late cycle's in an hour already
/// packed), in time order, each cycle once.
pub fn merge(results: &mut Vec<PackedResult>, fresh: Vec<PackedResult>) {
    results.extend(fresh);
    results.sort_by_key(|r| (r.started_at_ms, r.cycle_pk));
    results.dedup_by_key(|r| r.cycle_pk);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(cycle_pk: i64, started_at_ms: i64, output: &[u8]) -> PackedResult {
        PackedResult {
            cycle_pk,
            cycle_id: format!("c{cycle_pk}"),
            position: 1,
            started_at_ms,
            duration_ms: 12,
            exit_code: Some(0),
            signal: None,
            timed_out: false,
            truncated: false,
            parse_errors_json: "[]".into(),
            output: output.to_vec(),
        }
    }

    #[test]
    fn an_hour_of_near_identical_outputs_shrinks_far_more_than_one() {
        let base = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpus/ps/jc-centos77-ps-axu.txt"
        ))
        .expect("corpus ps output");
        let hour: Vec<PackedResult> = (0..60_i64)
            .map(|m| {
                // A minute later, a few bytes have changed.
                let mut out = base.clone();
                for k in 0..20 {
                    let at = usize::try_from(m * 7919 + k * 104_729).unwrap_or(0) % out.len();
                    out[at] = b'0' + u8::try_from((m + k) % 10).unwrap_or(0);
                }
                result(m, m * 60_000, &out)
            })
            .collect();
        let packed = encode(&hour).expect("pack");
        let sent: usize = hour.iter().map(|r| r.output.len()).sum();
        let one_by_one: usize = hour
            .iter()
            .map(|r| crate::codec::encode(&r.output).0.len())
            .sum();
        assert!(packed.len() * 20 < sent, "{} of {sent} bytes", packed.len());
        assert!(
            packed.len() * 5 < one_by_one,
            "{} vs {one_by_one}",
            packed.len()
        );
        assert_eq!(decode(&packed).expect("unpack"), hour);
        assert!(decode(&packed[..packed.len() / 2]).is_err());
        assert!(decode(b"not a pack").is_err());
    }

    #[test]
    fn merging_keeps_time_order_and_each_cycle_once() {
        let mut results = vec![result(1, 0, b"a"), result(3, 120_000, b"c")];
        merge(
            &mut results,
            vec![result(2, 60_000, b"b"), result(3, 120_000, b"c")],
        );
        let order: Vec<i64> = results.iter().map(|r| r.cycle_pk).collect();
        assert_eq!(order, [1, 2, 3]);
    }
}
