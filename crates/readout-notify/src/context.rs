//! What a template sees: a notice turned into named, display-ready fields.

use std::collections::BTreeMap;

use readout_alerting::route::{Notice, NoticeEvent, NoticeKind, Reading};
use readout_alerting::{Range, State};
use serde::Serialize;

/// Chat services cut long messages; the `text` field stays under this.
const TEXT_LIMIT: usize = 1900;

/// One incident's change, for templates.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub incident_id: i64,
    /// Empty for the host itself.
    pub variable: String,
    pub value: Option<f64>,
    /// The value with its unit, ready to show (`93.5 %`, `1.2 GiB`).
    pub value_text: String,
    pub unit: &'static str,
    pub state: State,
    pub previous_state: State,
    pub warning: Option<String>,
    pub error: Option<String>,
    /// RFC 3339, UTC.
    pub time: String,
    pub at_ms: i64,
    pub opened_at_ms: i64,
    pub recovered: bool,
    pub summary: String,
}

/// Every field a channel template can use; see the crate README.
#[derive(Debug, Clone, Serialize)]
pub struct Context {
    pub kind: NoticeKind,
    pub host: String,
    pub host_id: String,
    pub link: String,
    pub title: String,
    /// One line per event.
    pub lines: String,
    /// Title, lines and link, cut to fit chat services.
    pub text: String,
    /// The worst state of the notice (`OK` if all recovered).
    pub severity: State,
    pub recovered: bool,
    /// Stable per incident: lets PagerDuty or Opsgenie resolve what they opened.
    pub dedup_key: String,
    pub time: String,
    pub at_ms: i64,
    // The first (worst) event's fields, for one-variable templates.
    pub incident_id: i64,
    pub variable: String,
    pub value: Option<f64>,
    pub value_text: String,
    pub unit: &'static str,
    pub state: State,
    pub previous_state: State,
    pub warning: Option<String>,
    pub error: Option<String>,
    pub events: Vec<EventView>,
    /// The host's latest readings by variable name.
    pub values: BTreeMap<String, Reading>,
    /// The channel's parameters (tokens, chat ids …).
    pub params: BTreeMap<String, String>,
}

