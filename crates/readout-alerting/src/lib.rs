//! When a variable is in trouble, and when it is not any more.
//!
//! A [`Rule`] holds a warning and an error [`Range`], how many consecutive
//! cycles a change needs before it counts, and a hysteresis margin that a
//! value must clear to recover. A [`Tracker`] is one variable's state; it
//! takes one [`Observation`] per cycle and answers the [`Transition`], if
//! any, that the cycle caused. Pure: no clock, no I/O; the server stores the
//! tracker between cycles and turns transitions into notifications.
//!
//! [`route`] plans who is told of what (routes, grouping, repeats,
//! escalation) and [`window`] when nobody is (maintenance windows).

#![forbid(unsafe_code)]

use serde::{Deserialize, Serialize};

pub mod route;
pub mod window;

/// Where a value is in trouble.
///
/// Bounds are exclusive for `above`/`below` and `outside` (a value equal to
/// a bound is *not* in trouble: "above 90" fires at 90.1, not at 90), and
/// inclusive for `inside` (`inside [0, 5]` fires at 0 and at 5). So
/// `outside [a, b]` and `inside [a, b]` are exact complements.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Range {
    Above(f64),
    Below(f64),
    Outside(f64, f64),
    Inside(f64, f64),
}

impl Range {
    /// Whether `value` is in this range.
    pub fn contains(self, value: f64) -> bool {
        self.widened(value, 0.0)
    }

    /// Whether `value` is in this range grown by `margin` on the side a
    /// recovering value leaves by: a value in the margin has not recovered.
    fn widened(self, value: f64, margin: f64) -> bool {
        match self {
            Range::Above(x) => value > x - margin,
            Range::Below(x) => value < x + margin,
            Range::Outside(a, b) => value < a + margin || value > b - margin,
            Range::Inside(a, b) => value >= a - margin && value <= b + margin,
        }
    }

    fn check(self, what: &str) -> Result<(), RuleError> {
        let finite = |x: f64| {
            if x.is_finite() {
                Ok(())
            } else {
                Err(RuleError(format!("{what}: {x} is not a finite number")))
            }
        };
        match self {
            Range::Above(x) | Range::Below(x) => finite(x),
            Range::Outside(a, b) | Range::Inside(a, b) => {
                finite(a)?;
                finite(b)?;
                if a > b {
                    return Err(RuleError(format!(
                        "{what}: [{a}, {b}] is empty; write the smaller bound first"
                    )));
                }
                Ok(())
            }
        }
    }
}

/// A variable's state. `NoData`: the variable stopped being produced (parse
/// failure, command removed). `Silent`: its host sent nothing at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    Ok,
    Warning,
    Error,
    NoData,
    Silent,
}

impl State {
    /// The name stored and shown: `OK`, `WARNING`, `ERROR`, `NO_DATA`, `SILENT`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Error => "ERROR",
            State::NoData => "NO_DATA",
            State::Silent => "SILENT",
        }
    }

    /// Ok < Warning < Error; a change to a worse state is a trigger, to a
    /// better one a recovery. Missing data ranks as bad as an error.
    fn rank(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Error | State::NoData | State::Silent => 2,
        }
    }
}

impl std::str::FromStr for State {
    type Err = RuleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            State::Ok,
            State::Warning,
            State::Error,
            State::NoData,
            State::Silent,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
        .ok_or_else(|| RuleError(format!("unknown state {s:?}")))
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule was refused, with what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(String);

/// How one variable is judged.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rule {
    pub warning: Option<Range>,
    pub error: Option<Range>,
    /// Consecutive cycles a worse state must hold before it counts.
    pub trigger_after: u32,
    /// Consecutive cycles a better state must hold before it counts.
    pub recover_after: u32,
    /// How far past a bound a value must go to leave a range (same unit as
    /// the variable): with `above 80` and 5, a warning ends below 75.
    pub hysteresis: f64,
}

impl Default for Rule {
    fn default() -> Self {
        Self {
            warning: None,
            error: None,
            trigger_after: 1,
            recover_after: 1,
            hysteresis: 0.0,
        }
    }
}

impl Rule {
    pub fn check(&self) -> Result<(), RuleError> {
        if let Some(range) = self.warning {
            range.check("warning range")?;
        }
        if let Some(range) = self.error {
            range.check("error range")?;
        }
        if self.trigger_after == 0 || self.recover_after == 0 {
            return Err(RuleError(
                "trigger_after and recover_after count cycles: at least 1".into(),
            ));
        }
        if !(self.hysteresis.is_finite() && self.hysteresis >= 0.0) {
            return Err(RuleError(format!(
                "hysteresis {} must be a number of at least 0",
                self.hysteresis
            )));
        }
        Ok(())
    }

    /// The state `value` calls for, given the current state: a value inside
    /// the hysteresis margin of the range it is in keeps that range.
    pub fn judge(&self, value: f64, current: State) -> State {
        let holds = |range: Option<Range>, state: State| {
            range.is_some_and(|r| {
                r.contains(value) || (current == state && r.widened(value, self.hysteresis))
            })
        };
        if holds(self.error, State::Error) {
            State::Error
        } else if holds(self.warning, State::Warning)
            // Leaving an error through the warning's margin is a warning.
            || (current == State::Error
                && self
                    .warning
                    .is_some_and(|r| r.widened(value, self.hysteresis)))
        {
            State::Warning
        } else {
            State::Ok
        }
    }
}

