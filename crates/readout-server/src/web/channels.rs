//! Notification channels and routes on the alerts page: a workspace's
//! owners and admins add them (email, any HTTP call, or a preset of a
//! common service), send a test, and delete them. The operator's (made
//! with the admin token) route every server and are shown read-only.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use readout_alerting::State as AlertState;
use readout_alerting::route::{Escalation, Route};
use readout_notify::presets::{self, Preset};
use readout_notify::{ChannelConfig, EmailChannel, WebhookChannel};
use readout_storage::{ChannelRow, Database, RouteRow, SessionUser};

use super::alerts::{Fields, Filled, render};
use super::{Change, NoFields};
use super::{PageError, actor};
use crate::state::AppState;
use readout_app::AppError;
use readout_app::channels::{self, ChannelSpec, RouteSpec, Saving};

/// The problem states a route can pick.
const STATES: [AlertState; 4] = [
    AlertState::Warning,
    AlertState::Error,
    AlertState::NoData,
    AlertState::Silent,
];

fn ours(user: &SessionUser, workspace: Option<&String>) -> bool {
    workspace.is_some_and(|w| *w == user.workspace_id)
}

/// What a channel is, in a few words that give no secret away (a webhook
/// URL often is one: only its host is shown).
fn channel_kind(row: &ChannelRow) -> String {
    match serde_json::from_str::<ChannelConfig>(&row.config_json) {
        Ok(ChannelConfig::Email(email)) => format!("email to {}", email.to.join(", ")),
        Ok(ChannelConfig::Webhook(hook)) => match (hook.preset, hook.url) {
            (Some(preset), _) => preset.name().to_owned(),
            (None, Some(url)) => {
                let host = url::Url::parse(&url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned));
                format!(
                    "webhook to {}",
                    host.unwrap_or_else(|| "a templated URL".into())
                )
            }
            (None, None) => "webhook".to_owned(),
        },
        Err(_) => "unreadable".to_owned(),
    }
}

/// The channels and routes this user sees, and the choices of the forms.
pub(super) fn page_context(
    user: &SessionUser,
    channels: &[ChannelRow],
    routes: &[RouteRow],
) -> minijinja::Value {
    let admin = super::actor(user).administers();
    let visible = |w: Option<&String>| w.is_none() || ours(user, w);
    let name_of = |id: &String| {
        channels
            .iter()
            .find(|c| &c.id == id)
            .map_or_else(|| id.clone(), |c| c.name.clone())
    };
    let channel_rows: Vec<_> = channels
        .iter()
        .filter(|c| admin && visible(c.workspace_id.as_ref()))
        .map(|c| {
            minijinja::context! {
                id => c.id.as_str(), name => c.name.as_str(), kind => channel_kind(c),
                ours => ours(user, c.workspace_id.as_ref()),
            }
        })
        .collect();
    let route_rows: Vec<_> = routes
        .iter()
        .filter(|r| admin && visible(r.workspace_id.as_ref()))
        .map(|r| {
            let route = &r.route.0;
            let list = |items: &[String], all: &str| {
                if items.is_empty() {
                    all.to_owned()
                } else {
                    items.join(", ")
                }
            };
            let states: Vec<String> = route.states.iter().map(|s| s.as_str().to_owned()).collect();
            minijinja::context! {
                id => r.id.as_str(), name => r.name.as_str(),
                ours => ours(user, r.workspace_id.as_ref()),
                to => route.channels.iter().map(name_of).collect::<Vec<_>>().join(", "),
                servers => list(&route.hosts, "every server"),
                variables => list(&route.variables, "every variable and silence"),
                states => list(&states, "every problem"),
                repeat => repeat_text(route.repeat_every_secs),
                escalation => route.escalation.as_ref().map(|e| format!(
                    "after {} min to {}", e.after_secs / 60,
                    e.channels.iter().map(name_of).collect::<Vec<_>>().join(", "))),
            }
        })
        .collect();
    let presets: Vec<_> = presets::ALL
        .iter()
        .map(|p| {
            let (required, optional) = p.params();
            let params = |names: &[&str]| -> Vec<minijinja::Value> {
                names
                    .iter()
                    .map(|n| minijinja::context! { name => *n, secret => is_secret(n) })
                    .collect()
            };
            minijinja::context! { name => p.name(), required => params(required), optional => params(optional) }
        })
        .collect();
    minijinja::context! {
        channels => channel_rows, routes => route_rows, presets => presets,
        states => STATES.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    }
}