/// The unit a variable's name declares by its suffix (`_pct`, `_bytes` …).
pub fn unit_of(variable: &str) -> &'static str {
    let name = variable.split('{').next().unwrap_or(variable);
    [
        ("_bytes_per_sec", "B/s"),
        ("_per_sec", "/s"),
        ("_pct", "%"),
        ("_bytes", "B"),
        ("_celsius", "°C"),
        ("_seconds", "s"),
        ("_secs", "s"),
        ("_ms", "ms"),
    ]
    .into_iter()
    .find(|(suffix, _)| name.ends_with(suffix))
    .map_or("", |(_, unit)| unit)
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.0}")
    } else {
        let text = format!("{n:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// A value with its unit; bytes in binary multiples.
pub fn value_text(value: Option<f64>, unit: &str) -> String {
    let Some(v) = value else {
        return "no value".to_owned();
    };
    if unit == "B" || unit == "B/s" {
        let per = unit.strip_prefix('B').unwrap_or_default();
        let mut scaled = v;
        for prefix in ["", "Ki", "Mi", "Gi", "Ti", "Pi"] {
            if scaled.abs() < 1024.0 || prefix == "Pi" {
                return format!("{} {prefix}B{per}", number(scaled));
            }
            scaled /= 1024.0;
        }
    }
    match unit {
        "" => number(v),
        "%" => format!("{} %", number(v)),
        _ => format!("{} {unit}", number(v)),
    }
}

/// `above 90`, `outside [10, 20]`.
pub fn range_text(range: Range) -> String {
    match range {
        Range::Above(x) => format!("above {}", number(x)),
        Range::Below(x) => format!("below {}", number(x)),
        Range::Outside(a, b) => format!("outside [{}, {}]", number(a), number(b)),
        Range::Inside(a, b) => format!("inside [{}, {}]", number(a), number(b)),
    }
}

fn rfc3339(at_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(at_ms).map_or_else(|_| at_ms.to_string(), |t| t.to_string())
}

fn view(host: &str, e: &NoticeEvent) -> EventView {
    let unit = unit_of(&e.variable);
    let value_text = value_text(e.value, unit);
    let summary = if e.variable.is_empty() {
        match e.to {
            State::Silent => format!("{host} is SILENT: no cycle arrived in time"),
            _ => format!("{host} is sending data again (was {})", e.from),
        }
    } else if e.to == State::Ok {
        format!("{} recovered: {value_text} (was {})", e.variable, e.from)
    } else if e.to == State::NoData {
        format!(
            "{} is NO_DATA: the last cycle did not produce it",
            e.variable
        )
    } else {
        let range = match e.to {
            State::Error => e.error.map(|r| format!(" (error {})", range_text(r))),
            _ => e.warning.map(|r| format!(" (warning {})", range_text(r))),
        };
        format!(
            "{} is {}: {value_text}{}",
            e.variable,
            e.to,
            range.unwrap_or_default()
        )
    };
    EventView {
        incident_id: e.incident_id,
        variable: e.variable.clone(),
        value: e.value,
        value_text,
        unit,
        state: e.to,
        previous_state: e.from,
        warning: e.warning.map(range_text),
        error: e.error.map(range_text),
        time: rfc3339(e.at_ms),
        at_ms: e.at_ms,
        opened_at_ms: e.opened_at_ms,
        recovered: e.to == State::Ok,
        summary,
    }
}

fn rank(state: State) -> u8 {
    match state {
        State::Ok => 0,
        State::Warning => 1,
        State::NoData | State::Silent => 2,
        State::Error => 3,
    }
}

fn cut(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Builds the template context of `notice`; `dashboard` is the server's
/// public URL, `params` the channel's.
pub fn context(notice: &Notice, dashboard: &str, params: &BTreeMap<String, String>) -> Context {
    let host = notice.host_name.as_str();
    let events: Vec<EventView> = notice.events.iter().map(|e| view(host, e)).collect();
    let severity = events
        .iter()
        .map(|e| e.state)
        .max_by_key(|s| rank(*s))
        .unwrap_or(State::Ok);
    let recovered = !events.is_empty() && events.iter().all(|e| e.recovered);
    let headline = match events.as_slice() {
        [] => "no change".to_owned(),
        [one] => one.summary.clone(),
        many => {
            let states: Vec<String> = many
                .iter()
                .map(|e| format!("{} {}", e.variable, e.state))
                .collect();
            format!("{} changes: {}", many.len(), states.join(", "))
        }
    };
    let title = match notice.kind {
        NoticeKind::Change if events.len() == 1 && !events[0].variable.is_empty() => {
            format!("{host}: {headline}")
        }
        NoticeKind::Change => headline,
        NoticeKind::Repeat => format!("Still unresolved on {host}: {headline}"),
        NoticeKind::Escalation => format!("Not acknowledged on {host}: {headline}"),
        NoticeKind::Test => format!("Test notification from Readout ({host})"),
    };
    let lines: Vec<&str> = events.iter().map(|e| e.summary.as_str()).collect();
    let lines = lines.join("\n");
    let link = if notice.host_id.is_empty() {
        dashboard.to_owned()
    } else {
        format!(
            "{}/hosts/{}",
            dashboard.trim_end_matches('/'),
            notice.host_id
        )
    };
    let text = cut(&format!("{title}\n{lines}\n{link}"), TEXT_LIMIT);
    let first = events.first().cloned();
    let dedup_key = match &first {
        Some(e) => format!("readout-{}", e.incident_id),
        None => format!("readout-{}", notice.host_id),
    };
    Context {
        kind: notice.kind,
        host: host.to_owned(),
        host_id: notice.host_id.clone(),
        link,
        title,
        lines,
        text,
        severity,
        recovered,
        dedup_key,
        time: rfc3339(notice.at_ms),
        at_ms: notice.at_ms,
        incident_id: first.as_ref().map_or(0, |e| e.incident_id),
        variable: first
            .as_ref()
            .map(|e| e.variable.clone())
            .unwrap_or_default(),
        value: first.as_ref().and_then(|e| e.value),
        value_text: first
            .as_ref()
            .map(|e| e.value_text.clone())
            .unwrap_or_default(),
        unit: first.as_ref().map_or("", |e| e.unit),
        state: first.as_ref().map_or(State::Ok, |e| e.state),
        previous_state: first.as_ref().map_or(State::Ok, |e| e.previous_state),
        warning: first.as_ref().and_then(|e| e.warning.clone()),
        error: first.as_ref().and_then(|e| e.error.clone()),
        events,
        values: notice.values.clone(),
        params: params.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_values_read_well() {
        assert_eq!(unit_of("fs_used_pct{mount=\"/\"}"), "%");
        assert_eq!(unit_of("mem_total_bytes"), "B");
        assert_eq!(unit_of("load1"), "");
        assert_eq!(value_text(Some(93.456), "%"), "93.46 %");
        assert_eq!(
            value_text(Some(2.0 * 1024.0 * 1024.0 * 1024.0), "B"),
            "2 GiB"
        );
        assert_eq!(value_text(Some(1536.0), "B/s"), "1.5 KiB/s");
        assert_eq!(value_text(Some(4.0), ""), "4");
        assert_eq!(value_text(None, "%"), "no value");
        assert_eq!(range_text(Range::Outside(10.0, 20.5)), "outside [10, 20.5]");
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary() {
        let text = "é".repeat(2000);
        let cut = cut(&text, TEXT_LIMIT);
        assert!(cut.len() <= TEXT_LIMIT + '…'.len_utf8());
        assert!(cut.ends_with('…'));
    }
}
