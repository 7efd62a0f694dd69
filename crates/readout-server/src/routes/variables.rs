//! Data sources, templates, derived variables, preview, series and
//! back-fill under `/api/v1/`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use readout_parse::extract::{ParserConfig, Source, cell_selectors};
use readout_parse::host::{Derived, DerivedSpec, VariableError};
use readout_parse::table::{Table, TableSpec, cell_name, parse_cell_name};
use readout_parse::{Input, Value};
use readout_storage::series::{self, Range, Series};
use readout_storage::{DataSource, Database, SampleRow, SeriesInfo, StoredOutput, Template};
use serde::{Deserialize, Serialize};

use crate::errors::{ApiError, JsonBody, not_found};
use crate::routes::api::live_host;
use crate::state::AppState;

fn check_parser(parser: &ParserConfig) -> Result<(), ApiError> {
    parser
        .check()
        .map_err(|e| ApiError::bad_request(format!("parser: {e}")))
}

fn check_command(name: &str) -> Result<(), ApiError> {
    readout_allowlist::check_name(name)
        .map_err(|e| ApiError::bad_request(format!("invalid command name {name:?}: {e}")))
}

pub async fn list_sources<D: Database>(
    State(state): State<AppState<D>>,
    Path(id): Path<String>,
) -> Result<Json<Vec<DataSource>>, ApiError> {
    live_host(&state.db, &id).await?;
    Ok(Json(state.db.data_sources(&id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceBody {
    #[serde(default)]
    parser: Option<ParserConfig>,
    #[serde(default)]
    template_id: Option<String>,
}

/// Creates or replaces a data source: its own parser, a template's, or
/// none (the raw output is kept, nothing parsed).
pub async fn put_source<D: Database>(
    State(state): State<AppState<D>>,
    Path((id, name)): Path<(String, String)>,
    JsonBody(body): JsonBody<SourceBody>,
) -> Result<Json<DataSource>, ApiError> {
    check_command(&name)?;
    if body.parser.is_some() && body.template_id.is_some() {
        return Err(ApiError::bad_request(
            "give either a parser or a template_id, not both",
        ));
    }
    if let Some(parser) = &body.parser {
        check_parser(parser)?;
    }
    live_host(&state.db, &id).await?;
    let sources = state.db.data_sources(&id).await?;
    let max = state.settings.limits.max_results;
    if sources.len() >= max && !sources.iter().any(|s| s.name == name) {
        return Err(ApiError::bad_request(format!(
            "the host already has {max} data sources, the most a cycle carries"
        )));
    }
    let template = body.template_id.as_deref();
    state
        .db
        .put_data_source(&id, &name, body.parser.as_ref(), template, crate::now_ms())
        .await
        .map_err(not_found(format!("template {}", template.unwrap_or(""))))?;
    let sources = state.db.data_sources(&id).await?;
    sources
        .into_iter()
        .find(|s| s.name == name)
        .map(Json)
        .ok_or_else(ApiError::internal)
}

pub async fn delete_source<D: Database>(
    State(state): State<AppState<D>>,
    Path((id, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    live_host(&state.db, &id).await?;
    state
        .db
        .delete_data_source(&id, &name)
        .await
        .map_err(not_found(format!("data source {name}")))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    name: String,
    command_name: String,
    parser: ParserConfig,
}

impl TemplateBody {
    fn check(&self) -> Result<(), ApiError> {
        readout_app::Name::parse(&self.name)
            .map_err(|e| ApiError::bad_request(format!("the template: {e}")))?;
        check_command(&self.command_name)?;
        check_parser(&self.parser)
    }
}

pub async fn list_templates<D: Database>(
    State(state): State<AppState<D>>,
) -> Result<Json<Vec<Template>>, ApiError> {
    Ok(Json(state.db.templates().await?))
}

pub async fn create_template<D: Database>(
    State(state): State<AppState<D>>,
    JsonBody(body): JsonBody<TemplateBody>,
) -> Result<(StatusCode, Json<Template>), ApiError> {
    body.check()?;
    let id = crate::keys::new_id("t_").map_err(|e| {
        tracing::error!(error = %e, "cannot make a template id");
        ApiError::internal()
    })?;
    let now = crate::now_ms();
    let template = Template {
        id,
        name: body.name.trim().to_owned(),
        command_name: body.command_name,
        parser: body.parser,
        created_at_ms: now,
        updated_at_ms: now,
    };
    state.db.put_template(&template).await?;
    Ok((StatusCode::CREATED, Json(template)))
}

pub async fn get_template<D: Database>(
    State(state): State<AppState<D>>,
    Path(tid): Path<String>,
) -> Result<Json<Template>, ApiError> {
    let found = state.db.template(&tid).await;
    Ok(Json(found.map_err(not_found(format!("template {tid}")))?))
}

/// Replaces a template; every host using it parses with the new one from
/// its next cycle.
pub async fn update_template<D: Database>(
    State(state): State<AppState<D>>,
    Path(tid): Path<String>,
    JsonBody(body): JsonBody<TemplateBody>,
) -> Result<Json<Template>, ApiError> {
    body.check()?;
    let old = state.db.template(&tid).await;
    let old = old.map_err(not_found(format!("template {tid}")))?;
    let template = Template {
        name: body.name.trim().to_owned(),
        command_name: body.command_name,
        parser: body.parser,
        updated_at_ms: crate::now_ms(),
        ..old
    };
    state.db.put_template(&template).await?;
    Ok(Json(template))
}

pub async fn delete_template<D: Database>(
    State(state): State<AppState<D>>,
    Path(tid): Path<String>,
) -> Result<StatusCode, ApiError> {
    let done = state.db.delete_template(&tid).await;
    done.map_err(not_found(format!("template {tid}")))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyBody {
    hosts: Vec<String>,
}

pub async fn apply_template<D: Database>(
    State(state): State<AppState<D>>,
    Path(tid): Path<String>,
    JsonBody(body): JsonBody<ApplyBody>,
) -> Result<StatusCode, ApiError> {
    state
        .db
        .template(&tid)
        .await
        .map_err(not_found(format!("template {tid}")))?;
    for (i, host) in body.hosts.iter().enumerate() {
        live_host(&state.db, host)
            .await
            .map_err(|e| ApiError::bad_request(format!("hosts[{i}]: {e}")))?;
    }
    state
        .db
        .apply_template(&tid, &body.hosts, crate::now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_derived<D: Database>(
    State(state): State<AppState<D>>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Derived>>, ApiError> {
    live_host(&state.db, &id).await?;
    Ok(Json(state.db.derived(&id).await?))
}

/// `{"formula": "used / total * 100"}` or `{"rate_of": "rx_bytes"}`.
pub async fn put_derived<D: Database>(
    State(state): State<AppState<D>>,
    Path((id, name)): Path<(String, String)>,
    JsonBody(spec): JsonBody<DerivedSpec>,
) -> Result<Json<Derived>, ApiError> {
    let derived = Derived { name, spec };
    derived
        .check()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    live_host(&state.db, &id).await?;
    state.db.put_derived(&id, &derived, crate::now_ms()).await?;
    Ok(Json(derived))
}

pub async fn delete_derived<D: Database>(
    State(state): State<AppState<D>>,
    Path((id, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    live_host(&state.db, &id).await?;
    let done = state.db.delete_derived(&id, &name).await;
    done.map_err(not_found(format!("derived variable {name}")))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    command: String,
    parser: ParserConfig,
    /// A past cycle's output instead of the latest.
    #[serde(default)]
    cycle_id: Option<String>,
}

/// What a parser makes of a stored output.
#[derive(Debug, Serialize)]
pub struct Preview {
    cycle_id: String,
    started_at_ms: i64,
    command_line: String,
    values: BTreeMap<String, Value>,
    errors: Vec<VariableError>,
}

/// A stored output of `command` (the latest, or a past cycle's), with the
/// allowlisted command line and the output as text.
async fn stored_output<D: Database>(
    state: &AppState<D>,
    id: &str,
    command: &str,
    cycle_id: Option<&str>,
) -> Result<(StoredOutput, String, String), ApiError> {
    let host = live_host(&state.db, id).await?;
    let what = match cycle_id {
        Some(c) => format!("output of {command} in cycle {c}"),
        None => format!("output of {command}"),
    };
    let output = state
        .db
        .output(id, command, cycle_id)
        .await
        .map_err(not_found(what))?;
    let text = String::from_utf8_lossy(&output.output).into_owned();
    Ok((output, host.command_line(command), text))
}

/// Runs a parser config against a stored output; nothing is saved.
pub async fn preview<D: Database>(
    State(state): State<AppState<D>>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PreviewBody>,
) -> Result<Json<Preview>, ApiError> {
    check_parser(&body.parser)?;
    let (output, command_line, text) =
        stored_output(&state, &id, &body.command, body.cycle_id.as_deref()).await?;
    let exit_code = output.outcome.exit_code;
    let line = command_line.clone();
    let (values, errors) = state
        .editing
        .run(move || {
            let input = Input {
                command: &line,
                output: &text,
                exit_code,
            };
            let mut values = BTreeMap::new();
            let mut errors = Vec::new();
            for (variable, value) in body.parser.extract_each(input) {
                match value {
                    Ok(v) => {
                        values.insert(variable, v);
                    }
                    Err(e) => errors.push(VariableError {
                        variable,
                        message: e.to_string(),
                    }),
                }
            }
            (values, errors)
        })
        .await?;
    Ok(Json(Preview {
        cycle_id: output.cycle_id,
        started_at_ms: output.started_at_ms,
        command_line,
        values,
        errors,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableBody {
    command: String,
    /// How to cut the output; the default is newlines and runs of spaces
    /// or commas.
    #[serde(default)]
    table: TableSpec,
    #[serde(default)]
    cycle_id: Option<String>,
    /// A clicked cell (`B2`): the answer says how a variable can pick it.
    #[serde(default)]
    cell: Option<String>,
}

/// Rows and columns shown at most: more would not help anyone click.
const TABLE_ROWS: usize = 500;
const TABLE_COLUMNS: usize = 60;

/// A stored output as a table of named cells.
#[derive(Debug, Serialize)]
pub struct TableView {
    cycle_id: String,
    started_at_ms: i64,
    rows: Vec<Vec<String>>,
    /// Rows past the first `TABLE_ROWS`, not sent.
    more_rows: usize,
    pick: Option<Pick>,
}

/// A clicked cell, and the ways to pick it, steadiest first.
#[derive(Debug, Serialize)]
pub struct Pick {
    cell: String,
    text: String,
    ways: Vec<Source>,
}

/// Splits a stored output into the table extractors read (`A1`, `B2` …).
pub async fn table<D: Database>(
    State(state): State<AppState<D>>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<TableBody>,
) -> Result<Json<TableView>, ApiError> {
    let (output, _, text) =
        stored_output(&state, &id, &body.command, body.cycle_id.as_deref()).await?;
    let clicked = match &body.cell {
        None => None,
        Some(cell) => Some(parse_cell_name(cell).ok_or_else(|| {
            ApiError::bad_request(format!("cell {cell:?} is not a cell name such as B2"))
        })?),
    };
    let spec = body.table;
    let (rows, more_rows, pick) = state
        .editing
        .run(move || {
            let table = Table::split(&text, &spec);
            let pick = clicked.map(|(row, column)| {
                table.get(row, column).map(|found| Pick {
                    cell: cell_name(row, column),
                    text: found.to_owned(),
                    ways: cell_selectors(&table, row, column),
                })
            });
            let (total, more_rows) = (
                table.rows.len(),
                table.rows.len().saturating_sub(TABLE_ROWS),
            );
            let rows: Vec<Vec<String>> = table
                .rows
                .into_iter()
                .take(TABLE_ROWS)
                .map(|r| r.into_iter().take(TABLE_COLUMNS).collect())
                .collect();
            (rows, more_rows, pick.map(|p| p.ok_or(total)))
        })
        .await?;
    let pick = match (pick, &body.cell) {
        (Some(Err(total)), Some(cell)) => {
            return Err(ApiError::bad_request(format!(
                "cell {cell}: the table has no such cell ({total} rows)"
            )));
        }
        (pick, _) => pick.and_then(Result::ok),
    };
    Ok(Json(TableView {
        cycle_id: output.cycle_id,
        started_at_ms: output.started_at_ms,
        rows,
        more_rows,
        pick,
    }))
}

pub async fn list_variables<D: Database>(
    State(state): State<AppState<D>>,
    Path(id): Path<String>,
) -> Result<Json<Vec<SeriesInfo>>, ApiError> {
    live_host(&state.db, &id).await?;
    Ok(Json(state.db.series_list(&id).await?))
}

/// `?name=A&name=B&from=MS&to=MS&points=N`, every parameter checked.
#[derive(Debug, PartialEq)]
struct SeriesQuery {
    names: Vec<String>,
    range: Range,
}

const MAX_SERIES: usize = 50;
const MAX_POINTS: u32 = 5000;
/// Points of all the series of one answer together.
const MAX_TOTAL_POINTS: u64 = 50_000;
/// Times outside 1970 … 9999 are no one's chart (and would overflow).
const LATEST_MS: i64 = 253_402_300_799_999;
const HOUR_MS: i64 = 3_600_000;

fn series_query(raw: &str, now_ms: i64) -> Result<SeriesQuery, ApiError> {
    let mut names = Vec::new();
    let (mut from, mut to, mut points) = (None, None, None);
    let number = |key: &str, v: &str| {
        v.parse::<i64>()
            .map_err(|_| ApiError::bad_request(format!("{key}={v:?} is not a whole number")))
    };
    let time = |key: &str, v: &str| {
        number(key, v).and_then(|t| {
            if (0..=LATEST_MS).contains(&t) {
                Ok(t)
            } else {
                Err(ApiError::bad_request(format!(
                    "{key}={t} is outside 0 … {LATEST_MS} (ms since the epoch)"
                )))
            }
        })
    };
    for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
        match &*key {
            // The same name twice is one series.
            "name" if names.iter().any(|n| *n == value) => {}
            "name" => names.push(value.into_owned()),
            "from" => from = Some(time("from", &value)?),
            "to" => to = Some(time("to", &value)?),
            "points" => points = Some(number("points", &value)?),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {other:?}; use name, from, to (ms since the epoch) and points"
                )));
            }
        }
    }
    if names.is_empty() || names.len() > MAX_SERIES {
        return Err(ApiError::bad_request(format!(
            "give 1 to {MAX_SERIES} variables as name=…"
        )));
    }
    let to_ms = to.unwrap_or(now_ms);
    let from_ms = from.unwrap_or(to_ms.saturating_sub(HOUR_MS));
    if from_ms >= to_ms {
        return Err(ApiError::bad_request(format!(
            "from ({from_ms}) must be before to ({to_ms})"
        )));
    }
    let points = points.unwrap_or(500);
    let max_points = u32::try_from(points)
        .ok()
        .filter(|p| (1..=MAX_POINTS).contains(p))
        .ok_or_else(|| {
            ApiError::bad_request(format!("points is {points}; it must be 1 to {MAX_POINTS}"))
        })?;
    let total = u64::from(max_points) * names.len() as u64;
    if total > MAX_TOTAL_POINTS {
        return Err(ApiError::bad_request(format!(
            "{} variables × {max_points} points is over {MAX_TOTAL_POINTS}: ask for fewer points or variables",
            names.len()
        )));
    }
    Ok(SeriesQuery {
        names,
        range: Range {
            from_ms,
            to_ms,
            max_points,
        },
    })
}

#[derive(Debug, Serialize)]
pub struct SeriesAnswer {
    from_ms: i64,
    to_ms: i64,
    series: Vec<Series>,
}

/// Each named variable over the range, in at most `points` buckets.
pub async fn query_series<D: Database>(
    State(state): State<AppState<D>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<SeriesAnswer>, ApiError> {
    let now = crate::now_ms();
    let query = series_query(raw.as_deref().unwrap_or(""), now)?;
    live_host(&state.db, &id).await?;
    let raw_kept_since = now - i64::from(state.settings.points_days) * 24 * HOUR_MS;
    // The variables are read side by side (the names are capped), each in
    // its own read transaction.
    let mut reads = tokio::task::JoinSet::new();
    for (i, name) in query.names.iter().enumerate() {
        let (db, id, name) = (state.db.clone(), id.clone(), name.clone());
        let range = query.range;
        reads.spawn(async move {
            (
                i,
                series::query(&db, &id, &name, range, raw_kept_since).await,
            )
        });
    }
    let mut out: Vec<Option<series::Series>> = vec![None; query.names.len()];
    while let Some(read) = reads.join_next().await {
        let (i, answer) = read.map_err(|e| {
            tracing::error!(error = %e, "a series read failed");
            ApiError::internal()
        })?;
        out[i] = Some(answer?);
    }
    let out = out.into_iter().flatten().collect();
    Ok(Json(SeriesAnswer {
        from_ms: query.range.from_ms,
        to_ms: query.range.to_ms,
        series: out,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillBody {
    command: String,
    #[serde(default)]
    from_ms: Option<i64>,
    #[serde(default)]
    to_ms: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct BackfillReport {
    outputs: u64,
    points: u64,
    /// Outputs on which at least one variable failed, with the first error.
    failed_outputs: u64,
    first_error: Option<String>,
}

/// Outputs read per transaction.
const BACKFILL_PAGE: u32 = 200;

/// Re-parses stored raw outputs of one data source with its current
/// parser and writes the values, replacing what was there: a variable
/// added or fixed today gets its past. Derived variables are not
/// recomputed (they mix sources).
pub async fn backfill<D: Database>(
    State(state): State<AppState<D>>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<BackfillBody>,
) -> Result<Json<BackfillReport>, ApiError> {
    let host = live_host(&state.db, &id).await?;
    let sources = state.db.data_sources(&id).await?;
    let source = sources
        .into_iter()
        .find(|s| s.name == body.command)
        .ok_or_else(|| ApiError::not_found(&format!("data source {}", body.command)))?;
    let parser = source.parser.ok_or_else(|| {
        ApiError::bad_request(format!(
            "data source {} has no parser; set one first",
            body.command
        ))
    })?;
    let command_line = host.command_line(&body.command);
    let mut from = body.from_ms.unwrap_or(0);
    let to = body.to_ms.unwrap_or(i64::MAX);
    let mut report = BackfillReport {
        outputs: 0,
        points: 0,
        failed_outputs: 0,
        first_error: None,
    };
    loop {
        let page = state
            .db
            .outputs_between(&id, &body.command, from, to, BACKFILL_PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        from = last.started_at_ms + 1;
        let full_page = page.len() >= BACKFILL_PAGE as usize;
        let (parser_, line, command) = (parser.clone(), command_line.clone(), body.command.clone());
        let (samples, outputs, failed_outputs, first_error) = state
            .editing
            .run(move || parse_page(&parser_, &line, &command, &page))
            .await?;
        report.outputs += outputs;
        report.failed_outputs += failed_outputs;
        if report.first_error.is_none() {
            report.first_error = first_error;
        }
        report.points += state.db.write_samples(&id, &samples).await?;
        if !full_page {
            break;
        }
    }
    Ok(Json(report))
}

/// One page of a back-fill, parsed: the samples, how many outputs were
/// read and failed, and the first error.
fn parse_page(
    parser: &ParserConfig,
    command_line: &str,
    command: &str,
    page: &[StoredOutput],
) -> (Vec<SampleRow>, u64, u64, Option<String>) {
    let (mut samples, mut failed_outputs, mut first_error) = (Vec::new(), 0, None);
    for output in page {
        let text = String::from_utf8_lossy(&output.output);
        let input = Input {
            command: command_line,
            output: &text,
            exit_code: output.outcome.exit_code,
        };
        let mut failed = false;
        for (name, value) in parser.extract_each(input) {
            match value {
                Ok(value) => samples.push(SampleRow {
                    source: command.to_owned(),
                    name,
                    at_ms: output.started_at_ms,
                    value,
                }),
                Err(e) => {
                    failed = true;
                    first_error.get_or_insert_with(|| format!("{name}: {e}"));
                }
            }
        }
        failed_outputs += u64::from(failed);
    }
    (samples, page.len() as u64, failed_outputs, first_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_queries_are_checked() {
        let q = series_query(
            "name=load_1&name=fs_used_pct%7Bmount%3D%22%2F%22%7D&points=10",
            5 * HOUR_MS,
        )
        .expect("query");
        assert_eq!(q.names, ["load_1", "fs_used_pct{mount=\"/\"}"]);
        assert_eq!(
            q.range,
            Range {
                from_ms: 4 * HOUR_MS,
                to_ms: 5 * HOUR_MS,
                max_points: 10
            }
        );
        let err = |raw: &str| series_query(raw, HOUR_MS).expect_err(raw).to_string();
        assert!(err("").contains("give 1 to 50 variables"));
        assert!(err("name=a&from=x").contains("from=\"x\" is not a whole number"));
        assert!(err("name=a&from=5&to=5").contains("must be before"));
        assert!(err("name=a&points=0").contains("points is 0"));
        assert!(err("name=a&step=3").contains("unknown parameter \"step\""));
        assert!(err("name=a&from=-9000000000000000000&to=9000000000000000000").contains("outside"));
        let fifty_copies = "name=a&".repeat(50) + "points=1";
        let q = series_query(&fifty_copies, HOUR_MS).expect("one series");
        assert_eq!(q.names, ["a"]);
        let many: String = (0..20).map(|i| format!("name=v{i}&")).collect();
        assert!(err(&format!("{many}points=5000")).contains("over 50000"));
    }
}