fn repeat_text(secs: u64) -> String {
    match secs {
        0 => "never".to_owned(),
        s if s % 3600 == 0 => format!("every {} h", s / 3600),
        s => format!("every {} min", s.div_ceil(60)),
    }
}

/// The channel a form describes, or what is wrong with it.
fn channel_from(form: &Fields) -> Result<ChannelSpec, String> {
    let kind = form.get("kind");
    let config = match kind {
        "email" => {
            let to: Vec<String> = form
                .get("to")
                .split([',', ' ', '\n', '\r', '\t'])
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect();
            ChannelConfig::Email(EmailChannel {
                to,
                subject: None,
                body: None,
                html: false,
            })
        }
        "webhook" => {
            let mut headers = BTreeMap::new();
            for (n, line) in form.get("headers").lines().enumerate() {
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                let (name, value) = line
                    .split_once(':')
                    .ok_or_else(|| format!("header line {}: write it as Name: value", n + 1))?;
                headers.insert(name.trim().to_owned(), value.trim().to_owned());
            }
            ChannelConfig::Webhook(WebhookChannel {
                method: Some(form.get("method").to_owned()).filter(|m| !m.is_empty()),
                url: Some(form.get("url").to_owned()).filter(|u| !u.is_empty()),
                headers,
                body: Some(form.get("body").to_owned()).filter(|b| !b.is_empty()),
                ..WebhookChannel::default()
            })
        }
        preset => {
            let preset = presets::ALL
                .into_iter()
                .find(|p| p.name() == preset)
                .ok_or_else(|| "pick what kind of channel it is".to_owned())?;
            ChannelConfig::Webhook(WebhookChannel {
                preset: Some(preset),
                params: preset_params(form, preset),
                ..WebhookChannel::default()
            })
        }
    };
    Ok(ChannelSpec {
        name: form.get("name").to_owned(),
        config,
    })
}

/// A preset's parameters as the form names them (`slack.url`); empty
/// optional ones are left out.
fn preset_params(form: &Fields, preset: Preset) -> BTreeMap<String, String> {
    let (required, optional) = preset.params();
    required
        .iter()
        .chain(optional)
        .filter_map(|param| {
            let value = form.get(&format!("{}.{param}", preset.name()));
            (!value.is_empty()).then(|| ((*param).to_owned(), value.to_owned()))
        })
        .collect()
}

/// Whether a form field holds a secret, which the page never shows again:
/// tokens, keys, and a webhook's headers. Left empty when editing, the
/// stored one stays.
pub(super) fn is_secret(field: &str) -> bool {
    field.ends_with("token") || field.ends_with("key") || field == "headers"
}

/// What the form of a stored channel does not show, kept from it: email
/// templates, a webhook's escaping and overrides, and secrets left empty.
fn keep_unshown(stored: ChannelConfig, new: ChannelConfig) -> ChannelConfig {
    match (stored, new) {
        (ChannelConfig::Email(old), ChannelConfig::Email(new)) => {
            ChannelConfig::Email(EmailChannel {
                subject: old.subject,
                body: old.body,
                html: old.html,
                ..new
            })
        }
        (ChannelConfig::Webhook(old), ChannelConfig::Webhook(mut new)) => {
            // A secret goes only where it went before: aimed at another
            // host, the channel needs its secrets typed again.
            let url = |c: &WebhookChannel| c.url.as_deref().map(host_of);
            if new.headers.is_empty() && (new.url.is_none() || url(&new) == url(&old)) {
                new.headers = old.headers;
            }
            new.escape = new.escape.or(old.escape);
            if new.preset.is_some() && new.preset == old.preset {
                let same_place = old
                    .params
                    .iter()
                    .filter(|(name, _)| name.ends_with("url"))
                    .all(|(name, value)| {
                        new.params.get(name).map(|v| host_of(v)) == Some(host_of(value))
                    });
                let moved_to = new
                    .params
                    .iter()
                    .filter(|(name, _)| name.ends_with("url"))
                    .any(|(name, _)| !old.params.contains_key(name));
                for (name, value) in old.params {
                    if is_secret(&name) && same_place && !moved_to {
                        new.params.entry(name).or_insert(value);
                    }
                }
                new.method = new.method.or(old.method);
                new.url = new.url.or(old.url);
                new.body = new.body.or(old.body);
            }
            ChannelConfig::Webhook(new)
        }
        (_, new) => new,
    }
}

