use readout_parse::Value;
use readout_parse::extract::ParserConfig;
use readout_parse::host::{CycleValues, Derived, VariableError};
use readout_proto::{AllowlistReport, CycleRequest, RejectedName};
use serde::Serialize;

use crate::DbError;

/// A monitored machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Host {
    pub id: String,
    pub name: String,
    pub created_at_ms: i64,
    pub removed_at_ms: Option<i64>,
    pub interval_secs: i32,
    /// When the last cycle arrived (server clock).
    pub last_seen_at_ms: Option<i64>,
    /// When the newest stored cycle started (agent clock).
    pub last_cycle_at_ms: Option<i64>,
    pub agent_version: Option<String>,
    pub agent_hostname: Option<String>,
    pub agent_os: Option<String>,
    pub agent_arch: Option<String>,
    /// The allowlist as the agent last reported it.
    #[sqlx(try_from = "String", rename = "allowlist_json")]
    pub allowlist: JsonText<AllowlistReport>,
    /// Quiet this long and the host is SILENT; `None`: the server's default.
    pub silent_after_secs: Option<i32>,
    /// `None` only before the owner account exists.
    pub workspace_id: Option<String>,
}

impl Host {
    /// The command line the agent last reported for an allowlisted name;
    /// empty if it reported none.
    pub fn command_line(&self, name: &str) -> String {
        let entries = &self.allowlist.0.entries;
        entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.command.clone())
            .unwrap_or_default()
    }
}

/// A host to create. The key hash is computed by the caller: storage never
/// sees a key.
#[derive(Debug, Clone)]
pub struct NewHost {
    pub id: String,
    pub name: String,
    pub key_hash: Vec<u8>,
    pub created_at_ms: i64,
    /// `None`: the first workspace, or none before the owner exists.
    pub workspace_id: Option<String>,
    /// Initial data sources.
    pub sources: Vec<NewSource>,
}

/// A data source to create: a command name and, when one fits, its parser.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSource {
    pub name: String,
    pub parser: Option<ParserConfig>,
}

/// A command a host runs and how its output is read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataSource {
    pub name: String,
    /// What reads the output: the template's parser when a template is set.
    pub parser: Option<ParserConfig>,
    pub template_id: Option<String>,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DataSourceRow {
    pub command_name: String,
    pub parser_json: Option<String>,
    pub template_id: Option<String>,
    pub created_at_ms: i64,
}

impl TryFrom<DataSourceRow> for DataSource {
    type Error = DbError;
    fn try_from(row: DataSourceRow) -> Result<Self, DbError> {
        Ok(Self {
            parser: row.parser_json.as_deref().map(parse_json).transpose()?,
            name: row.command_name,
            template_id: row.template_id,
            created_at_ms: row.created_at_ms,
        })
    }
}

