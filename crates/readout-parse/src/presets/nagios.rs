//! Nagios plugin output (the monitoring-plugins API): the status from the
//! exit code (or, without one, from the text), and every performance-data
//! item with its unit and thresholds, from the first line and from the
//! second perfdata block that long output may carry.
//!
//! `'label'=value[UOM];[warn];[crit];[min];[max]`; labels may be quoted and
//! hold spaces (`''` is a quote). Values are converted to base units: `s`,
//! `ms`, `us` to seconds; `B`, `KB`, `MB`, `GB`, `TB` to bytes (1024);
//! `%` and `c` (counter) kept. Thresholds that are ranges (`~:4`, `@0:6`,
//! `10:20`) are kept as text.

use super::{Preset, lines};
use crate::{Input, Out, ParseError, Value, Values, label, units};

pub(super) const PRESET: Preset = Preset {
    name: "nagios",
    command: "/usr/lib/nagios/plugins/check_load -w 4 -c 6",
    about: "Status and performance data of any Nagios/Icinga/monitoring-plugins check",
    variables: &[
        (
            "status",
            "count",
            "0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the exit code)",
        ),
        (
            "status_text",
            "text",
            "the first line, without its perfdata",
        ),
        ("perf{label}", "base unit", "each performance-data value"),
        (
            "perf_warn{label}, perf_crit{label}",
            "base unit",
            "thresholds that are plain numbers",
        ),
        (
            "perf_warn_range{label}, perf_crit_range{label}",
            "text",
            "thresholds that are ranges",
        ),
        ("perf_min{label}, perf_max{label}", "base unit", "bounds"),
        ("perf_uom{label}", "text", "the unit as the plugin wrote it"),
    ],
    parse,
};

const STATES: [&str; 4] = ["OK", "WARNING", "CRITICAL", "UNKNOWN"];

fn parse(input: Input<'_>) -> Result<Values, ParseError> {
    let mut lines = lines(input.output);
    let (first_no, first) = lines
        .next()
        .ok_or_else(|| ParseError::new("the output is empty"))?;
    let (text, perf) = first.split_once('|').map_or((first, ""), |(t, p)| (t, p));
    let status = match input.exit_code {
        Some(code @ 0..=3) => f64::from(code),
        Some(code) => {
            return Err(ParseError::new(format!(
                "exit code {code} is not a Nagios status (0 to 3)"
            )));
        }
        None => status_from_text(text).ok_or_else(|| {
            ParseError::at(
                first_no,
                "no exit code, and the text names no state (OK, WARNING, CRITICAL, UNKNOWN)",
            )
        })?,
    };
    let mut out = Out::default();
    out.num("status", status);
    let mut texts = Values::new();
    texts.insert("status_text".into(), Value::Text(text.trim().to_owned()));
    perfdata(first_no, perf, &mut out, &mut texts)?;
    // Long output: after its first '|', every line is perfdata.
    let mut in_perf = false;
    for (no, line) in lines {
        let data = if in_perf {
            line
        } else if let Some((_, rest)) = line.split_once('|') {
            in_perf = true;
            rest
        } else {
            continue;
        };
        perfdata(no, data, &mut out, &mut texts)?;
    }
    let mut values = out.done()?;
    values.extend(texts);
    Ok(values)
}

fn status_from_text(text: &str) -> Option<f64> {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .take(4)
        .collect();
    STATES
        .iter()
        .position(|s| words.contains(s))
        .and_then(|i| u32::try_from(i).ok())
        .map(f64::from)
}

/// Splits perfdata into items: spaces separate them, except inside quotes.
fn items(text: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if quoted && chars.peek() == Some(&'\'') => {
                current.push('\'');
                chars.next();
            }
            '\'' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    items.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        items.push(current);
    }
    items
}

fn perfdata(no: usize, text: &str, out: &mut Out, texts: &mut Values) -> Result<(), ParseError> {
    for item in items(text) {
        let (name, rest) = item
            .rsplit_once('=')
            .ok_or_else(|| ParseError::at(no, format!("perfdata {item:?} has no '='")))?;
        let mut parts = rest.split(';');
        let raw = parts.next().unwrap_or("");
        let split = raw
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
            .unwrap_or(raw.len());
        let (number, uom) = raw.split_at(split);
        let factor = factor(uom)
            .ok_or_else(|| ParseError::at(no, format!("unknown unit {uom:?} in {item:?}")))?;
        let key = format!("{{label=\"{}\"}}", label(name));
        if number == "U" || raw == "U" {
            continue; // the plugin could not measure it
        }
        let value = units::number(number).ok_or_else(|| {
            ParseError::at(no, format!("cannot read the value {raw:?} of {name}"))
        })?;
        out.num(format!("perf{key}"), value * factor);
        if !uom.is_empty() {
            texts.insert(format!("perf_uom{key}"), Value::Text(uom.to_owned()));
        }
        for (kind, text) in ["warn", "crit", "min", "max"].iter().zip(parts) {
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            match units::number(text) {
                Some(n) => out.num(format!("perf_{kind}{key}"), n * factor),
                None if matches!(*kind, "warn" | "crit") => {
                    texts.insert(
                        format!("perf_{kind}_range{key}"),
                        Value::Text(text.to_owned()),
                    );
                }
                None => {
                    return Err(ParseError::at(
                        no,
                        format!("cannot read the {kind} {text:?} of {name}"),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn factor(uom: &str) -> Option<f64> {
    Some(match uom {
        "" | "%" | "c" => 1.0,
        "s" => 1.0,
        "ms" => 1e-3,
        "us" => 1e-6,
        "B" => 1.0,
        "KB" => 1024.0,
        "MB" => 1_048_576.0,
        "GB" => 1_073_741_824.0,
        "TB" => 1_099_511_627_776.0,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::items;

    #[test]
    fn quoted_labels() {
        assert_eq!(
            items("'load 1'=0.5;1 'it''s'=2 x=3"),
            ["load 1=0.5;1", "it's=2", "x=3"]
        );
    }
}
