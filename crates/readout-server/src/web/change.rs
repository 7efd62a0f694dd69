//! The doors of every form the pages post: a handler that changes
//! anything takes a [`Change`] (a signed-in member's, from our own page,
//! with the session's CSRF token) or a [`Submitted`] (sign-in and links,
//! from our own page); both are checked before the handler runs, so no
//! handler can forget them.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts as _, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use readout_storage::{Database, SessionUser};
use serde::de::DeserializeOwned;

use super::{Viewer, csrf_ok};
use crate::state::AppState;

/// The answer to a form from another site, or without the page's token.
pub(super) fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        "refused: this form was not sent from a Readout page",
    )
        .into_response()
}

/// A signed-in member's form, sent from one of our pages with the
/// session's CSRF token (field `csrf`); anyone signed out goes to the
/// login page.
#[derive(Debug)]
pub(super) struct Change<T> {
    pub(super) user: SessionUser,
    pub(super) form: T,
}

/// A form with nothing in it but its CSRF token (delete, revoke, …).
#[derive(Debug, serde::Deserialize)]
pub(super) struct NoFields {}

/// A form that needs no session (setup, sign-in, links from emails), sent
/// from one of our pages.
#[derive(Debug)]
pub(super) struct Submitted<T>(pub T);

impl<D: Database, T: DeserializeOwned> FromRequest<AppState<D>> for Change<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState<D>) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let Viewer(user) = Viewer::from_request_parts(&mut parts, state).await?;
        if !state.web.same_origin(&parts.headers) {
            return Err(forbidden());
        }
        let bytes = body_of(Request::from_parts(parts, body), state).await?;
        let sent = form_urlencoded::parse(&bytes)
            .find(|(key, _)| key == "csrf")
            .map(|(_, value)| value)
            .unwrap_or_default();
        if !csrf_ok(&user, &sent) {
            return Err(forbidden());
        }
        Ok(Change {
            user,
            form: serde_urlencoded::from_bytes(&bytes).map_err(|e| unreadable(&e))?,
        })
    }
}

impl<D: Database, T: DeserializeOwned> FromRequest<AppState<D>> for Submitted<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState<D>) -> Result<Self, Response> {
        if !state.web.same_origin(request.headers()) {
            return Err(forbidden());
        }
        let bytes = body_of(request, state).await?;
        serde_urlencoded::from_bytes(&bytes)
            .map(Submitted)
            .map_err(|e| unreadable(&e))
    }
}

async fn body_of<D: Database>(request: Request, state: &AppState<D>) -> Result<Bytes, Response> {
    Bytes::from_request(request, state)
        .await
        .map_err(IntoResponse::into_response)
}

fn unreadable(e: &serde_urlencoded::de::Error) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        format!("the form cannot be read: {e}"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {

    /// Fields keep their order and repeats (a checkbox list repeats its
    /// name), the CSRF token among them.
    #[test]
    fn a_form_reads_as_its_fields_in_order() {
        let fields: super::super::alerts::Fields =
            serde_urlencoded::from_bytes(b"csrf=t&channels=a&channels=b&name=x+y").expect("fields");
        assert_eq!(fields.get("name"), "x y");
        assert_eq!(fields.all("channels").collect::<Vec<_>>(), ["a", "b"]);
    }
}
