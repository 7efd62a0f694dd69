//! Data sources: which allowlisted commands a host runs, and the editor
//! that turns one command's output into variables (a table of named cells
//! to click, or a pattern), previewed on the latest real output before it
//! is saved. Invalid allowlist lines the agent reported are listed with
//! their line numbers. The page's script (`sources.js`) calls `/api/v1`.

use axum::extract::{Path, State};
use axum::response::Response;
use readout_notify::context::{unit_of, value_text};
use readout_storage::{DataSource, Database, DbError, ParserConfig, SeriesInfo};
use serde::Serialize;

use super::dashboard::{WorkspaceHost, not_found};
use super::outputs::when;
use super::pages::failed;
use crate::state::AppState;

/// How a source reads its output, in a few words.
fn parser_summary(source: &DataSource) -> String {
    if source.template_id.is_some() {
        return "template".into();
    }
    match &source.parser {
        None => "raw output kept, nothing parsed".into(),
        Some(p) => match (&p.preset, p.variables.len()) {
            (Some(preset), 0) => format!("preset {preset}"),
            (Some(preset), n) => format!("preset {preset} + {n} of its own"),
            (None, n) => format!("{n} variable{}", if n == 1 { "" } else { "s" }),
        },
    }
}

#[derive(Debug, Serialize)]
struct CommandRow {
    name: String,
    command: Option<String>,
    runs: bool,
    parser: Option<String>,
    variables: usize,
}

pub(super) async fn list<D: Database>(
    State(state): State<AppState<D>>,
    WorkspaceHost { user, host }: WorkspaceHost,
) -> Response {
    let id = host.id.as_str();
    let (sources, variables) =
        match tokio::try_join!(state.db.data_sources(id), state.db.series_list(id)) {
            Ok(both) => both,
            Err(e) => return failed("reading data sources", e),
        };
    let count = |name: &str| variables.iter().filter(|v| v.source == name).count();
    let report = &host.allowlist.0;
    let mut rows: Vec<CommandRow> = report
        .entries
        .iter()
        .map(|e| {
            let source = sources.iter().find(|s| s.name == e.name);
            CommandRow {
                name: e.name.clone(),
                command: Some(e.command.clone()),
                runs: source.is_some(),
                parser: source.map(parser_summary),
                variables: count(&e.name),
            }
        })
        .collect();
    // Chosen once, gone from the file since: the agent refuses them.
    rows.extend(
        sources
            .iter()
            .filter(|s| !report.entries.iter().any(|e| e.name == s.name))
            .map(|s| CommandRow {
                name: s.name.clone(),
                command: None,
                runs: true,
                parser: Some(parser_summary(s)),
                variables: count(&s.name),
            }),
    );
    state.web.render(
        "sources.html",
        Some(&user),
        minijinja::context! {
            page => "servers", tab => "sources", host => minijinja::value::Serde(&host),
            rows => minijinja::value::Serde(&rows), invalid => minijinja::value::Serde(&report.invalid),
            reported => host.last_seen_at_ms.is_some(), can_edit => super::actor(&user).changes(),
        },
    )
}

#[derive(Debug, Serialize)]
struct VariableRow {
    name: String,
    value: String,
    at: String,
    /// Defined by this source's own parser (not its preset): removable.
    own: bool,
}

/// What the editor's script starts from.
#[derive(Debug, Serialize)]
struct EditorData<'a> {
    host: &'a str,
    command: &'a str,
    /// The parser a saved variable joins: the source's own, a copy of its
    /// template's, or for a command not running yet the preset it would get.
    parser: Option<ParserConfig>,
    can_edit: bool,
}

pub(super) async fn editor<D: Database>(
    State(state): State<AppState<D>>,
    WorkspaceHost { user, host }: WorkspaceHost,
    Path((_, name)): Path<(String, String)>,
) -> Response {
    let id = host.id.as_str();
    let command = host.allowlist.0.entries.iter().find(|e| e.name == name);
    let (sources, variables) =
        match tokio::try_join!(state.db.data_sources(id), state.db.series_list(id)) {
            Ok(both) => both,
            Err(e) => return failed("reading data sources", e),
        };
    let source = sources.iter().find(|s| s.name == name);
    if command.is_none() && source.is_none() {
        return not_found();
    }
    let output = match state.db.output(id, &name, None).await {
        Ok(output) => Some(output),
        Err(DbError::NotFound) => None,
        Err(e) => return failed("reading an output", e),
    };
    let own: Vec<&str> = source
        .and_then(|s| s.parser.as_ref())
        .filter(|_| source.is_some_and(|s| s.template_id.is_none()))
        .map(|p| p.variables.iter().map(|v| v.name.as_str()).collect())
        .unwrap_or_default();
    let rows: Vec<VariableRow> = variables
        .iter()
        .filter(|v| v.source == name)
        .map(|v: &SeriesInfo| VariableRow {
            name: v.name.clone(),
            value: v
                .last_text
                .clone()
                .unwrap_or_else(|| value_text(v.last_value, unit_of(&v.name))),
            at: when(v.last_at_ms),
            own: own.contains(&v.name.as_str()),
        })
        .collect();
    let parser = match source {
        Some(s) => s.parser.clone(),
        None => command.and_then(|c| readout_app::sources::default_parser(&c.command)),
    };
    let data = EditorData {
        host: &host.id,
        command: &name,
        parser,
        can_edit: super::actor(&user).changes(),
    };
    state.web.render(
        "source.html",
        Some(&user),
        minijinja::context! {
            page => "servers", tab => "sources", host => minijinja::value::Serde(&host),
            name => name.as_str(), command => command.map(|c| c.command.as_str()),
            summary => source.map(parser_summary), template => source.and_then(|s| s.template_id.as_deref()),
            output => output.as_ref().map(|o| String::from_utf8_lossy(&o.output).into_owned()),
            output_at => output.as_ref().map(|o| when(o.started_at_ms)),
            variables => minijinja::value::Serde(&rows), data => minijinja::value::Serde(&data),
            can_edit => super::actor(&user).changes(),
        },
    )
}
