//! Incidents and maintenance windows: an editor of a workspace
//! acknowledges its incidents and keeps windows on its hosts; the
//! operator, everyone's (and windows over every host).

use readout_alerting::window::Window;
use readout_storage::{Database, WindowRow};

use crate::{Actor, AppError, Name, hosts};

/// Acknowledges an open incident as `by`.
pub async fn acknowledge<D: Database>(
    actor: &Actor,
    db: &D,
    iid: i64,
    by: &str,
    now_ms: i64,
) -> Result<(), AppError> {
    actor.may_change()?;
    let by = Name::parse(by).map_err(|e| AppError::Invalid(format!("who acknowledges: {e}")))?;
    let what = format!("incident {iid}");
    let (incident, _) = db
        .incident(iid)
        .await
        .map_err(AppError::or_not_found(&*what))?;
    hosts::host(actor, db, &incident.host_id)
        .await
        .map_err(named(&what))?;
    db.acknowledge(iid, by.as_str(), now_ms)
        .await
        .map_err(AppError::or_not_found(what))
}

/// Adds a maintenance window. A member's names one of their hosts; the
/// operator's may cover every host.
pub async fn add_window<D: Database>(
    actor: &Actor,
    db: &D,
    id: &str,
    window: Window,
    now_ms: i64,
) -> Result<WindowRow, AppError> {
    actor.may_change()?;
    window
        .check()
        .map_err(|e| AppError::Invalid(e.to_string()))?;
    match (&window.host, actor) {
        (Some(host), _) => {
            hosts::host(actor, db, host).await?;
        }
        (None, Actor::Operator) => {}
        (None, Actor::Member(_)) => {
            return Err(AppError::Invalid(
                "name the server the window is for".to_owned(),
            ));
        }
    }
    db.put_window(id, &window, now_ms).await?;
    Ok(WindowRow {
        id: id.to_owned(),
        window: readout_storage::JsonText(window),
        created_at_ms: now_ms,
    })
}

/// Deletes a maintenance window the actor keeps.
pub async fn remove_window<D: Database>(actor: &Actor, db: &D, wid: &str) -> Result<(), AppError> {
    actor.may_change()?;
    let what = format!("maintenance window {wid}");
    if let Actor::Member(_) = actor {
        let windows = db.windows().await?;
        let host = windows
            .iter()
            .find(|w| w.id == wid)
            .and_then(|w| w.window.0.host.clone())
            .ok_or_else(|| AppError::NotFound(what.clone()))?;
        hosts::host(actor, db, &host).await.map_err(named(&what))?;
    }
    db.delete_window(wid)
        .await
        .map_err(AppError::or_not_found(what))
}

/// Another workspace's host is not named: what was asked for is not found.
fn named(what: &str) -> impl FnOnce(AppError) -> AppError + '_ {
    move |e| match e {
        AppError::NotFound(_) => AppError::NotFound(what.to_owned()),
        other => other,
    }
}
