//! Ready-made calls to common services, built on the generic webhook.
//! Each documents its parameters; `api_url` (or `url`) points a preset at
//! a self-hosted or regional endpoint.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::channel::{CallTemplate, ChannelError, Escape};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    Slack,
    Discord,
    Teams,
    Telegram,
    Ntfy,
    Pushover,
    Pagerduty,
    Opsgenie,
    Gotify,
}

pub const ALL: [Preset; 9] = [
    Preset::Slack,
    Preset::Discord,
    Preset::Teams,
    Preset::Telegram,
    Preset::Ntfy,
    Preset::Pushover,
    Preset::Pagerduty,
    Preset::Opsgenie,
    Preset::Gotify,
];

const JSON: &str = "application/json";

impl Preset {
    /// Parameters: required, then optional.
    pub fn params(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Preset::Slack | Preset::Discord | Preset::Teams => (&["url"], &[]),
            Preset::Telegram => (&["token", "chat_id"], &["api_url"]),
            Preset::Ntfy => (&["topic"], &["url", "token"]),
            Preset::Pushover => (&["token", "user"], &["api_url"]),
            Preset::Pagerduty => (&["routing_key"], &["api_url"]),
            Preset::Opsgenie => (&["api_key"], &["api_url"]),
            Preset::Gotify => (&["url", "token"], &[]),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Slack => "slack",
            Preset::Discord => "discord",
            Preset::Teams => "teams",
            Preset::Telegram => "telegram",
            Preset::Ntfy => "ntfy",
            Preset::Pushover => "pushover",
            Preset::Pagerduty => "pagerduty",
            Preset::Opsgenie => "opsgenie",
            Preset::Gotify => "gotify",
        }
    }

    /// The call, after checking `params` names every required parameter
    /// and nothing unknown.
    pub fn template(self, params: &BTreeMap<String, String>) -> Result<CallTemplate, ChannelError> {
        let (required, optional) = self.params();
        for name in required {
            if params.get(*name).is_none_or(|v| v.trim().is_empty()) {
                return Err(ChannelError(format!(
                    "preset {} needs the parameter {name:?}",
                    self.name()
                )));
            }
        }
        if let Some(unknown) = params
            .keys()
            .find(|k| !required.contains(&k.as_str()) && !optional.contains(&k.as_str()))
        {
            let mut known: Vec<&str> = required.to_vec();
            known.extend(optional);
            return Err(ChannelError(format!(
                "preset {} has no parameter {unknown:?} (it takes {})",
                self.name(),
                known.join(", ")
            )));
        }
        Ok(self.call())
    }

    fn call(self) -> CallTemplate {
        let json = |url: &str, body: &str| CallTemplate {
            method: "POST".to_owned(),
            url: url.to_owned(),
            headers: BTreeMap::from([("Content-Type".to_owned(), JSON.to_owned())]),
            body: body.to_owned(),
            escape: Escape::Json,
        };
        match self {
            Preset::Slack => json("{{ params.url }}", r#"{"text": {{ text }}}"#),
            Preset::Discord => json(
                "{{ params.url }}",
                r#"{"content": {{ text }}, "allowed_mentions": {"parse": []}}"#,
            ),
            Preset::Teams => json(
                "{{ params.url }}",
                r#"{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4", "body": [{"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true, "text": {{ title }}}, {"type": "TextBlock", "wrap": true, "text": {{ lines }}}], "actions": [{"type": "Action.OpenUrl", "title": "Open in Readout", "url": {{ link }}}]}}]}"#,
            ),
            Preset::Telegram => json(
                "{{ params.api_url or 'https://api.telegram.org' }}/bot{{ params.token }}/sendMessage",
                r#"{"chat_id": {{ params.chat_id }}, "text": {{ text }}, "disable_web_page_preview": true}"#,
            ),
            Preset::Ntfy => CallTemplate {
                method: "POST".to_owned(),
                url: "{{ params.url or 'https://ntfy.sh' }}/{{ params.topic }}".to_owned(),
                headers: BTreeMap::from([
                    ("Title".to_owned(), "{{ title }}".to_owned()),
                    (
                        "Priority".to_owned(),
                        "{% if severity == 'ERROR' %}high{% elif recovered %}low{% else %}default{% endif %}"
                            .to_owned(),
                    ),
                    (
                        "Tags".to_owned(),
                        "{% if recovered %}white_check_mark{% elif severity == 'WARNING' %}warning{% else %}rotating_light{% endif %}"
                            .to_owned(),
                    ),
                    ("Click".to_owned(), "{{ link }}".to_owned()),
                    (
                        "Authorization".to_owned(),
                        "{% if params.token %}Bearer {{ params.token }}{% endif %}".to_owned(),
                    ),
                ]),
                body: "{{ lines }}".to_owned(),
                escape: Escape::None,
            },
            Preset::Pushover => json(
                "{{ params.api_url or 'https://api.pushover.net' }}/1/messages.json",
                r#"{"token": {{ params.token }}, "user": {{ params.user }}, "title": {{ title }}, "message": {{ lines }}, "url": {{ link }}, "url_title": "Open in Readout", "priority": {% if severity == 'ERROR' %}1{% elif recovered %}-1{% else %}0{% endif %}}"#,
            ),
            Preset::Pagerduty => json(
                "{{ params.api_url or 'https://events.pagerduty.com' }}/v2/enqueue",
                r#"{"routing_key": {{ params.routing_key }}, "event_action": {% if recovered %}"resolve"{% else %}"trigger"{% endif %}, "dedup_key": {{ dedup_key }}, "payload": {"summary": {{ title }}, "source": {{ host }}, "severity": {% if severity == 'ERROR' %}"critical"{% elif severity == 'WARNING' %}"warning"{% elif recovered %}"info"{% else %}"error"{% endif %}, "timestamp": {{ time }}, "custom_details": {"events": {{ events }}}}, "links": [{"href": {{ link }}, "text": "Open in Readout"}]}"#,
            ),
            Preset::Opsgenie => CallTemplate {
                method: "POST".to_owned(),
                url: "{{ params.api_url or 'https://api.opsgenie.com' }}/v2/alerts{% if recovered %}/{{ dedup_key }}/close?identifierType=alias{% endif %}".to_owned(),
                headers: BTreeMap::from([
                    ("Content-Type".to_owned(), JSON.to_owned()),
                    ("Authorization".to_owned(), "GenieKey {{ params.api_key }}".to_owned()),
                ]),
                body: r#"{% if recovered %}{"source": "Readout", "note": {{ title }}}{% else %}{"message": {{ title[:130] }}, "alias": {{ dedup_key }}, "description": {{ lines }}, "source": "Readout", "entity": {{ host }}, "priority": {% if severity == 'ERROR' %}"P1"{% elif severity == 'WARNING' %}"P3"{% else %}"P2"{% endif %}, "details": {"link": {{ link }}}}{% endif %}"#.to_owned(),
                escape: Escape::Json,
            },
            Preset::Gotify => CallTemplate {
                method: "POST".to_owned(),
                url: "{{ params.url }}/message".to_owned(),
                headers: BTreeMap::from([
                    ("Content-Type".to_owned(), JSON.to_owned()),
                    ("X-Gotify-Key".to_owned(), "{{ params.token }}".to_owned()),
                ]),
                body: r#"{"title": {{ title }}, "message": {{ lines }}, "priority": {% if severity == 'ERROR' %}8{% elif recovered %}2{% else %}5{% endif %}, "extras": {"client::notification": {"click": {"url": {{ link }}}}}}"#.to_owned(),
                escape: Escape::Json,
            },
        }
    }
}