/// The host (and port) a URL or URL template points at; the whole text
/// when it is no URL, so that any change counts as another place.
fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| Some(format!("{}:{:?}", u.host_str()?, u.port_or_known_default())))
        .unwrap_or_else(|| url.to_owned())
}

/// Adds a channel to the workspace.
pub(super) async fn add_channel<D: Database>(
    State(state): State<AppState<D>>,
    Change { user, form }: Change<Fields>,
) -> Result<Response, PageError> {
    actor(&user).may_administer()?;
    let id = crate::keys::new_id("ch_").map_err(|e| PageError::internal("a channel id", e))?;
    save_channel_form(&state, &user, form, Saving::New(&id), None).await
}

/// Saves the changes to one of the workspace's channels.
pub(super) async fn update_channel<D: Database>(
    State(state): State<AppState<D>>,
    Path(cid): Path<String>,
    Change { user, form }: Change<Fields>,
) -> Result<Response, PageError> {
    let stored = channels::channel(&actor(&user), &state.db, &cid).await?;
    let config = serde_json::from_str::<ChannelConfig>(&stored.config_json)
        .map_err(|e| PageError::internal("reading a stored channel", e))?;
    save_channel_form(&state, &user, form, Saving::Existing(&cid), Some(config)).await
}

/// Saves the channel a form describes (over `stored`, if editing); a
/// refusal shows the form again with why.
async fn save_channel_form<D: Database>(
    state: &AppState<D>,
    user: &SessionUser,
    form: Fields,
    saving: Saving<'_>,
    stored: Option<ChannelConfig>,
) -> Result<Response, PageError> {
    let saved = match channel_from(&form) {
        Ok(mut spec) => {
            if let Some(stored) = stored {
                spec.config = keep_unshown(stored, spec.config);
            }
            let now = crate::now_ms();
            refusal(
                channels::save_channel(
                    &actor(user),
                    &state.db,
                    &*state.delivery,
                    saving,
                    &spec,
                    now,
                )
                .await,
            )?
        }
        Err(why) => Err(why),
    };
    Ok(match saved {
        Ok(_) => Redirect::to("/alerts#channels").into_response(),
        Err(why) => {
            let (what, editing) = match saving {
                Saving::New(_) => ("added", None),
                Saving::Existing(id) => ("saved", Some(id)),
            };
            let refused = Filled::refused("channels", format!("Channel not {what}: {why}."), form)
                .on(editing);
            render(state, user, None, Some(refused)).await
        }
    })
}

/// What a form can be shown again for (the request was wrong: why), apart
/// from what answers as a page of its own.
fn refusal<T>(done: Result<T, AppError>) -> Result<Result<T, String>, PageError> {
    match done {
        Ok(done) => Ok(Ok(done)),
        Err(AppError::Invalid(why) | AppError::Conflict(why)) => Ok(Err(why)),
        Err(other) => Err(other.into()),
    }
}

/// The form of one of the workspace's channels, filled in to edit it.
pub(super) async fn channel_form<D: Database>(
    state: &AppState<D>,
    user: &SessionUser,
    cid: &str,
) -> Result<Option<Filled>, PageError> {
    let row = channels::channel(&actor(user), &state.db, cid).await?;
    let config: ChannelConfig = serde_json::from_str(&row.config_json)
        .map_err(|e| PageError::internal("reading a stored channel", e))?;
    let mut form = Fields::default();
    form.push("name", row.name.as_str());
    match config {
        ChannelConfig::Email(email) => {
            form.push("kind", "email");
            form.push("to", email.to.join(", "));
        }
        ChannelConfig::Webhook(hook) => match hook.preset {
            Some(preset) => {
                form.push("kind", preset.name());
                for (param, value) in hook.params {
                    form.push(&format!("{}.{param}", preset.name()), value);
                }
            }
            None => {
                form.push("kind", "webhook");
                form.push("method", hook.method.unwrap_or_default());
                form.push("url", hook.url.unwrap_or_default());
                form.push("body", hook.body.unwrap_or_default());
            }
        },
    }
    Ok(Some(Filled::editing("channels", cid, form)))
}

