//! Channels (where notices go) and routes (which notices go where): kept
//! by a workspace's owners and admins, or by the operator for everyone.

use std::future::Future;

use readout_alerting::route::{Notice, Route};
use readout_notify::ChannelConfig;
use readout_storage::{ChannelRow, Database, RouteRow};

use serde::Deserialize;

use crate::{Actor, AppError, Name};

/// Whether a channel can deliver from this server (an email channel needs
/// an SMTP relay; templates must render): the server knows, the rules ask.
pub trait ChannelCheck: Sync {
    fn check(&self, config: &ChannelConfig) -> impl Future<Output = Result<(), String>> + Send;
}

/// A channel as people describe it (the API's body, the page's form).
#[derive(Debug, Clone, Deserialize)]
pub struct ChannelSpec {
    pub name: String,
    #[serde(flatten)]
    pub config: ChannelConfig,
}

/// A route as people describe it.
#[derive(Debug, Clone, Deserialize)]
pub struct RouteSpec {
    pub name: String,
    #[serde(flatten)]
    pub route: Route,
}

/// A channel or route to write: a new one, or one that exists.
#[derive(Debug, Clone, Copy)]
pub enum Saving<'a> {
    New(&'a str),
    Existing(&'a str),
}

impl Saving<'_> {
    fn id(&self) -> &str {
        match self {
            Saving::New(id) | Saving::Existing(id) => id,
        }
    }
}

/// The channel `cid`, if the actor keeps it.
pub async fn channel<D: Database>(
    actor: &Actor,
    db: &D,
    cid: &str,
) -> Result<ChannelRow, AppError> {
    actor.may_administer()?;
    let row = db
        .channel(cid)
        .await
        .map_err(AppError::or_not_found(format!("channel {cid}")))?;
    if !actor.reaches(row.workspace_id.as_deref()) {
        return Err(AppError::NotFound(format!("channel {cid}")));
    }
    Ok(row)
}

/// The channels the actor keeps (the operator: all of them).
pub async fn channels<D: Database>(actor: &Actor, db: &D) -> Result<Vec<ChannelRow>, AppError> {
    actor.may_administer()?;
    let mut rows = db.channels().await?;
    rows.retain(|c| actor.reaches(c.workspace_id.as_deref()));
    Ok(rows)
}

/// Checks and stores a channel; a new one belongs to the actor's
/// workspace, a changed one keeps its owner.
pub async fn save_channel<D: Database>(
    actor: &Actor,
    db: &D,
    checker: &impl ChannelCheck,
    saving: Saving<'_>,
    spec: &ChannelSpec,
    now_ms: i64,
) -> Result<ChannelRow, AppError> {
    if let Saving::Existing(cid) = saving {
        channel(actor, db, cid).await?;
    }
    actor.may_administer()?;
    let name =
        Name::parse(&spec.name).map_err(|e| AppError::Invalid(format!("the channel: {e}")))?;
    checker
        .check(&spec.config)
        .await
        .map_err(AppError::Invalid)?;
    let json = readout_storage::json_text(&spec.config);
    let id = saving.id();
    db.put_channel(id, actor.workspace(), name.as_str(), &json, now_ms)
        .await?;
    Ok(db.channel(id).await?)
}

/// Deletes a channel no route sends to.
pub async fn remove_channel<D: Database>(actor: &Actor, db: &D, cid: &str) -> Result<(), AppError> {
    channel(actor, db, cid).await?;
    let routes = db.routes().await?;
    let sends_to = |r: &RouteRow| {
        let route = &r.route.0;
        let escalation = route.escalation.iter().flat_map(|e| &e.channels);
        route.channels.iter().chain(escalation).any(|c| c == cid)
    };
    if let Some(r) = routes.iter().find(|r| sends_to(r)) {
        return Err(AppError::Conflict(format!(
            "route {:?} sends to this channel; change or delete it first",
            r.name
        )));
    }
    db.delete_channel(cid)
        .await
        .map_err(AppError::or_not_found(format!("channel {cid}")))
}

/// Queues `notice` on the channel; returns the notification's id.
pub async fn test_channel<D: Database>(
    actor: &Actor,
    db: &D,
    cid: &str,
    notice: &Notice,
    now_ms: i64,
) -> Result<i64, AppError> {
    channel(actor, db, cid).await?;
    db.enqueue(cid, notice, now_ms)
        .await
        .map_err(AppError::or_not_found(format!("channel {cid}")))
}

/// The route `rid`, if the actor keeps it.
pub async fn route<D: Database>(actor: &Actor, db: &D, rid: &str) -> Result<RouteRow, AppError> {
    actor.may_administer()?;
    db.routes()
        .await?
        .into_iter()
        .find(|r| r.id == rid && actor.reaches(r.workspace_id.as_deref()))
        .ok_or_else(|| AppError::NotFound(format!("route {rid}")))
}

/// The routes the actor keeps (the operator: all of them).
pub async fn routes<D: Database>(actor: &Actor, db: &D) -> Result<Vec<RouteRow>, AppError> {
    actor.may_administer()?;
    let mut rows = db.routes().await?;
    rows.retain(|r| actor.reaches(r.workspace_id.as_deref()));
    Ok(rows)
}

/// Checks and stores a route. A workspace's route sends only to its own
/// channels: another's is not found, as it is everywhere else.
pub async fn save_route<D: Database>(
    actor: &Actor,
    db: &D,
    saving: Saving<'_>,
    spec: &RouteSpec,
    now_ms: i64,
) -> Result<RouteRow, AppError> {
    let route = &spec.route;
    if let Saving::Existing(rid) = saving {
        self::route(actor, db, rid).await?;
    }
    actor.may_administer()?;
    let name = Name::parse(&spec.name).map_err(|e| AppError::Invalid(format!("the route: {e}")))?;
    route
        .check()
        .map_err(|e| AppError::Invalid(e.to_string()))?;
    let known = db.channels().await?;
    let escalation = route.escalation.iter().flat_map(|e| &e.channels);
    for cid in route.channels.iter().chain(escalation) {
        match known.iter().find(|c| &c.id == cid) {
            Some(c) if actor.reaches(c.workspace_id.as_deref()) => {}
            Some(_) => return Err(AppError::NotFound(format!("channel {cid}"))),
            None if matches!(actor, Actor::Member(_)) => {
                return Err(AppError::NotFound(format!("channel {cid}")));
            }
            None => {
                return Err(AppError::Invalid(format!("no channel has the id {cid:?}")));
            }
        }
    }
    let id = saving.id();
    db.put_route(id, actor.workspace(), name.as_str(), route, now_ms)
        .await?;
    db.routes()
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| AppError::Internal(format!("route {id} was saved but is not there")))
}

/// Deletes a route.
pub async fn remove_route<D: Database>(actor: &Actor, db: &D, rid: &str) -> Result<(), AppError> {
    route(actor, db, rid).await?;
    db.delete_route(rid)
        .await
        .map_err(AppError::or_not_found(format!("route {rid}")))
}
