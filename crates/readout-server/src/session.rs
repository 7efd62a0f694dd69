//! The browser session: its cookie, the signed-in user it names, and the
//! CSRF token its pages send back. The pages and the API's door both read
//! it here.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use readout_storage::{Database, SessionUser};
use subtle::ConstantTimeEq as _;

use crate::state::AppState;

/// The session cookie's name.
pub(crate) const COOKIE_NAME: &str = "readout_session";

/// The session token in the request's cookies, if any.
pub(crate) fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
}

/// Whether a form or header carries the session's CSRF token.
pub(crate) fn csrf_ok(user: &SessionUser, sent: &str) -> bool {
    !sent.is_empty() && bool::from(user.csrf_token.as_bytes().ct_eq(sent.as_bytes()))
}

/// The signed-in user, if the request carries a live session.
pub(crate) async fn current_user<D: Database>(
    state: &AppState<D>,
    headers: &HeaderMap,
) -> Option<SessionUser> {
    let token = session_token(headers)?;
    let hash = crate::keys::hash_secret(&token);
    match state.db.session(&hash, crate::now_ms()).await {
        Ok(user) => user,
        Err(e) => {
            tracing::warn!(error = %e, "reading a session failed");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; readout_session=rs_x; b=2"),
        );
        assert_eq!(session_token(&headers).as_deref(), Some("rs_x"));
        headers.insert(COOKIE, HeaderValue::from_static("readout_sessionx=1"));
        assert_eq!(session_token(&headers), None);
    }
}