/// Deletes one of the workspace's channels, unless a route sends to it.
pub(super) async fn delete_channel<D: Database>(
    State(state): State<AppState<D>>,
    Path(cid): Path<String>,
    Change { user, .. }: Change<NoFields>,
) -> Result<Response, PageError> {
    Ok(
        match refusal(channels::remove_channel(&actor(&user), &state.db, &cid).await)? {
            Ok(()) => Redirect::to("/alerts#channels").into_response(),
            Err(why) => {
                let why = format!("Channel not deleted: {why}.");
                let refused = Filled::refused("channels", why, Fields::default());
                render(&state, &user, None, Some(refused)).await
            }
        },
    )
}

/// Queues a test notification on one of the workspace's channels.
pub(super) async fn test_channel<D: Database>(
    State(state): State<AppState<D>>,
    Path(cid): Path<String>,
    Change { user, .. }: Change<NoFields>,
) -> Result<Redirect, PageError> {
    let notice = crate::delivery::sample_notice(readout_alerting::route::NoticeKind::Test);
    channels::test_channel(&actor(&user), &state.db, &cid, &notice, crate::now_ms()).await?;
    let cid: String = form_urlencoded::byte_serialize(cid.as_bytes()).collect();
    Ok(Redirect::to(&format!("/alerts?tested={cid}#delivery")))
}

/// Minutes from a form field: empty is `default`.
fn minutes(
    form: &Fields,
    key: &str,
    what: &str,
    default: Option<u64>,
) -> Result<Option<u64>, String> {
    match form.get(key) {
        "" => Ok(default),
        text => text
            .parse::<u64>()
            .map(Some)
            .map_err(|_| format!("{what}: {text:?} is not a whole number of minutes")),
    }
}

/// The route a form describes, or what is wrong with it.
fn route_from(form: &Fields) -> Result<RouteSpec, String> {
    let owned = |key: &str| -> Vec<String> { form.all(key).map(str::to_owned).collect() };
    let mut states = Vec::new();
    for text in form.all("states") {
        let state = STATES
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| format!("{text:?} is not a problem state"))?;
        states.push(state);
    }
    let repeat = minutes(form, "repeat_minutes", "repeat", Some(0))?.unwrap_or_default();
    let escalation = match minutes(form, "escalate_minutes", "escalate after", None)? {
        Some(after) => Some(Escalation {
            after_secs: after.saturating_mul(60),
            channels: owned("escalate_channels"),
        }),
        None if form.all("escalate_channels").next().is_some() => {
            return Err("say after how many minutes to escalate".into());
        }
        None => None,
    };
    let variables = form
        .get("variables")
        .split([',', ' ', '\n', '\r', '\t'])
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(RouteSpec {
        name: form.get("name").to_owned(),
        route: Route {
            channels: owned("channels"),
            hosts: owned("hosts"),
            variables,
            states,
            repeat_every_secs: repeat.saturating_mul(60),
            escalation,
        },
    })
}

/// Adds a route of the workspace's incidents to its channels.
pub(super) async fn add_route<D: Database>(
    State(state): State<AppState<D>>,
    Change { user, form }: Change<Fields>,
) -> Result<Response, PageError> {
    actor(&user).may_administer()?;
    let id = crate::keys::new_id("rt_").map_err(|e| PageError::internal("a route id", e))?;
    save_route_form(&state, &user, form, Saving::New(&id)).await
}

/// Saves the changes to one of the workspace's routes.
pub(super) async fn update_route<D: Database>(
    State(state): State<AppState<D>>,
    Path(rid): Path<String>,
    Change { user, form }: Change<Fields>,
) -> Result<Response, PageError> {
    channels::route(&actor(&user), &state.db, &rid).await?;
    save_route_form(&state, &user, form, Saving::Existing(&rid)).await
}