/// A parser shared by many hosts: applying it points their data source
/// for `command_name` at it, so one edit reaches them all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub command_name: String,
    pub parser: ParserConfig,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TemplateRow {
    pub id: String,
    pub name: String,
    pub command_name: String,
    pub parser_json: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl TryFrom<TemplateRow> for Template {
    type Error = DbError;
    fn try_from(row: TemplateRow) -> Result<Self, DbError> {
        Ok(Self {
            parser: parse_json(&row.parser_json)?,
            id: row.id,
            name: row.name,
            command_name: row.command_name,
            created_at_ms: row.created_at_ms,
            updated_at_ms: row.updated_at_ms,
        })
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DerivedRow {
    pub spec_json: String,
}

impl TryFrom<DerivedRow> for Derived {
    type Error = DbError;
    fn try_from(row: DerivedRow) -> Result<Self, DbError> {
        parse_json(&row.spec_json)
    }
}

/// A variable of a host and its latest value.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SeriesInfo {
    pub name: String,
    /// The data source (command name) or `derived`.
    pub source: String,
    pub last_at_ms: i64,
    pub last_value: Option<f64>,
    pub last_text: Option<String>,
}

/// Stored points or roll-up buckets of a series, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, sqlx::FromRow)]
pub struct AggRow {
    pub at_ms: i64,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: i64,
    pub last: f64,
}

/// A value to write into a host's series (back-fill).
#[derive(Debug, Clone, PartialEq)]
pub struct SampleRow {
    pub source: String,
    pub name: String,
    pub at_ms: i64,
    pub value: Value,
}

/// How long each kind of history is kept: rows older than these go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Raw output (the latest of each command is always kept).
    pub outputs_before_ms: i64,
    /// Full-resolution points.
    pub points_before_ms: i64,
    /// 5-minute and 1-hour roll-ups.
    pub rollups_before_ms: i64,
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, DbError> {
    serde_json::from_str(text).map_err(|e| DbError::Corrupt(format!("{e} in {text:?}")))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HostAuth {
    pub key_hash: Vec<u8>,
    pub removed_at_ms: Option<i64>,
    pub interval_secs: i32,
}

/// A cycle as received, waiting to be stored.
#[derive(Debug, Clone)]
pub struct IncomingCycle {
    pub host_id: String,
    pub received_at_ms: i64,
    pub cycle: CycleRequest,
    /// The variables parsed from it, stored in the same transaction.
    pub parsed: CycleValues,
    /// Each result's output as stored, packed by whoever made the cycle
    /// (a request handler, in parallel) so the one writer does not.
    packed: Vec<(Vec<u8>, i32)>,
}

/// How one run of a command ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct RunOutcome {
    pub duration_ms: i64,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub truncated: bool,
}

/// One stored output of a command, decompressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOutput {
    pub name: String,
    pub cycle_id: String,
    pub started_at_ms: i64,
    pub outcome: RunOutcome,
    pub output: Vec<u8>,
}

/// [`StoredOutput`] as the row holds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutputRow {
    pub name: String,
    pub cycle_id: String,
    pub started_at_ms: i64,
    #[sqlx(flatten)]
    pub outcome: RunOutcome,
    pub output: Vec<u8>,
    pub output_encoding: i32,
}

impl TryFrom<OutputRow> for StoredOutput {
    type Error = DbError;
    fn try_from(row: OutputRow) -> Result<Self, DbError> {
        Ok(Self {
            output: crate::codec::decode(row.output, row.output_encoding)?,
            name: row.name,
            cycle_id: row.cycle_id,
            started_at_ms: row.started_at_ms,
            outcome: row.outcome,
        })
    }
}

/// One stored cycle with a summary of each command it ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredCycle {
    pub cycle_id: String,
    pub started_at_ms: i64,
    pub received_at_ms: i64,
    pub duration_ms: i64,
    pub agent_version: String,
    pub spool_dropped: i64,
    pub rejected: Vec<RejectedName>,
    pub results: Vec<ResultSummary>,
    /// Derived variables that could not be computed.
    pub derived_errors: Vec<VariableError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ResultSummary {
    pub name: String,
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub outcome: RunOutcome,
    pub output_bytes: i64,
    /// Variables of this command's parser that could not be read.
    #[sqlx(try_from = "String", rename = "parse_errors_json")]
    pub parse_errors: JsonText<Vec<VariableError>>,
}

/// A value kept as JSON text, so every backend stores it the same way.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct JsonText<T>(pub T);

impl<T: serde::de::DeserializeOwned> TryFrom<String> for JsonText<T> {
    type Error = serde_json::Error;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        serde_json::from_str(&text).map(JsonText)
    }
}

/// A row of the cycles table, before its results are attached.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CycleRow {
    pub id: i64,
    pub cycle_id: String,
    pub started_at_ms: i64,
    pub received_at_ms: i64,
    pub duration_ms: i64,
    pub agent_version: String,
    pub spool_dropped: i64,
    #[sqlx(try_from = "String", rename = "rejected_json")]
    pub rejected: JsonText<Vec<RejectedName>>,
    #[sqlx(try_from = "String", rename = "derived_errors_json")]
    pub derived_errors: JsonText<Vec<VariableError>>,
}

