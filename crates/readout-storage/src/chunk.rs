//! Compacted series history, the format the compactor writes and charts
//! read (see ARCHITECTURE.md, "Series storage").
//!
//! - An [`Hour`] holds one host's raw numbers of one hour: the cycle times
//!   once, then per series which of those times it has and its values,
//!   compressed with pco (one row per host and hour, not per value). Once
//!   a [`BLOCK_MS`] block of hours is closed, its hours are rewritten as
//!   one row of the same format keyed by the block's start: pco spends
//!   about 100 bytes on a series' hour of varying values and well under a
//!   byte per value on six hours of them.
//! - A [`Day`] holds one series' hourly aggregates of one day: what a chart
//!   longer than a few days reads, and all that is kept once the raw hour
//!   is pruned (`points_days`); one row per series and day.
//!
//! Both are postcard behind a format byte, as the head's blobs are. pco is written for large
//! arrays: on an hour of one series (60 values) it spends ~25 bytes of
//! headers, so a series whose hour is one value repeated stores that value
//! alone, and values pco cannot shrink are kept plain.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::head::{decode as unblob, encode as blob};
use crate::{AggRow, DbError};

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// Closed hours are kept in blocks of six: long enough for pco to learn a
/// series, short enough that retention (whole blocks only) and a late
/// cycle (its block is rewritten) stay cheap.
pub const BLOCK_MS: i64 = 6 * HOUR_MS;

/// pco's level 4 compresses an hour as well as its default 8 (within 2 %)
/// in half the time.
const PCO_LEVEL: usize = 4;

/// One host's raw numbers of one hour: series id → `(at_ms, value)`,
/// oldest first, one value per time.
pub type Hour = BTreeMap<i64, Vec<(i64, f64)>>;

/// Values on their way into hours: hour → series id → time → value.
pub type Folding = BTreeMap<i64, BTreeMap<i64, BTreeMap<i64, f64>>>;

/// Files a value under its hour; a later offer at the same time wins.
pub fn offer(folding: &mut Folding, id: i64, at_ms: i64, value: f64) {
    let hour_ms = at_ms.div_euclid(HOUR_MS) * HOUR_MS;
    folding
        .entry(hour_ms)
        .or_default()
        .entry(id)
        .or_default()
        .insert(at_ms, value);
}

#[derive(Serialize, Deserialize)]
enum Values<'a> {
    /// Every value is this one.
    Same(f64),
    Plain(Vec<f64>),
    Pco(#[serde(borrow)] &'a [u8]),
}

#[derive(Serialize, Deserialize)]
struct Section<'a> {
    id: i64,
    /// Indexes into the hour's times; empty when the series has them all.
    present: Vec<u16>,
    #[serde(borrow)]
    values: Values<'a>,
}

#[derive(Serialize, Deserialize)]
struct HourBlob<'a> {
    /// Times as deltas of deltas (the first from the hour's start): 0 for
    /// an agent that keeps its interval, one byte each.
    times: Vec<i64>,
    #[serde(borrow)]
    series: Vec<Section<'a>>,
}

fn is_same(values: &[f64]) -> bool {
    values
        .split_first()
        .is_some_and(|(first, rest)| rest.iter().all(|v| v.to_bits() == first.to_bits()))
}

/// pco's bytes for `values`, when that is the smallest way to keep them.
fn pack(values: &[f64]) -> Option<Vec<u8>> {
    if is_same(values) {
        return None;
    }
    let config = pco::ChunkConfig::default().with_compression_level(PCO_LEVEL);
    pco::standalone::simple_compress(values, &config)
        .ok()
        .filter(|bytes| bytes.len() < values.len() * 8)
}

fn values_of<'a>(values: &[f64], packed: Option<&'a [u8]>) -> Values<'a> {
    match (packed, values.first()) {
        (Some(bytes), _) => Values::Pco(bytes),
        (None, Some(first)) if is_same(values) => Values::Same(*first),
        (None, _) => Values::Plain(values.to_vec()),
    }
}