/// Saves the route a form describes; a refusal shows the form again with
/// why.
async fn save_route_form<D: Database>(
    state: &AppState<D>,
    user: &SessionUser,
    form: Fields,
    saving: Saving<'_>,
) -> Result<Response, PageError> {
    let saved = match route_from(&form) {
        Ok(spec) => refusal(
            channels::save_route(&actor(user), &state.db, saving, &spec, crate::now_ms()).await,
        )?,
        Err(why) => Err(why),
    };
    Ok(match saved {
        Ok(_) => Redirect::to("/alerts#routes").into_response(),
        Err(why) => {
            let (what, editing) = match saving {
                Saving::New(_) => ("added", None),
                Saving::Existing(id) => ("saved", Some(id)),
            };
            let refused =
                Filled::refused("routes", format!("Route not {what}: {why}."), form).on(editing);
            render(state, user, None, Some(refused)).await
        }
    })
}

/// The form of one of the workspace's routes, filled in to edit it.
pub(super) async fn route_form<D: Database>(
    state: &AppState<D>,
    user: &SessionUser,
    rid: &str,
) -> Result<Option<Filled>, PageError> {
    let row = channels::route(&actor(user), &state.db, rid).await?;
    let route = row.route.0;
    let mut form = Fields::default();
    form.push("name", row.name.as_str());
    for cid in route.channels {
        form.push("channels", cid);
    }
    for host in route.hosts {
        form.push("hosts", host);
    }
    form.push("variables", route.variables.join(", "));
    for state in route.states {
        form.push("states", state.as_str());
    }
    form.push("repeat_minutes", (route.repeat_every_secs / 60).to_string());
    if let Some(escalation) = route.escalation {
        form.push("escalate_minutes", (escalation.after_secs / 60).to_string());
        for cid in escalation.channels {
            form.push("escalate_channels", cid);
        }
    }
    Ok(Some(Filled::editing("routes", rid, form)))
}

/// Deletes one of the workspace's routes.
pub(super) async fn delete_route<D: Database>(
    State(state): State<AppState<D>>,
    Path(rid): Path<String>,
    Change { user, .. }: Change<NoFields>,
) -> Result<Redirect, PageError> {
    channels::remove_route(&actor(&user), &state.db, &rid).await?;
    Ok(Redirect::to("/alerts#routes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(url: &str, headers: &[(&str, &str)]) -> ChannelConfig {
        ChannelConfig::Webhook(WebhookChannel {
            url: Some(url.to_owned()),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..WebhookChannel::default()
        })
    }

    fn headers(config: &ChannelConfig) -> Vec<String> {
        match config {
            ChannelConfig::Webhook(w) => w.headers.keys().cloned().collect(),
            ChannelConfig::Email(_) => Vec::new(),
        }
    }

    #[test]
    fn stored_secrets_follow_a_webhook_only_to_the_same_host() {
        let stored = hook(
            "https://hooks.example/a",
            &[("Authorization", "Bearer s3cret")],
        );
        let moved_path = keep_unshown(stored.clone(), hook("https://hooks.example/b", &[]));
        assert_eq!(headers(&moved_path), ["Authorization"]);
        let moved_host = keep_unshown(stored, hook("https://evil.example/a", &[]));
        assert!(headers(&moved_host).is_empty(), "the secret stayed behind");
    }

    #[test]
    fn a_presets_token_stays_behind_when_its_server_changes() {
        let ntfy = |url: &str, token: Option<&str>| {
            let mut params = BTreeMap::from([("topic".to_owned(), "ops".to_owned())]);
            params.insert("url".into(), url.to_owned());
            if let Some(t) = token {
                params.insert("token".into(), t.to_owned());
            }
            ChannelConfig::Webhook(WebhookChannel {
                preset: Some(Preset::Ntfy),
                params,
                ..WebhookChannel::default()
            })
        };
        let token = |c: &ChannelConfig| match c {
            ChannelConfig::Webhook(w) => w.params.get("token").cloned(),
            ChannelConfig::Email(_) => None,
        };
        let stored = ntfy("https://ntfy.example", Some("tk_1"));
        let same = keep_unshown(stored.clone(), ntfy("https://ntfy.example", None));
        assert_eq!(token(&same).as_deref(), Some("tk_1"));
        let moved = keep_unshown(stored, ntfy("https://evil.example", None));
        assert_eq!(token(&moved), None);
    }
}