/// A result of the head (`command_results`), as the compactor packs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HeadResultRow {
    pub id: i64,
    pub cycle_pk: i64,
    #[sqlx(flatten)]
    pub row: OutputRow,
    pub parse_errors_json: String,
}

impl HeadResultRow {
    /// The packed result, `position` being its place in its cycle.
    pub fn into_packed(self, position: u32) -> Result<crate::pack::PackedResult, DbError> {
        let out = StoredOutput::try_from(self.row)?;
        Ok(crate::pack::PackedResult {
            output: out.output,
            cycle_pk: self.cycle_pk,
            cycle_id: out.cycle_id,
            position,
            started_at_ms: out.started_at_ms,
            duration_ms: out.outcome.duration_ms,
            exit_code: out.outcome.exit_code,
            signal: out.outcome.signal,
            timed_out: out.outcome.timed_out,
            truncated: out.outcome.truncated,
            parse_errors_json: self.parse_errors_json,
        })
    }
}

/// A result summary with the row id of the cycle it belongs to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResultRow {
    pub cycle_pk: i64,
    #[sqlx(flatten)]
    pub summary: ResultSummary,
}

impl StoredCycle {
    /// Attaches each result to its cycle, keeping the cycles' order.
    pub fn assemble(cycles: Vec<CycleRow>, results: Vec<ResultRow>) -> Vec<StoredCycle> {
        let mut by_cycle: std::collections::HashMap<i64, Vec<ResultSummary>> =
            std::collections::HashMap::new();
        for r in results {
            by_cycle.entry(r.cycle_pk).or_default().push(r.summary);
        }
        cycles
            .into_iter()
            .map(|c| StoredCycle {
                results: by_cycle.remove(&c.id).unwrap_or_default(),
                cycle_id: c.cycle_id,
                started_at_ms: c.started_at_ms,
                received_at_ms: c.received_at_ms,
                duration_ms: c.duration_ms,
                agent_version: c.agent_version,
                spool_dropped: c.spool_dropped,
                rejected: c.rejected.0,
                derived_errors: c.derived_errors.0,
            })
            .collect()
    }
}

impl IncomingCycle {
    pub fn new(
        host_id: String,
        received_at_ms: i64,
        cycle: CycleRequest,
        parsed: CycleValues,
    ) -> Self {
        let packed = cycle
            .results
            .iter()
            .map(|r| crate::codec::encode(&r.output))
            .collect();
        Self {
            host_id,
            received_at_ms,
            cycle,
            parsed,
            packed,
        }
    }

    /// Result `i`'s output as stored and its encoding.
    pub fn packed_output(&self, i: usize) -> (Vec<u8>, i32) {
        self.packed.get(i).cloned().unwrap_or_else(|| {
            let output = self.cycle.results.get(i).map_or(&[][..], |r| &r.output);
            crate::codec::encode(output)
        })
    }

    /// The reported allowlist as stored JSON text.
    pub fn allowlist_json(&self) -> String {
        json_text(&self.cycle.allowlist)
    }

    pub fn rejected_json(&self) -> String {
        json_text(&self.cycle.rejected)
    }

    /// What the parsers of command `name` could not read, as stored JSON.
    pub fn parse_errors_json(&self, name: &str) -> String {
        json_text(
            &self
                .parsed
                .errors
                .get(name)
                .map(Vec::as_slice)
                .unwrap_or_default(),
        )
    }

    pub fn derived_errors_json(&self) -> String {
        json_text(
            &self
                .parsed
                .errors
                .get(readout_parse::host::DERIVED_SOURCE)
                .map(Vec::as_slice)
                .unwrap_or_default(),
        )
    }
}

/// A value as the JSON text the stores keep.
pub fn json_text<T: Serialize>(value: &T) -> String {
    // Serializing plain structs of strings and numbers cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}