fn unpack_values(values: &Values<'_>, len: usize) -> Result<Vec<f64>, DbError> {
    let out = match values {
        Values::Same(v) => vec![*v; len],
        Values::Plain(v) => v.clone(),
        Values::Pco(bytes) => pco::standalone::simple_decompress::<f64>(bytes)
            .map_err(|e| DbError::Corrupt(format!("hour chunk values: {e}")))?,
    };
    if out.len() != len {
        return Err(DbError::Corrupt(format!(
            "hour chunk: {} values for {len} times",
            out.len()
        )));
    }
    Ok(out)
}

/// Encodes the hour starting at `hour_ms`.
pub fn encode_hour(hour_ms: i64, hour: &Hour) -> Vec<u8> {
    let times: Vec<i64> = {
        let mut all: Vec<i64> = hour.values().flatten().map(|p| p.0).collect();
        all.sort_unstable();
        all.dedup();
        all
    };
    let index: BTreeMap<i64, u16> = times
        .iter()
        .enumerate()
        .map(|(i, t)| (*t, u16::try_from(i).unwrap_or(u16::MAX)))
        .collect();
    let values: Vec<Vec<f64>> = hour
        .values()
        .map(|points| points.iter().map(|p| p.1).collect())
        .collect();
    let packed: Vec<Option<Vec<u8>>> = values.iter().map(|v| pack(v)).collect();
    let series = hour
        .iter()
        .zip(values.iter().zip(&packed))
        .map(|((id, points), (values, packed))| Section {
            id: *id,
            present: if points.len() == times.len() {
                Vec::new()
            } else {
                points
                    .iter()
                    .filter_map(|p| index.get(&p.0).copied())
                    .collect()
            },
            values: values_of(values, packed.as_deref()),
        })
        .collect();
    let (mut previous, mut step) = (hour_ms, 0);
    let deltas = times
        .iter()
        .map(|t| {
            let d = t - previous;
            previous = *t;
            let dd = d - step;
            step = d;
            dd
        })
        .collect();
    blob(&HourBlob {
        times: deltas,
        series,
    })
}

fn times_of(hour_ms: i64, deltas: &[i64]) -> Vec<i64> {
    let (mut at, mut step) = (hour_ms, 0i64);
    deltas
        .iter()
        .map(|dd| {
            step = step.saturating_add(*dd);
            at = at.saturating_add(step);
            at
        })
        .collect()
}

fn points_of(section: &Section<'_>, times: &[i64]) -> Result<Vec<(i64, f64)>, DbError> {
    let at: Vec<i64> = if section.present.is_empty() {
        times.to_vec()
    } else {
        section
            .present
            .iter()
            .map(|i| times.get(usize::from(*i)).copied())
            .collect::<Option<_>>()
            .ok_or_else(|| DbError::Corrupt("hour chunk: a time out of range".into()))?
    };
    let values = unpack_values(&section.values, at.len())?;
    Ok(at.into_iter().zip(values).collect())
}

/// Decodes every series of an hour.
pub fn decode_hour(hour_ms: i64, bytes: &[u8]) -> Result<Hour, DbError> {
    let blob: HourBlob<'_> = unblob(bytes, "hour chunk")?;
    let times = times_of(hour_ms, &blob.times);
    blob.series
        .iter()
        .map(|s| Ok((s.id, points_of(s, &times)?)))
        .collect()
}

/// Decodes one series of an hour, leaving the others packed.
pub fn decode_series(hour_ms: i64, bytes: &[u8], id: i64) -> Result<Vec<(i64, f64)>, DbError> {
    let blob: HourBlob<'_> = unblob(bytes, "hour chunk")?;
    match blob.series.iter().find(|s| s.id == id) {
        Some(section) => points_of(section, &times_of(hour_ms, &blob.times)),
        None => Ok(Vec::new()),
    }
}

