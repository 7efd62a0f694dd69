//! One host's parsing of one cycle: every data source's parser over its
//! command's output, then the host's derived variables over the result.
//!
//! Failures are collected per variable, never fatal: a broken parser for
//! one command leaves the others' values intact.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::derive::{Formula, Reading, rate};
use crate::extract::ParserConfig;
use crate::{Input, ParseError, Value, Values, presets};

/// A data source: a command the host runs and how its output is read.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    /// The allowlist name (`free`).
    pub name: &'a str,
    /// The command line as the agent reported it (`free -m`).
    pub command: &'a str,
    pub parser: &'a ParserConfig,
}

/// What one command printed in this cycle.
#[derive(Debug, Clone, Copy)]
pub struct Output<'a> {
    pub name: &'a str,
    pub output: &'a str,
    pub exit_code: Option<i32>,
}

/// A variable computed from the host's other variables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Derived {
    pub name: String,
    #[serde(flatten)]
    pub spec: DerivedSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum DerivedSpec {
    /// `used / total * 100`.
    Formula(String),
    /// Per-second rate of a counter variable (resets handled).
    RateOf(String),
}

impl Derived {
    /// Checks the name and the formula before it is stored.
    pub fn check(&self) -> Result<(), ParseError> {
        let named = |what: &str, e: ParseError| ParseError::new(format!("{what}: {e}"));
        crate::extract::check_variable_name(&self.name).map_err(|e| named(&self.name, e))?;
        match &self.spec {
            DerivedSpec::Formula(text) => Formula::parse(text)
                .map(drop)
                .map_err(|e| named("formula", e)),
            DerivedSpec::RateOf(of) => {
                crate::extract::check_variable_name(of).map_err(|e| named("rate_of", e))
            }
        }
    }
}

/// The source name under which derived variables and their errors appear.
pub const DERIVED_SOURCE: &str = "derived";

/// Values one source may yield per cycle: output is untrusted, and a
/// `df` listing 5,000 fake mounts must not become 20,000 series.
pub const MAX_VALUES_PER_SOURCE: usize = 1_000;
/// Values one cycle may yield, all sources together.
pub const MAX_VALUES_PER_CYCLE: usize = 4_000;
/// Errors listed per source; the rest are counted in one more line.
pub const MAX_ERRORS_PER_SOURCE: usize = 50;

/// The variable name of a parse error that speaks of the source as a whole.
pub const WHOLE_SOURCE: &str = "*";

/// Why a variable has no value in this cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariableError {
    /// The variable, or `preset NAME` when a whole preset failed.
    pub variable: String,
    pub message: String,
}

/// Everything one cycle yielded for a host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CycleValues {
    /// `(source, variable) → value`; a variable belongs to one source.
    pub values: BTreeMap<String, (String, Value)>,
    /// Per source (command name or [`DERIVED_SOURCE`]), what failed.
    pub errors: BTreeMap<String, Vec<VariableError>>,
}

impl CycleValues {
    fn fail(&mut self, source: &str, variable: String, message: String) {
        self.errors
            .entry(source.to_owned())
            .or_default()
            .push(VariableError { variable, message });
    }

    /// Keeps the values whose series exist (`known`) and at most `room`
    /// new ones; each source that lost values gets one error saying so
    /// (a host's series are bounded, `limit` in the message).
    pub fn keep_new_within(&mut self, room: usize, limit: usize, known: impl Fn(&str) -> bool) {
        let mut left = room;
        let mut dropped: BTreeMap<String, usize> = BTreeMap::new();
        self.values.retain(|name, (source, _)| {
            if known(name) {
                return true;
            }
            if left > 0 {
                left -= 1;
                return true;
            }
            *dropped.entry(source.clone()).or_default() += 1;
            false
        });
        for (source, n) in dropped {
            let message =
                format!("{n} new variables were dropped: a host keeps at most {limit} series");
            self.fail(&source, WHOLE_SOURCE.to_owned(), message);
        }
    }

    /// Values by name, as formulas see them.
    fn flat(&self) -> Values {
        self.values
            .iter()
            .map(|(name, (_, v))| (name.clone(), v.clone()))
            .collect()
    }
}

