//! Channel configurations and their rendering into an email or an HTTP call.

use std::collections::BTreeMap;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::presets::Preset;

/// Most template work one render may do (loop steps, calls): a runaway
/// template fails instead of stalling the sender.
const FUEL: u64 = 50_000;
/// Longest rendered text accepted (subject, body, URL or header).
const MAX_RENDERED: usize = 256 * 1024;

pub const DEFAULT_SUBJECT: &str = "[Readout] {{ title }}";
pub const DEFAULT_TEXT_BODY: &str = "{{ title }}\n\n{% for e in events %}- {{ e.summary }}\n{% endfor %}\nHost: {{ host }}\nTime: {{ time }}\nDashboard: {{ link }}\n";
pub const DEFAULT_HTML_BODY: &str = "<h2>{{ title }}</h2>\n<ul>\n{% for e in events %}<li>{{ e.summary }}</li>\n{% endfor %}</ul>\n<p>Host: {{ host }}<br>Time: {{ time }}</p>\n<p><a href=\"{{ link }}\">Open the dashboard</a></p>\n";

/// A channel: where notices go and how they read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChannelConfig {
    Email(EmailChannel),
    Webhook(WebhookChannel),
}

/// Email over the server's SMTP relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailChannel {
    pub to: Vec<String>,
    /// Subject template; default [`DEFAULT_SUBJECT`].
    #[serde(default)]
    pub subject: Option<String>,
    /// Body template; default [`DEFAULT_TEXT_BODY`] or [`DEFAULT_HTML_BODY`].
    #[serde(default)]
    pub body: Option<String>,
    /// Send the body as HTML (values are HTML-escaped).
    #[serde(default)]
    pub html: bool,
}

/// How values are inserted into a webhook body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Escape {
    /// Every `{{ value }}` becomes a JSON value (strings quoted and escaped):
    /// write `{"text": {{ title }}}`.
    #[default]
    Json,
    /// Inserted as they are (plain-text bodies).
    None,
}

/// "Any API call": method, URL, headers and body, all templates; or a
/// preset with its parameters, any part of which can be overridden.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookChannel {
    #[serde(default)]
    pub preset: Option<Preset>,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    /// Header templates; a header rendering empty is left out.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub escape: Option<Escape>,
}

/// A call's templates, after the preset (if any) is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallTemplate {
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub escape: Escape,
}

/// An email ready for the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    pub html: bool,
}

/// An HTTP request ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCall {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// A channel that cannot work, or a template that failed, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ChannelError(pub String);

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

impl WebhookChannel {
    /// The templates this channel renders.
    pub fn call(&self) -> Result<CallTemplate, ChannelError> {
        let base = match self.preset {
            Some(preset) => Some(preset.template(&self.params)?),
            None => None,
        };
        let method = self
            .method
            .clone()
            .or_else(|| base.as_ref().map(|b| b.method.clone()))
            .unwrap_or_else(|| "POST".to_owned())
            .to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return Err(ChannelError(format!(
                "method {method:?} is not one of {}",
                METHODS.join(", ")
            )));
        }
        let url = self
            .url
            .clone()
            .or_else(|| base.as_ref().map(|b| b.url.clone()))
            .ok_or_else(|| ChannelError("a webhook needs a url (or a preset)".into()))?;
        let mut headers = base.as_ref().map(|b| b.headers.clone()).unwrap_or_default();
        for (name, value) in &self.headers {
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(ChannelError(format!(
                    "header name {name:?} may hold only letters, digits, '-' and '_'"
                )));
            }
            headers.insert(name.clone(), value.clone());
        }
        let body = self
            .body
            .clone()
            .or_else(|| base.as_ref().map(|b| b.body.clone()))
            .unwrap_or_else(|| crate::DEFAULT_JSON_BODY.to_owned());
        let escape = self
            .escape
            .or_else(|| base.as_ref().map(|b| b.escape))
            .unwrap_or_default();
        Ok(CallTemplate {
            method,
            url,
            headers,
            body,
            escape,
        })
    }
}

fn environment(escape: AutoEscape) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_auto_escape_callback(move |_| escape.clone());
    // `debug()` prints the whole context, secrets of other fields included.
    env.remove_global("debug");
    env
}

fn render(
    env: &Environment<'_>,
    what: &str,
    source: &str,
    ctx: &Context,
) -> Result<String, ChannelError> {
    let out = env
        .render_str(source, minijinja::Value::from(minijinja::value::Serde(ctx)))
        .map_err(|e| {
            let line = e.line().map(|l| format!(" (line {l})")).unwrap_or_default();
            ChannelError(format!(
                "{what} template{line}: {}",
                e.detail().unwrap_or(&e.kind().to_string())
            ))
        })?;
    if out.len() > MAX_RENDERED {
        return Err(ChannelError(format!(
            "{what} template renders {} bytes; at most {MAX_RENDERED}",
            out.len()
        )));
    }
    Ok(out)
}

/// Header values and URLs are one line: a value carrying a line break
/// must not add a header of its own.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ").trim().to_owned()
}

impl CallTemplate {
    pub fn render(&self, ctx: &Context) -> Result<HttpCall, ChannelError> {
        let plain = environment(AutoEscape::None);
        let url = one_line(&render(&plain, "url", &self.url, ctx)?);
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ChannelError(format!(
                "the url renders to {url:?}: it must start with https:// or http://"
            )));
        }
        let mut headers = Vec::new();
        for (name, source) in &self.headers {
            let value = one_line(&render(&plain, &format!("header {name}"), source, ctx)?);
            if !value.is_empty() {
                headers.push((name.clone(), value));
            }
        }
        let body_env = environment(match self.escape {
            Escape::Json => AutoEscape::Json,
            Escape::None => AutoEscape::None,
        });
        let body = render(&body_env, "body", &self.body, ctx)?;
        if self.escape == Escape::Json && !body.trim().is_empty() {
            serde_json::from_str::<serde_json::Value>(&body).map_err(|e| {
                ChannelError(format!("body template does not render valid JSON: {e}"))
            })?;
        }
        Ok(HttpCall {
            method: self.method.clone(),
            url,
            headers,
            body,
        })
    }
}

impl EmailChannel {
    pub fn render(&self, ctx: &Context) -> Result<Email, ChannelError> {
        if self.to.is_empty() {
            return Err(ChannelError(
                "an email channel needs at least one address in `to`".into(),
            ));
        }
        let subject = one_line(&render(
            &environment(AutoEscape::None),
            "subject",
            self.subject.as_deref().unwrap_or(DEFAULT_SUBJECT),
            ctx,
        )?);
        let (escape, default) = if self.html {
            (AutoEscape::Html, DEFAULT_HTML_BODY)
        } else {
            (AutoEscape::None, DEFAULT_TEXT_BODY)
        };
        let body = render(
            &environment(escape),
            "body",
            self.body.as_deref().unwrap_or(default),
            ctx,
        )?;
        Ok(Email {
            to: self.to.clone(),
            subject,
            body,
            html: self.html,
        })
    }
}
