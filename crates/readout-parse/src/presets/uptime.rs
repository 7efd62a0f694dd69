//! `uptime` (and the first line of `w`): Linux procps, BusyBox, macOS/BSD
//! (`load averages:` without commas), Solaris (`day(s)`, `hr(s)`),
//! AIX (`02:42PM   up`), GNU on Solaris (`1 day  7:26`).

use std::sync::LazyLock;

use regex::Regex;

use super::{Preset, lines};
use crate::{Input, Out, ParseError, Values, units};

pub(super) const PRESET: Preset = Preset {
    name: "uptime",
    command: "uptime",
    about: "Uptime, users and load averages from `uptime` or `w`",
    variables: &[
        ("uptime_seconds", "seconds", "time since boot"),
        ("users", "count", "logged-in users (not printed by BusyBox)"),
        ("load1", "load", "1-minute load average"),
        ("load5", "load", "5-minute load average"),
        ("load15", "load", "15-minute load average"),
    ],
    parse,
};

static LINE: LazyLock<Regex> = LazyLock::new(|| {
    // The shortest duration after "up" for which the rest matches: the
    // duration itself may hold commas ("1 day, 1 min").
    Regex::new(
        r"\bup\s+(?P<up>.*?),\s+(?:(?P<users>\d+)\s+users?,\s+)?load averages?:\s*(?P<load>.*)$",
    )
    .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

fn parse(input: Input<'_>) -> Result<Values, ParseError> {
    let Some((no, caps)) =
        lines(input.output).find_map(|(no, l)| LINE.captures(l).map(|c| (no, c)))
    else {
        return Err(ParseError::new(
            "no line like \"… up 2 days, 3:04, 1 user, load average: 0.1, 0.2, 0.3\"",
        ));
    };
    let mut out = Out::default();
    out.num(
        "uptime_seconds",
        duration(&caps["up"]).map_err(|e| ParseError::at(no, e))?,
    );
    if let Some(users) = caps.name("users") {
        out.num("users", units::number(users.as_str()).unwrap_or(f64::NAN));
    }
    let loads: Vec<&str> = caps["load"]
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect();
    let [l1, l5, l15] = loads[..] else {
        return Err(ParseError::at(
            no,
            format!("expected three load averages, found {:?}", &caps["load"]),
        ));
    };
    for (name, text) in [("load1", l1), ("load5", l5), ("load15", l15)] {
        let value = units::number(text)
            .ok_or_else(|| ParseError::at(no, format!("cannot read load {text:?}")))?;
        out.num(name, value);
    }
    out.done()
}

/// `2 days, 3:04`, `1 day(s), 27 min(s)`, `58 mins`, `3 hr(s)`, `22:31`.
fn duration(text: &str) -> Result<f64, String> {
    let mut seconds = 0.0;
    let mut pending: Option<f64> = None;
    for word in text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        if let Some((h, m)) = word.split_once(':') {
            let (Some(h), Some(m)) = (units::number(h), units::number(m)) else {
                return Err(format!("cannot read the uptime {text:?}"));
            };
            if m < 0.0 || h < 0.0 {
                return Err(format!(
                    "the uptime {text:?} has a negative time; the clock was probably stepped"
                ));
            }
            seconds += h * 3600.0 + m * 60.0;
            continue;
        }
        if let Some(n) = units::number(word) {
            if pending.replace(n).is_some() {
                return Err(format!("cannot read the uptime {text:?}"));
            }
            continue;
        }
        let unit = match word.trim_end_matches("(s)") {
            "day" | "days" => 86_400.0,
            "hr" | "hrs" | "hour" | "hours" => 3_600.0,
            "min" | "mins" | "minute" | "minutes" => 60.0,
            "sec" | "secs" | "second" | "seconds" => 1.0,
            _ => return Err(format!("unknown unit {word:?} in the uptime {text:?}")),
        };
        let n = pending
            .take()
            .ok_or_else(|| format!("no number before {word:?} in the uptime {text:?}"))?;
        seconds += n * unit;
    }
    if pending.is_some() {
        return Err(format!("a number without a unit in the uptime {text:?}"));
    }
    Ok(seconds)
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations() {
        assert_eq!(duration("2:30"), Ok(9000.0));
        assert_eq!(duration("1 day(s), 27 min(s)"), Ok(86_400.0 + 27.0 * 60.0));
        assert_eq!(
            duration("1 day  7:26"),
            Ok(86_400.0 + 7.0 * 3600.0 + 26.0 * 60.0)
        );
        assert_eq!(
            duration("174 day(s), 16 hr(s)"),
            Ok(174.0 * 86_400.0 + 16.0 * 3600.0)
        );
        assert_eq!(duration("3 mins"), Ok(180.0));
        assert!(duration("0:-6").is_err_and(|e| e.contains("negative")));
        assert!(duration("5 fortnights").is_err());
        assert!(duration("5").is_err());
    }
}
