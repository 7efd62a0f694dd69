//! Maintenance windows: times when a host's or a variable's notifications
//! are held back (states are still tracked).

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan as _};
use serde::{Deserialize, Serialize};

use crate::RuleError;

/// A maintenance window. `host` (a host id) and `variable` narrow it: with
/// neither it mutes everything, with `host` alone the whole host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub variable: Option<String>,
    pub schedule: Schedule,
    #[serde(default)]
    pub comment: String,
}

/// When a window is open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// From `from` (included) to `to` (excluded), RFC 3339 instants.
    Once { from: Timestamp, to: Timestamp },
    /// On each of `days`, from `start` to `end` local time in `time_zone`
    /// (an IANA name). An `end` earlier than `start` runs past midnight into
    /// the next day: `sat 23:00–01:00` covers Sunday's first hour.
    Weekly {
        days: Vec<Day>,
        start: Time,
        end: Time,
        time_zone: String,
    },
}

/// A day of the week, written `mon` … `sun` or in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    #[serde(alias = "monday")]
    Mon,
    #[serde(alias = "tuesday")]
    Tue,
    #[serde(alias = "wednesday")]
    Wed,
    #[serde(alias = "thursday")]
    Thu,
    #[serde(alias = "friday")]
    Fri,
    #[serde(alias = "saturday")]
    Sat,
    #[serde(alias = "sunday")]
    Sun,
}

impl Day {
    fn of(weekday: Weekday) -> Day {
        match weekday {
            Weekday::Monday => Day::Mon,
            Weekday::Tuesday => Day::Tue,
            Weekday::Wednesday => Day::Wed,
            Weekday::Thursday => Day::Thu,
            Weekday::Friday => Day::Fri,
            Weekday::Saturday => Day::Sat,
            Weekday::Sunday => Day::Sun,
        }
    }
}

impl Window {
    /// Refuses windows that can never open, with what is wrong.
    pub fn check(&self) -> Result<(), RuleError> {
        match &self.schedule {
            Schedule::Once { from, to } if from >= to => Err(RuleError(format!(
                "the window ends ({to}) before it starts ({from})"
            ))),
            Schedule::Once { .. } => Ok(()),
            Schedule::Weekly {
                days,
                start,
                end,
                time_zone,
            } => {
                if days.is_empty() {
                    return Err(RuleError("a weekly window needs at least one day".into()));
                }
                if start == end {
                    return Err(RuleError(format!(
                        "the window starts and ends at {start}: it would never be open"
                    )));
                }
                TimeZone::get(time_zone)
                    .map(drop)
                    .map_err(|_| RuleError(format!("unknown time zone {time_zone:?}; use an IANA name such as \"Europe/Vilnius\"")))
            }
        }
    }

    /// Whether this window mutes `variable` of host `host_id` at `at_ms`.
    pub fn mutes(&self, host_id: &str, variable: &str, at_ms: i64) -> bool {
        self.host.as_deref().is_none_or(|h| h == host_id)
            && self.variable.as_deref().is_none_or(|v| v == variable)
            && self.is_open(at_ms)
    }

    /// Whether the window is open at `at_ms`.
    pub fn is_open(&self, at_ms: i64) -> bool {
        let Ok(at) = Timestamp::from_millisecond(at_ms) else {
            return false;
        };
        match &self.schedule {
            Schedule::Once { from, to } => *from <= at && at < *to,
            Schedule::Weekly {
                days,
                start,
                end,
                time_zone,
            } => {
                // Checked at save time; a zone dropped from a later tzdb
                // must not mute forever.
                let Ok(tz) = TimeZone::get(time_zone) else {
                    return false;
                };
                let local = at.to_zoned_datetime(tz);
                let now = local.time();
                let today = days.contains(&Day::of(local.weekday()));
                if start < end {
                    return today && *start <= now && now < *end;
                }
                let yesterday = local
                    .date()
                    .checked_sub(1.day())
                    .is_ok_and(|d| days.contains(&Day::of(d.weekday())));
                (today && now >= *start) || (yesterday && now < *end)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> i64 {
        rfc3339
            .parse::<Timestamp>()
            .expect("timestamp")
            .as_millisecond()
    }

    fn weekly(json: &str) -> Window {
        serde_json::from_str(json).expect("window")
    }

    #[test]
    fn sunday_night_in_vilnius() {
        let w = weekly(
            r#"{"schedule": {"kind": "weekly", "days": ["sun"], "start": "02:00", "end": "04:00",
                "time_zone": "Europe/Vilnius"}}"#,
        );
        w.check().expect("valid");
        // 2026-11-29 is a Sunday; Vilnius is UTC+2 in winter.
        assert!(!w.is_open(ms("2026-11-28T23:59:59Z")));
        assert!(w.is_open(ms("2026-11-29T00:00:00Z")));
        assert!(w.is_open(ms("2026-11-29T01:59:59Z")));
        assert!(!w.is_open(ms("2026-11-29T02:00:00Z")));
        // Summer time: UTC+3.
        assert!(w.is_open(ms("2026-06-27T23:30:00Z")));
        assert!(!w.is_open(ms("2026-06-28T01:30:00Z")));
    }

    #[test]
    fn past_midnight_belongs_to_the_day_it_started() {
        let w = weekly(
            r#"{"schedule": {"kind": "weekly", "days": ["saturday"], "start": "23:00", "end": "01:00",
                "time_zone": "UTC"}}"#,
        );
        assert!(w.is_open(ms("2026-11-28T23:30:00Z")));
        assert!(w.is_open(ms("2026-11-29T00:30:00Z")));
        assert!(!w.is_open(ms("2026-11-29T23:30:00Z")));
        assert!(!w.is_open(ms("2026-11-28T00:30:00Z")));
    }

    #[test]
    fn once_is_half_open_and_scoped() {
        let w: Window = serde_json::from_str(
            r#"{"host": "h1", "variable": "disk_used_pct",
                "schedule": {"kind": "once", "from": "2026-11-25T10:00:00Z", "to": "2026-11-25T11:00:00Z"}}"#,
        )
        .expect("window");
        let at = ms("2026-11-25T10:00:00Z");
        assert!(w.mutes("h1", "disk_used_pct", at));
        assert!(!w.mutes("h1", "load1", at));
        assert!(!w.mutes("h2", "disk_used_pct", at));
        assert!(!w.mutes("h1", "disk_used_pct", ms("2026-11-25T11:00:00Z")));
    }

    #[test]
    fn impossible_windows_say_why() {
        let err = |json: &str| weekly(json).check().expect_err("refused").to_string();
        assert_eq!(
            err(
                r#"{"schedule": {"kind": "once", "from": "2026-11-25T11:00:00Z", "to": "2026-11-25T10:00:00Z"}}"#
            ),
            "the window ends (2026-11-25T10:00:00Z) before it starts (2026-11-25T11:00:00Z)"
        );
        assert!(
            err(r#"{"schedule": {"kind": "weekly", "days": ["sun"], "start": "02:00", "end": "04:00", "time_zone": "Mars/Base"}}"#)
                .starts_with("unknown time zone \"Mars/Base\"")
        );
        assert_eq!(
            err(
                r#"{"schedule": {"kind": "weekly", "days": [], "start": "02:00", "end": "04:00", "time_zone": "UTC"}}"#
            ),
            "a weekly window needs at least one day"
        );
    }
}