/// How many values an hour holds (the benchmark counts samples with it).
pub fn count_hour(bytes: &[u8]) -> Result<u64, DbError> {
    let blob: HourBlob<'_> = unblob(bytes, "hour chunk")?;
    Ok(blob
        .series
        .iter()
        .map(|s| {
            if s.present.is_empty() {
                blob.times.len()
            } else {
                s.present.len()
            }
        })
        .sum::<usize>() as u64)
}

/// A stored row's values (an hour or a block of them) by hour.
pub fn split_hours(row: Hour) -> BTreeMap<i64, Hour> {
    let mut hours: BTreeMap<i64, Hour> = BTreeMap::new();
    for (id, points) in row {
        for point in points {
            let hour_ms = point.0.div_euclid(HOUR_MS) * HOUR_MS;
            hours
                .entry(hour_ms)
                .or_default()
                .entry(id)
                .or_default()
                .push(point);
        }
    }
    hours
}

/// Adds `other`'s values to `into`; at a time both have, `other`'s wins.
pub fn merge_into(into: &mut Hour, other: &Hour) {
    for (id, points) in other {
        let series = into.entry(*id).or_default();
        let mut merged: BTreeMap<i64, f64> = series.iter().copied().collect();
        merged.extend(points.iter().copied());
        *series = merged.into_iter().collect();
    }
}

/// One hour's aggregate of a series, keyed by its hour's start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HourAgg {
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: u32,
    pub last: f64,
}

impl HourAgg {
    /// The aggregate of points of one hour, oldest first.
    pub fn of(points: &[(i64, f64)]) -> Option<Self> {
        let (&(_, first), rest) = points.split_first()?;
        let mut agg = Self {
            min: first,
            max: first,
            sum: first,
            count: 1,
            last: first,
        };
        for &(_, v) in rest {
            agg.min = agg.min.min(v);
            agg.max = agg.max.max(v);
            agg.sum += v;
            agg.count += 1;
            agg.last = v;
        }
        Some(agg)
    }

    /// Adds `later`, values taken after these.
    pub fn add(&mut self, later: &Self) {
        self.min = self.min.min(later.min);
        self.max = self.max.max(later.max);
        self.sum += later.sum;
        self.count += later.count;
        self.last = later.last;
    }

    pub fn row(&self, at_ms: i64) -> AggRow {
        AggRow {
            at_ms,
            min: self.min,
            max: self.max,
            sum: self.sum,
            count: i64::from(self.count),
            last: self.last,
        }
    }
}

/// One series' hourly aggregates of one day, by hour of the day (0–23).
pub type Day = BTreeMap<u8, HourAgg>;

pub fn encode_day(day: &Day) -> Vec<u8> {
    blob(day)
}

pub fn decode_day(bytes: &[u8]) -> Result<Day, DbError> {
    let day: Day = unblob(bytes, "day of hourly aggregates")?;
    if day.keys().any(|h| *h > 23) {
        return Err(DbError::Corrupt(
            "day of hourly aggregates: an hour past 23".into(),
        ));
    }
    Ok(day)
}

