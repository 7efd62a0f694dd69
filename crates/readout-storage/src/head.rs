//! The head of the series store. A cycle's numbers go in as one row (one
//! blob of `(series id, value)`) and a host's latest values are one row,
//! rewritten per cycle: a few statements per cycle, not several per
//! value. The compactor folds head rows into points and roll-ups later;
//! reads merge both, so a value is visible as soon as its cycle is.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::DbError;

/// First byte of every blob: the format, so it can change.
pub(crate) const FORMAT: u8 = 1;

/// Postcard behind the format byte (the chunks use it too).
pub(crate) fn encode<T: Serialize>(what: &T) -> Vec<u8> {
    let mut out = vec![FORMAT];
    // Serialising plain numbers and strings into a Vec cannot fail.
    out.extend(postcard::to_allocvec(what).unwrap_or_default());
    out
}

pub(crate) fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &str) -> Result<T, DbError> {
    match bytes.split_first() {
        Some((&FORMAT, rest)) => {
            postcard::from_bytes(rest).map_err(|e| DbError::Corrupt(format!("{what}: {e}")))
        }
        Some((other, _)) => Err(DbError::Corrupt(format!("{what}: unknown format {other}"))),
        None => Err(DbError::Corrupt(format!("{what}: empty"))),
    }
}

/// The numbers of one write, by series id.
pub fn encode_values(values: &[(i64, f64)]) -> Vec<u8> {
    encode(&values)
}

pub fn decode_values(bytes: &[u8]) -> Result<Vec<(i64, f64)>, DbError> {
    decode(bytes, "head values")
}

/// A series' latest reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LatestValue {
    Number(f64),
    Text(String),
}

/// A host's latest readings by series id, with their times.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Latest(pub BTreeMap<i64, (i64, LatestValue)>);

impl Latest {
    pub fn decode(bytes: &[u8]) -> Result<Self, DbError> {
        let entries: Vec<(i64, i64, LatestValue)> = decode(bytes, "latest values")?;
        Ok(Self(
            entries
                .into_iter()
                .map(|(id, at, value)| (id, (at, value)))
                .collect(),
        ))
    }

    pub fn encode(&self) -> Vec<u8> {
        let entries: Vec<(i64, i64, &LatestValue)> = self
            .0
            .iter()
            .map(|(id, (at, value))| (*id, *at, value))
            .collect();
        encode(&entries)
    }

    /// Takes `value` unless a later one is already there (an agent's
    /// spool sends old cycles after new ones).
    pub fn offer(&mut self, id: i64, at_ms: i64, value: LatestValue) {
        match self.0.get(&id) {
            Some((at, _)) if *at > at_ms => {}
            _ => {
                self.0.insert(id, (at_ms, value));
            }
        }
    }
}

/// A host's series ids by name, with the source producing each: what a
/// writer needs to file a cycle's values, kept as one row (`series_names`)
/// so a cycle reads one row, not one per series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Names(pub HashMap<String, (i64, String)>);

impl Names {
    pub fn decode(bytes: &[u8]) -> Result<Self, DbError> {
        let (sources, entries): (Vec<String>, Vec<(i64, String, u32)>) =
            decode(bytes, "series names")?;
        let mut names = HashMap::with_capacity(entries.len());
        for (id, name, source) in entries {
            let source = usize::try_from(source)
                .ok()
                .and_then(|i| sources.get(i))
                .ok_or_else(|| DbError::Corrupt(format!("series names: no source {source}")))?;
            names.insert(name, (id, source.clone()));
        }
        Ok(Self(names))
    }

    /// Each source once: a host has a few sources and hundreds of names.
    pub fn encode(&self) -> Vec<u8> {
        let mut sources: Vec<&str> = Vec::new();
        let mut index: HashMap<&str, u32> = HashMap::new();
        let mut entries: Vec<(i64, &str, u32)> = Vec::with_capacity(self.0.len());
        for (name, (id, source)) in &self.0 {
            let i = *index.entry(source.as_str()).or_insert_with(|| {
                sources.push(source);
                u32::try_from(sources.len() - 1).unwrap_or(u32::MAX)
            });
            entries.push((*id, name, i));
        }
        encode(&(sources, entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_latest_round_trip() {
        let values = vec![(1, 0.5), (7, -3.0), (1_000_000, f64::MAX)];
        assert_eq!(
            decode_values(&encode_values(&values)).expect("decodes"),
            values
        );
        let mut latest = Latest::default();
        latest.offer(3, 2_000, LatestValue::Number(1.5));
        latest.offer(3, 1_000, LatestValue::Number(9.0));
        latest.offer(4, 1_000, LatestValue::Text("up".into()));
        let back = Latest::decode(&latest.encode()).expect("decodes");
        assert_eq!(back, latest);
        assert_eq!(
            back.0[&3],
            (2_000, LatestValue::Number(1.5)),
            "the later value stays"
        );
    }

    #[test]
    fn names_round_trip_with_shared_sources() {
        let mut names = Names::default();
        names
            .0
            .insert("load1".into(), (1, "readout_loadavg".into()));
        names
            .0
            .insert("load5".into(), (2, "readout_loadavg".into()));
        names
            .0
            .insert("mem_used".into(), (9, "readout_free".into()));
        let bytes = names.encode();
        assert_eq!(Names::decode(&bytes).expect("decodes"), names);
        assert!(Names::decode(&[FORMAT, 0, 1, 2, 1, b'x', 5]).is_err());
    }

    #[test]
    fn a_damaged_blob_is_an_error_not_a_panic() {
        assert!(decode_values(&[]).is_err());
        assert!(decode_values(&[9, 1, 2]).is_err());
        assert!(decode_values(&[FORMAT, 200]).is_err());
        assert!(Latest::decode(&[FORMAT, 5, 1]).is_err());
    }
}
