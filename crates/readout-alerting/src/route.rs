//! Who hears about what: routes from incidents to channels, muting by
//! maintenance windows, grouping, repeats and escalation. Pure: the caller
//! loads routes, windows and what each route was told, and stores the plan.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::window::Window;
use crate::{Range, RuleError, State};

/// Repeat interval of a route that does not set one: four hours.
pub const DEFAULT_REPEAT_SECS: u64 = 4 * 3600;

/// Which incidents go to which channels, and how often they are repeated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Channel ids notified.
    pub channels: Vec<String>,
    /// Host names; empty: every host.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Variable names, `*` matching any run of characters (`fs_*`); empty:
    /// every variable. A host's silence has no variable: only a route with
    /// no variable filter hears of it.
    #[serde(default)]
    pub variables: Vec<String>,
    /// Problem states that notify; empty: all of them. Recoveries go to the
    /// routes that were told of the problem.
    #[serde(default)]
    pub states: Vec<State>,
    /// While an incident is open and not acknowledged, it is sent again
    /// this often; 0: never.
    #[serde(default = "default_repeat")]
    pub repeat_every_secs: u64,
    #[serde(default)]
    pub escalation: Option<Escalation>,
}

fn default_repeat() -> u64 {
    DEFAULT_REPEAT_SECS
}

/// If an incident is not acknowledged within `after_secs` of opening, its
/// notice also goes to `channels`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    pub after_secs: u64,
    pub channels: Vec<String>,
}

impl Route {
    pub fn check(&self) -> Result<(), RuleError> {
        if self.channels.is_empty() {
            return Err(RuleError("a route needs at least one channel".into()));
        }
        if self.states.contains(&State::Ok) {
            return Err(RuleError(
                "states lists problem states (WARNING, ERROR, NO_DATA, SILENT); recoveries follow them"
                    .into(),
            ));
        }
        if self
            .escalation
            .as_ref()
            .is_some_and(|e| e.channels.is_empty())
        {
            return Err(RuleError("an escalation needs at least one channel".into()));
        }
        Ok(())
    }

    /// Whether a `problem` of `variable` (empty: the host itself) on host
    /// `host_name` goes this way.
    pub fn matches(&self, host_name: &str, variable: &str, problem: State) -> bool {
        (self.hosts.is_empty() || self.hosts.iter().any(|h| h == host_name))
            && (self.variables.is_empty()
                || (!variable.is_empty() && self.variables.iter().any(|p| glob(p, variable))))
            && (self.states.is_empty() || self.states.contains(&problem))
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Why a notice is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// States changed (or a problem held through a maintenance window
    /// is told now that the window closed).
    Change,
    /// A reminder of a problem still open and not acknowledged.
    Repeat,
    /// Not acknowledged in time: told to the escalation channels.
    Escalation,
    /// Sent by hand to try a channel.
    Test,
}

/// A variable's current reading, as templates see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reading {
    Number(f64),
    Text(String),
}

/// One incident's part of a notice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeEvent {
    pub incident_id: i64,
    /// Empty: the host itself (silence).
    pub variable: String,
    pub from: State,
    pub to: State,
    pub value: Option<f64>,
    pub at_ms: i64,
    pub opened_at_ms: i64,
    #[serde(default)]
    pub warning: Option<Range>,
    #[serde(default)]
    pub error: Option<Range>,
}

impl NoticeEvent {
    /// The problem a route is asked about: the new state, or for a
    /// recovery the state recovered from.
    fn problem(&self) -> State {
        if self.to == State::Ok {
            self.from
        } else {
            self.to
        }
    }
}

/// What is sent: written to the outbox as JSON, rendered by the channel
/// when it is delivered, so retries send the same facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub kind: NoticeKind,
    pub host_id: String,
    pub host_name: String,
    pub at_ms: i64,
    /// Worst first.
    pub events: Vec<NoticeEvent>,
    /// The host's readings when the notice was made.
    #[serde(default)]
    pub values: BTreeMap<String, Reading>,
}

/// One notice for one route's channels.
#[derive(Debug, Clone, PartialEq)]
pub struct Send {
    pub route_id: String,
    pub channels: Vec<String>,
    pub kind: NoticeKind,
    pub events: Vec<NoticeEvent>,
}

/// What a route now knows of an incident (the caller keeps it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub route_id: String,
    pub incident_id: i64,
    /// Told now (false: matched but muted, to be told when the window closes).
    pub told: bool,
    pub escalated: bool,
}

/// The sends and marks of one planning step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub sends: Vec<Send>,
    pub marks: Vec<Mark>,
}

fn severity(e: &NoticeEvent) -> u8 {
    match e.to {
        State::Error => 0,
        State::Silent | State::NoData => 1,
        State::Warning => 2,
        State::Ok => 3,
    }
}

fn muted(windows: &[Window], host_id: &str, variable: &str, now_ms: i64) -> bool {
    windows.iter().any(|w| w.mutes(host_id, variable, now_ms))
}

/// What a route has told of an incident so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Told {
    Nothing,
    /// Its channels were told.
    Channels,
    /// Its escalation channels were told too.
    Escalated,
}