/// The hour of the day of `hour_ms`, and its day's start.
pub fn day_and_hour(hour_ms: i64) -> (i64, u8) {
    let day = hour_ms.div_euclid(DAY_MS) * DAY_MS;
    // 0..24 by construction.
    (day, u8::try_from((hour_ms - day) / HOUR_MS).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 1_000 * HOUR_MS;

    fn hour() -> Hour {
        let mut hour = Hour::new();
        let minutes = |f: &dyn Fn(i64) -> f64| -> Vec<(i64, f64)> {
            (0..60).map(|m| (H + m * 60_000 + 17, f(m))).collect()
        };
        hour.insert(1, minutes(&|_| 16_384.0));
        hour.insert(2, minutes(&|m| 0.5 + (m % 7) as f64 / 100.0));
        hour.insert(3, minutes(&|m| 1e12 + m as f64 * 123_456.0));
        // A series seen in a few cycles only.
        hour.insert(9, vec![(H + 17, 1.0), (H + 30 * 60_000 + 17, 2.0)]);
        hour
    }

    #[test]
    fn an_hour_round_trips_whole_and_by_series() {
        let hour = hour();
        let bytes = encode_hour(H, &hour);
        assert_eq!(decode_hour(H, &bytes).expect("decodes"), hour);
        assert_eq!(decode_series(H, &bytes, 9).expect("decodes"), hour[&9]);
        assert_eq!(decode_series(H, &bytes, 4).expect("decodes"), vec![]);
        assert_eq!(count_hour(&bytes).expect("counts"), 182);
        // 182 values, 1,456 bytes as plain numbers.
        assert!(bytes.len() < 300, "{} bytes", bytes.len());
    }

    #[test]
    fn six_hours_in_one_block_take_less_than_half_of_six_hour_rows() {
        // A series whose last digit moves at random, as many real ones do.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut digit = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 10) as f64
        };
        let mut block = Hour::new();
        let mut rows = 0;
        for h in 0..6 {
            let mut hour = Hour::new();
            let start = H + h * HOUR_MS;
            for id in 1..=20 {
                let points: Vec<(i64, f64)> = (0..60)
                    .map(|m| (start + m * 60_000, 758_990_000.0 * id as f64 + digit()))
                    .collect();
                hour.insert(id, points);
            }
            rows += encode_hour(start, &hour).len();
            merge_into(&mut block, &hour);
        }
        let bytes = encode_hour(H, &block);
        assert!(bytes.len() * 2 < rows, "{} vs {rows} bytes", bytes.len());
        let back = decode_hour(H, &bytes).expect("decodes");
        assert_eq!(back, block);
        let hours = split_hours(back);
        assert_eq!(hours.len(), 6);
        assert_eq!(hours[&(H + 5 * HOUR_MS)][&3].len(), 60);
        assert!(
            hours[&(H + 5 * HOUR_MS)][&3]
                .iter()
                .all(|p| p.0 >= H + 5 * HOUR_MS)
        );
        // A later write at a time already there replaces its value.
        let mut newer = Hour::new();
        newer.insert(3, vec![(H, 1.0)]);
        merge_into(&mut block, &newer);
        assert_eq!((block[&3][0], block[&3].len()), ((H, 1.0), 360));
    }

    #[test]
    fn odd_numbers_survive_bit_for_bit() {
        let mut hour = Hour::new();
        let odd = [f64::MAX, f64::MIN_POSITIVE, -0.0, 0.1 + 0.2, 1e-300, -7.25];
        hour.insert(
            5,
            odd.iter()
                .enumerate()
                .map(|(i, v)| (H + i as i64, *v))
                .collect(),
        );
        let back = decode_hour(H, &encode_hour(H, &hour)).expect("decodes");
        let bits = |h: &Hour| -> Vec<u64> { h[&5].iter().map(|p| p.1.to_bits()).collect() };
        assert_eq!(bits(&back), bits(&hour));
    }

    #[test]
    fn days_round_trip_and_aggregate() {
        let agg = HourAgg::of(&[(0, 3.0), (1, 5.0), (2, 1.0)]).expect("points");
        assert_eq!(
            (agg.min, agg.max, agg.sum, agg.count, agg.last),
            (1.0, 5.0, 9.0, 3, 1.0)
        );
        let mut day = Day::new();
        day.insert(0, agg);
        day.insert(23, agg);
        assert_eq!(decode_day(&encode_day(&day)).expect("decodes"), day);
        assert_eq!(
            day_and_hour(H + 5 * HOUR_MS),
            (H / DAY_MS * DAY_MS, ((H / HOUR_MS + 5) % 24) as u8)
        );
        assert_eq!(day_and_hour(-HOUR_MS), (-DAY_MS, 23));
    }

    #[test]
    fn damaged_blobs_are_errors_not_panics() {
        let bytes = encode_hour(H, &hour());
        for cut in [0, 1, 5, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode_hour(H, &bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode_hour(H, &[9, 0, 0]).is_err());
        assert!(decode_day(&[crate::head::FORMAT, 1, 30, 0]).is_err());
        assert!(decode_day(&[]).is_err());
    }
}