/// Parses one cycle. `previous` gives a counter's last reading before
/// `at_ms`, for rates; sources are read in the order given, and a variable
/// a second source also yields is reported as an error there.
pub fn parse_cycle(
    sources: &[Source<'_>],
    outputs: &[Output<'_>],
    derived: &[Derived],
    at_ms: i64,
    previous: impl Fn(&str) -> Option<Reading>,
) -> CycleValues {
    let mut cycle = CycleValues::default();
    // Names a preset yielded, with that preset's rank: when two presets
    // yield one variable (load from uptime and /proc/loadavg, CPU from
    // vmstat and top), the better reader keeps it, without an error.
    let mut by_preset: HashMap<String, usize> = HashMap::new();
    for source in sources {
        let Some(out) = outputs.iter().find(|o| o.name == source.name) else {
            continue;
        };
        let input = Input {
            command: source.command,
            output: out.output,
            exit_code: out.exit_code,
        };
        let (mut taken, mut dropped, mut failures) = (0, 0, 0);
        let (from_preset, own) = source.parser.extract_parts(input);
        let rank = source.parser.preset.as_deref().map(presets::rank);
        let from_preset = from_preset
            .into_iter()
            .map(|(name, value)| (name, value, rank));
        for (name, value, rank) in from_preset.chain(own.into_iter().map(|(n, v)| (n, v, None))) {
            if let (Ok(value), Some(rank)) = (&value, rank)
                && let Some(&held) = by_preset.get(&name)
            {
                if rank < held {
                    by_preset.insert(name.clone(), rank);
                    cycle
                        .values
                        .insert(name, (source.name.to_owned(), value.clone()));
                }
                continue;
            }
            let failure = match value {
                Err(e) => e.to_string(),
                Ok(value) => match cycle.values.get(&name) {
                    Some((owner, _)) => format!("already produced by the source {owner:?}"),
                    None if taken >= MAX_VALUES_PER_SOURCE
                        || cycle.values.len() >= MAX_VALUES_PER_CYCLE =>
                    {
                        dropped += 1;
                        continue;
                    }
                    None => {
                        if let Some(rank) = rank {
                            by_preset.insert(name.clone(), rank);
                        }
                        cycle.values.insert(name, (source.name.to_owned(), value));
                        taken += 1;
                        continue;
                    }
                },
            };
            failures += 1;
            if failures <= MAX_ERRORS_PER_SOURCE {
                cycle.fail(source.name, name, failure);
            }
        }
        if dropped > 0 {
            let message = format!(
                "{dropped} more values were dropped: a source yields at most \
                 {MAX_VALUES_PER_SOURCE} values per cycle, a cycle at most {MAX_VALUES_PER_CYCLE}"
            );
            cycle.fail(source.name, WHOLE_SOURCE.to_owned(), message);
        }
        if failures > MAX_ERRORS_PER_SOURCE {
            let message = format!(
                "{} more variables failed (the first {MAX_ERRORS_PER_SOURCE} are listed)",
                failures - MAX_ERRORS_PER_SOURCE
            );
            cycle.fail(source.name, WHOLE_SOURCE.to_owned(), message);
        }
    }
    // Derived variables see the parsed ones and the derived ones before them.
    for d in derived {
        let result = match &d.spec {
            DerivedSpec::Formula(text) => Formula::parse(text).and_then(|f| f.eval(&cycle.flat())),
            DerivedSpec::RateOf(of) => counter_rate(&cycle, of, at_ms, &previous),
        };
        match result {
            Ok(_) if cycle.values.contains_key(&d.name) => {
                let message = "a parsed variable has this name".to_owned();
                cycle.fail(DERIVED_SOURCE, d.name.clone(), message);
            }
            Ok(v) => {
                cycle.values.insert(
                    d.name.clone(),
                    (DERIVED_SOURCE.to_owned(), Value::Number(v)),
                );
            }
            Err(e) => cycle.fail(DERIVED_SOURCE, d.name.clone(), e.to_string()),
        }
    }
    cycle
}

fn counter_rate(
    cycle: &CycleValues,
    of: &str,
    at_ms: i64,
    previous: &impl Fn(&str) -> Option<Reading>,
) -> Result<f64, ParseError> {
    let current = match cycle.values.get(of) {
        Some((_, Value::Number(n))) => *n,
        Some((_, Value::Text(_))) => {
            return Err(ParseError::new(format!("{of} is text, not a counter")));
        }
        None => return Err(ParseError::new(format!("no variable {of} in this cycle"))),
    };
    let before = previous(of).ok_or_else(|| {
        ParseError::new(format!(
            "no earlier reading of {of} yet; the rate starts next cycle"
        ))
    })?;
    rate(
        before,
        Reading {
            at_ms,
            value: current,
        },
    )
    .ok_or_else(|| ParseError::new(format!("the earlier reading of {of} is not older")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> ParserConfig {
        ParserConfig::from_json(json).expect("config")
    }

    #[test]
    fn sources_derive_and_fail_independently() {
        let free = config(r#"{"preset": "free"}"#);
        let broken = config(r#"{"variables": [{"name": "x", "extract": {"from": "whole"}}]}"#);
        let sources = [
            Source {
                name: "free",
                command: "free",
                parser: &free,
            },
            Source {
                name: "words",
                command: "echo hi",
                parser: &broken,
            },
        ];
        let free_out = "              total        used        free      shared  buff/cache   available\n\
Mem:        1000000      250000      500000        1000      250000      700000\n\
Swap:             0           0           0\n";
        let outputs = [
            Output {
                name: "free",
                output: free_out,
                exit_code: Some(0),
            },
            Output {
                name: "words",
                output: "hi",
                exit_code: Some(0),
            },
        ];
        let derived = vec![
            Derived {
                name: "used_share".into(),
                spec: DerivedSpec::Formula("mem_used_bytes / mem_total_bytes * 100".into()),
            },
            Derived {
                name: "used_rate".into(),
                spec: DerivedSpec::RateOf("mem_used_bytes".into()),
            },
            Derived {
                name: "missing".into(),
                spec: DerivedSpec::Formula("nothing + 1".into()),
            },
        ];
        let previous = |name: &str| {
            (name == "mem_used_bytes").then_some(Reading {
                at_ms: 0,
                value: 250_000.0 * 1024.0 - 60_000.0,
            })
        };
        let cycle = parse_cycle(&sources, &outputs, &derived, 60_000, previous);
        assert_eq!(
            cycle.values.get("used_share"),
            Some(&("derived".to_owned(), Value::Number(25.0)))
        );
        assert_eq!(
            cycle.values.get("used_rate"),
            Some(&("derived".to_owned(), Value::Number(1000.0)))
        );
        assert_eq!(
            cycle.values.get("mem_total_bytes").map(|(s, _)| s.as_str()),
            Some("free")
        );
        assert_eq!(
            cycle.errors["words"],
            [VariableError {
                variable: "x".into(),
                message: "cannot read \"hi\" as a number".into()
            }]
        );
        assert_eq!(cycle.errors["derived"][0].variable, "missing");
        assert_eq!(cycle.errors["derived"][0].message, "no variable nothing");
    }

    /// A `df` listing 5,000 fake mounts (a cardinality bomb) yields at
    /// most the per-source cap, with one error that says so.
    #[test]
    fn one_source_yields_at_most_its_cap_of_values() {
        let df = config(r#"{"preset": "df"}"#);
        let mut output =
            String::from("Filesystem     1024-blocks    Used Available Capacity Mounted on\n");
        for i in 0..5_000 {
            output.push_str(&format!("/dev/fake{i} 1000 500 500 50% /mnt/fake{i}\n"));
        }
        let sources = [Source {
            name: "disk",
            command: "df -P",
            parser: &df,
        }];
        let outputs = [Output {
            name: "disk",
            output: &output,
            exit_code: Some(0),
        }];
        let cycle = parse_cycle(&sources, &outputs, &[], 0, |_| None);
        assert_eq!(cycle.values.len(), MAX_VALUES_PER_SOURCE);
        let errors = &cycle.errors["disk"];
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].variable, WHOLE_SOURCE);
        assert!(
            errors[0].message.contains("more values were dropped"),
            "{errors:?}"
        );
    }

    #[test]
    fn a_host_at_its_series_limit_keeps_only_known_variables() {
        let mut cycle = CycleValues::default();
        for name in ["old_a", "new_b", "new_c", "old_d"] {
            cycle
                .values
                .insert(name.into(), ("src".into(), Value::Number(1.0)));
        }
        cycle.keep_new_within(1, 3, |name| name.starts_with("old"));
        let kept: Vec<&str> = cycle.values.keys().map(String::as_str).collect();
        assert_eq!(kept, ["new_b", "old_a", "old_d"]);
        assert_eq!(cycle.errors["src"][0].variable, WHOLE_SOURCE);
        assert!(
            cycle.errors["src"][0]
                .message
                .contains("1 new variables were dropped")
        );
    }

    #[test]
    fn a_second_source_cannot_take_a_name() {
        let whole = config(r#"{"variables": [{"name": "n", "extract": {"from": "whole"}}]}"#);
        let sources = [
            Source {
                name: "a",
                command: "echo 1",
                parser: &whole,
            },
            Source {
                name: "b",
                command: "echo 2",
                parser: &whole,
            },
        ];
        let outputs = [
            Output {
                name: "a",
                output: "1",
                exit_code: Some(0),
            },
            Output {
                name: "b",
                output: "2",
                exit_code: Some(0),
            },
        ];
        let cycle = parse_cycle(&sources, &outputs, &[], 0, |_| None);
        assert_eq!(
            cycle.values["n"],
            ("a".to_owned(), Value::Number(1.0)),
            "first source wins"
        );
        assert_eq!(
            cycle.errors["b"][0].message,
            "already produced by the source \"a\""
        );
    }

    #[test]
    fn rates_wait_for_a_second_reading() {
        let whole = config(r#"{"variables": [{"name": "bytes", "extract": {"from": "whole"}}]}"#);
        let sources = [Source {
            name: "c",
            command: "cat counter",
            parser: &whole,
        }];
        let outputs = [Output {
            name: "c",
            output: "100",
            exit_code: Some(0),
        }];
        let derived = [Derived {
            name: "bytes_per_s".into(),
            spec: DerivedSpec::RateOf("bytes".into()),
        }];
        let cycle = parse_cycle(&sources, &outputs, &derived, 0, |_| None);
        assert!(cycle.errors["derived"][0].message.contains("next cycle"));
    }
}
