//! Turns the raw output of a command into named variables.
//!
//! A [`preset`](presets) understands one common command (`free`, `uptime`,
//! `/proc/meminfo` …) on the output variants of real systems and yields a
//! documented set of variables in base units: bytes, seconds, percent,
//! degrees Celsius, counts. A preset either reads its input or fails with a
//! [`ParseError`] that says which line it could not read: it never returns
//! a wrong number silently.
//!
//! Pure: no I/O, no clock. Every parser here is property-tested not to panic
//! on any input.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt;

pub mod derive;
pub mod extract;
pub mod host;
pub mod presets;
pub mod table;
pub mod units;

/// A variable's value: a number (charted) or a text (shown, never charted).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Value {
    Number(f64),
    Text(String),
}

/// Variables by name. Names are `snake_case`, with Prometheus-style labels
/// where one output yields a series per item: `fs_used_pct{mount="/"}`.
pub type Values = BTreeMap<String, Value>;

/// What a parser gets: the output, the command line that produced it
/// (flags such as `free -m` change the meaning of bare numbers), and the
/// exit status (a Nagios plugin's status is its exit code).
#[derive(Debug, Clone, Copy, Default)]
pub struct Input<'a> {
    pub command: &'a str,
    pub output: &'a str,
    pub exit_code: Option<i32>,
}

/// Output a parser could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// 1-based line of the output, when one line is to blame.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl ParseError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            line: None,
            message: message.into(),
        }
    }

    pub fn at(line: usize, message: impl Into<String>) -> Self {
        Self {
            line: Some(line),
            message: message.into(),
        }
    }
}

/// Collects a parser's variables, keeping only finite numbers.
#[derive(Debug, Default)]
pub(crate) struct Out(Values);

impl Out {
    pub(crate) fn num(&mut self, name: impl Into<String>, value: f64) {
        if value.is_finite() {
            self.0.insert(name.into(), Value::Number(value));
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<f64> {
        match self.0.get(name) {
            Some(Value::Number(n)) => Some(*n),
            _ => None,
        }
    }

    pub(crate) fn numbers(&self) -> impl Iterator<Item = (&str, f64)> {
        self.0.iter().filter_map(|(name, value)| match value {
            Value::Number(n) => Some((name.as_str(), *n)),
            _ => None,
        })
    }

    /// `part / whole * 100`, when both are known and `whole` is not zero.
    pub(crate) fn pct(&mut self, name: &str, part: &str, whole: &str) {
        if let (Some(p), Some(w)) = (self.get(part), self.get(whole))
            && w > 0.0
        {
            self.num(name, p / w * 100.0);
        }
    }

    pub(crate) fn done(self) -> Result<Values, ParseError> {
        if self.0.is_empty() {
            return Err(ParseError::new("no variables found in the output"));
        }
        Ok(self.0)
    }
}

/// A label value, escaped as in the Prometheus text format.
pub(crate) fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