/// Plans the notices for one host's state changes of one cycle (or one
/// silence check): each route gets one notice holding every change it
/// matches. `told(route, incident)` says what a route already told of an
/// incident; recoveries and changes of a told incident go to it even if
/// the new state is not one it asked for, and to its escalation channels
/// if they were told (so a pager opened by an escalation is closed too).
pub fn plan_changes(
    host_id: &str,
    host_name: &str,
    events: &[NoticeEvent],
    routes: &[(String, Route)],
    windows: &[Window],
    told: impl Fn(&str, i64) -> Told,
    now_ms: i64,
) -> Plan {
    let mut plan = Plan::default();
    for (route_id, route) in routes {
        let mut picked = Vec::new();
        let mut escalated = Vec::new();
        for e in events {
            let told = told(route_id, e.incident_id);
            let was_told = told != Told::Nothing;
            let wanted = route.matches(host_name, &e.variable, e.problem());
            if !(was_told || wanted) {
                continue;
            }
            if muted(windows, host_id, &e.variable, now_ms) {
                if e.to != State::Ok && !was_told {
                    plan.marks.push(Mark {
                        route_id: route_id.clone(),
                        incident_id: e.incident_id,
                        told: false,
                        escalated: false,
                    });
                }
                continue;
            }
            // A recovery of a problem nobody was told of is not news.
            if e.to == State::Ok && !was_told {
                continue;
            }
            if e.to != State::Ok {
                plan.marks.push(Mark {
                    route_id: route_id.clone(),
                    incident_id: e.incident_id,
                    told: true,
                    escalated: false,
                });
            }
            if told == Told::Escalated {
                escalated.push(e.clone());
            }
            picked.push(e.clone());
        }
        let escalation = route.escalation.as_ref().map(|e| e.channels.clone());
        for (channels, mut events) in [
            (route.channels.clone(), picked),
            (escalation.unwrap_or_default(), escalated),
        ] {
            if !events.is_empty() && !channels.is_empty() {
                events.sort_by_key(severity);
                plan.sends.push(Send {
                    route_id: route_id.clone(),
                    channels,
                    kind: NoticeKind::Change,
                    events,
                });
            }
        }
    }
    plan
}

/// An open incident as one route sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Followed {
    pub route_id: String,
    /// `from` and `to` both hold the incident's current state.
    pub event: NoticeEvent,
    pub last_told_ms: Option<i64>,
    pub escalated: bool,
    pub acknowledged: bool,
}

/// Plans, for one host at `now_ms`, the notices held by a window that has
/// closed, the repeats that are due and the escalations that are late.
pub fn plan_followups(
    host_id: &str,
    followed: &[Followed],
    routes: &[(String, Route)],
    windows: &[Window],
    now_ms: i64,
) -> Plan {
    let mut plan = Plan::default();
    let mut grouped: BTreeMap<(String, u8), Send> = BTreeMap::new();
    for f in followed {
        let Some((_, route)) = routes.iter().find(|(id, _)| *id == f.route_id) else {
            continue;
        };
        if muted(windows, host_id, &f.event.variable, now_ms) {
            continue;
        }
        let secs = |s: u64| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX);
        let due = match f.last_told_ms {
            None => Some((NoticeKind::Change, route.channels.clone())),
            Some(_) if f.acknowledged => None,
            Some(last)
                if route.repeat_every_secs > 0
                    && now_ms.saturating_sub(last) >= secs(route.repeat_every_secs) =>
            {
                Some((NoticeKind::Repeat, route.channels.clone()))
            }
            Some(_) => None,
        };
        let escalate = route.escalation.as_ref().filter(|e| {
            !f.acknowledged
                && !f.escalated
                && now_ms.saturating_sub(f.event.opened_at_ms) >= secs(e.after_secs)
        });
        if let Some(e) = escalate {
            push(&mut grouped, f, NoticeKind::Escalation, &e.channels);
        }
        if let Some((kind, channels)) = &due {
            push(&mut grouped, f, *kind, channels);
        }
        if due.is_some() || escalate.is_some() {
            plan.marks.push(Mark {
                route_id: f.route_id.clone(),
                incident_id: f.event.incident_id,
                told: due.is_some(),
                escalated: escalate.is_some(),
            });
        }
    }
    for mut send in grouped.into_values() {
        send.events.sort_by_key(severity);
        plan.sends.push(send);
    }
    plan
}

fn push(
    grouped: &mut BTreeMap<(String, u8), Send>,
    f: &Followed,
    kind: NoticeKind,
    channels: &[String],
) {
    let send = grouped
        .entry((f.route_id.clone(), kind as u8))
        .or_insert_with(|| Send {
            route_id: f.route_id.clone(),
            channels: channels.to_vec(),
            kind,
            events: Vec::new(),
        });
    send.events.push(f.event.clone());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("fs_*", "fs_used_pct{mount=\"/\"}"));
        assert!(glob("*_pct", "mem_used_pct"));
        assert!(glob("a*b*c", "a--b--c"));
        assert!(!glob("a*b*c", "a--c--b"));
        assert!(glob("load1", "load1"));
        assert!(!glob("load1", "load15"));
        assert!(glob("*", ""));
    }

    #[test]
    fn route_filters_and_checks() {
        let route: Route = serde_json::from_str(
            r#"{"channels": ["c1"], "hosts": ["web1"], "variables": ["disk_*"], "states": ["ERROR"]}"#,
        )
        .expect("route");
        assert_eq!(route.repeat_every_secs, DEFAULT_REPEAT_SECS);
        assert!(route.matches("web1", "disk_used_pct", State::Error));
        assert!(!route.matches("web1", "disk_used_pct", State::Warning));
        assert!(!route.matches("web2", "disk_used_pct", State::Error));
        assert!(!route.matches("web1", "", State::Error));
        let bad: Route =
            serde_json::from_str(r#"{"channels": [], "states": ["OK"]}"#).expect("route");
        assert_eq!(
            bad.check().expect_err("refused").to_string(),
            "a route needs at least one channel"
        );
    }
}
