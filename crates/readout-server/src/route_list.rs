//! A router that knows its paths (axum's does not tell them).

use axum::Router;
use axum::routing::MethodRouter;

/// A router that keeps the paths it routes, so a test can walk every one
/// of them: a route added is walked without anyone listing it.
pub(crate) struct Routes<S> {
    router: Router<S>,
    paths: Vec<&'static str>,
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub(crate) fn new() -> Self {
        Self {
            router: Router::new(),
            paths: Vec::new(),
        }
    }

    pub(crate) fn route(mut self, path: &'static str, method: MethodRouter<S>) -> Self {
        self.router = self.router.route(path, method);
        self.paths.push(path);
        self
    }

    pub(crate) fn into_parts(self) -> (Router<S>, Vec<&'static str>) {
        (self.router, self.paths)
    }
}