/// What one cycle says about a variable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observation {
    Value(f64),
    /// The cycle arrived but did not produce the variable.
    Missing,
    /// The host's silence outlasted its limit (see [`is_silent`]).
    HostSilent,
}

/// A change of state that counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub from: State,
    pub to: State,
}

/// One variable's state between cycles, as the server stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracker {
    pub state: State,
    /// A different state seen on the last `count` cycles in a row, not yet
    /// held long enough to count.
    pub pending: Option<(State, u32)>,
}

impl Default for Tracker {
    fn default() -> Self {
        Self {
            state: State::Ok,
            pending: None,
        }
    }
}

impl Tracker {
    /// Takes one cycle's observation; returns the transition it completes.
    /// A silent host changes state at once: its silence was already timed.
    pub fn observe(&mut self, rule: &Rule, observation: Observation) -> Option<Transition> {
        let wanted = match observation {
            Observation::Value(v) if v.is_finite() => rule.judge(v, self.state),
            Observation::Value(_) | Observation::Missing => State::NoData,
            Observation::HostSilent => State::Silent,
        };
        if wanted == self.state {
            self.pending = None;
            return None;
        }
        let count = match self.pending {
            Some((state, n)) if state == wanted => n + 1,
            _ => 1,
        };
        let needed = if observation == Observation::HostSilent {
            1
        } else if wanted.rank() > self.state.rank() {
            rule.trigger_after
        } else {
            rule.recover_after
        };
        if count < needed {
            self.pending = Some((wanted, count));
            return None;
        }
        let transition = Transition {
            from: self.state,
            to: wanted,
        };
        *self = Tracker {
            state: wanted,
            pending: None,
        };
        Some(transition)
    }
}

/// Whether a host last heard from at `last_seen_ms` is silent at `now_ms`
/// (default limit: three minutes).
pub fn is_silent(last_seen_ms: i64, now_ms: i64, silent_after_ms: i64) -> bool {
    now_ms.saturating_sub(last_seen_ms) >= silent_after_ms
}

/// The default time without any cycle before a host is SILENT.
pub const DEFAULT_SILENT_AFTER_MS: i64 = 3 * 60 * 1000;

/// "Held for N minutes", as Trafikito users set it, in cycles of
/// `interval_secs`: at least one.
pub fn cycles_for(minutes: u32, interval_secs: u32) -> u32 {
    let interval = u64::from(interval_secs.max(1));
    let cycles = (u64::from(minutes) * 60).div_ceil(interval);
    u32::try_from(cycles).unwrap_or(u32::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_have_documented_bounds() {
        assert!(!Range::Above(90.0).contains(90.0));
        assert!(Range::Above(90.0).contains(90.1));
        assert!(!Range::Below(10.0).contains(10.0));
        assert!(Range::Below(10.0).contains(9.9));
        assert!(!Range::Outside(1.0, 5.0).contains(1.0));
        assert!(!Range::Outside(1.0, 5.0).contains(5.0));
        assert!(Range::Outside(1.0, 5.0).contains(0.5));
        assert!(Range::Inside(1.0, 5.0).contains(1.0));
        assert!(Range::Inside(1.0, 5.0).contains(5.0));
        assert!(!Range::Inside(1.0, 5.0).contains(5.5));
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        let rule = |warning, trigger_after, hysteresis| Rule {
            warning: Some(warning),
            trigger_after,
            hysteresis,
            ..Rule::default()
        };
        let err = |r: Rule| r.check().expect_err("refused").to_string();
        assert_eq!(
            err(rule(Range::Inside(5.0, 1.0), 1, 0.0)),
            "warning range: [5, 1] is empty; write the smaller bound first"
        );
        assert_eq!(
            err(rule(Range::Above(f64::NAN), 1, 0.0)),
            "warning range: NaN is not a finite number"
        );
        assert_eq!(
            err(rule(Range::Above(1.0), 0, 0.0)),
            "trigger_after and recover_after count cycles: at least 1"
        );
        assert_eq!(
            err(rule(Range::Above(1.0), 1, -1.0)),
            "hysteresis -1 must be a number of at least 0"
        );
    }

    #[test]
    fn rules_read_from_json() {
        let rule: Rule = serde_json::from_str(
            r#"{"warning": {"above": 80}, "error": {"outside": [0, 95]}, "trigger_after": 3}"#,
        )
        .expect("rule");
        assert_eq!(rule.warning, Some(Range::Above(80.0)));
        assert_eq!(rule.error, Some(Range::Outside(0.0, 95.0)));
        assert_eq!((rule.trigger_after, rule.recover_after), (3, 1));
        assert!(serde_json::from_str::<Rule>(r#"{"warning": {"over": 80}}"#).is_err());
    }

    #[test]
    fn minutes_become_cycles() {
        assert_eq!(cycles_for(5, 60), 5);
        assert_eq!(cycles_for(1, 90), 1);
        assert_eq!(cycles_for(0, 60), 1);
        assert_eq!(cycles_for(3, 0), 180);
    }

    #[test]
    fn silence_is_timed() {
        assert!(!is_silent(
            0,
            DEFAULT_SILENT_AFTER_MS - 1,
            DEFAULT_SILENT_AFTER_MS
        ));
        assert!(is_silent(
            0,
            DEFAULT_SILENT_AFTER_MS,
            DEFAULT_SILENT_AFTER_MS
        ));
    }
}
