//! Generic extractors a user configures per variable: a table cell (by
//! name, or by row text and header so it survives rows moving), a regular
//! expression's capture group, `key: value`, a JSON path, the whole output,
//! and line, word or match counts.
//!
//! A [`ParserConfig`] is what a data source stores (as JSON); it may start
//! from a preset and add variables of its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::table::{Table, TableSpec, column_index};
use crate::{Input, ParseError, Value, Values, presets, units};

/// Variables one parser config may define.
pub const MAX_VARIABLES: usize = 500;
/// Longest regular expression accepted, in bytes.
pub const MAX_PATTERN_LEN: usize = 1024;
/// Memory a compiled expression may take: the regex crate's default is
/// 10 MiB, and compiling up to it takes long enough to stall a parse.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Compiled expressions kept for reuse (the cache starts over past it).
const REGEX_CACHE: usize = 4096;

/// The compiled form of `pattern`, compiled once per process: every cycle
/// of every host runs the same few expressions.
fn compiled(pattern: &str) -> Result<Arc<Regex>, String> {
    static CACHE: Mutex<Option<HashMap<String, Arc<Regex>>>> = Mutex::new(None);
    let lock = || {
        CACHE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some(re) = lock().as_ref().and_then(|c| c.get(pattern)) {
        return Ok(Arc::clone(re));
    }
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(format!(
            "the expression is {} bytes long; the limit is {MAX_PATTERN_LEN}",
            pattern.len()
        ));
    }
    let re = regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map(Arc::new)
        .map_err(|e| e.to_string())?;
    let mut cache = lock();
    let cache = cache.get_or_insert_with(HashMap::new);
    if cache.len() >= REGEX_CACHE {
        cache.clear();
    }
    cache.insert(pattern.to_owned(), Arc::clone(&re));
    Ok(re)
}

/// Variables by name, each read or why not.
pub type Extracted = Vec<(String, Result<Value, ParseError>)>;

/// How a data source turns output into variables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ParserConfig {
    /// A preset whose variables come first.
    pub preset: Option<String>,
    /// How the output is cut into cells, for `table` and `cell` variables.
    pub table: TableSpec,
    pub variables: Vec<VariableSpec>,
}

/// One variable: where its value is, and how to read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableSpec {
    pub name: String,
    pub extract: Source,
    #[serde(default, rename = "type")]
    pub kind: Kind,
    /// For `base`: bytes per bare number (1024 when the output is in KiB).
    #[serde(default = "one")]
    pub base_unit: f64,
}

fn one() -> f64 {
    1.0
}

/// Display types, as in Trafikito.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A number; a unit written after it (`12ms`, `42.8'C`) is ignored.
    #[default]
    Number,
    /// `12%` or `12`.
    Percent,
    /// A size: `1.5G`, `512K`, or a bare number times `base_unit`, in bytes.
    Base,
    /// A temperature in °C (`42.8'C`, `+45.0°C`, `113°F`).
    Celsius,
    /// Text, shown and never charted (a hostname, a kernel version).
    String,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Number => "a number",
            Self::Percent => "a percentage",
            Self::Base => "a size",
            Self::Celsius => "a temperature",
            Self::String => "text",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// A cell by its name: `{"from": "cell", "cell": "C2"}`.
    Cell { cell: String },
    /// A cell by row and column: `{"from": "table", "row": {"first_cell": "Mem:"}, "column": {"header": "used"}}`.
    Table {
        row: RowSelector,
        column: ColumnSelector,
    },
    /// A capture group (default 1) of the first match.
    Regex {
        pattern: String,
        #[serde(default = "first_group")]
        group: usize,
    },
    /// The value after `key` and a `:` or `=` on the same line.
    Key { key: String },
    /// A JSON path into JSON output: `$.a.b[0]`, or a JSON Pointer `/a/b/0`.
    Json { path: String },
    /// The whole output, trimmed.
    Whole,
    /// How many lines, words, or matches of `pattern` the output has.
    Count {
        what: CountWhat,
        #[serde(default)]
        pattern: Option<String>,
    },
}

fn first_group() -> usize {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowSelector {
    /// 1-based row number.
    Index(usize),
    /// The row whose first cell is exactly this text.
    FirstCell(String),
    /// The first row with a cell containing this text.
    Contains(String),
    /// The first row whose whole line matches this regular expression.
    Regex(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnSelector {
    /// 1-based column number.
    Index(usize),
    /// Spreadsheet letter: `C`.
    Letter(String),
    /// The column under this header text in the first row. Headers align to
    /// the right when a row has more cells than the header (a row label
    /// such as `Mem:` comes first).
    Header(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountWhat {
    Lines,
    Words,
    Matches,
}

/// Checks a variable name: what formulas, dashboards and alerts refer to.
pub fn check_variable_name(name: &str) -> Result<(), ParseError> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '{' | '}' | '=' | '"' | '.' | '-' | '/' | ':' | ',')
        });
    if ok {
        Ok(())
    } else {
        Err(ParseError::new(
            "a name is 1 to 200 of A-Z, a-z, 0-9 and _ (labels as {key=\"value\"})",
        ))
    }
}

impl ParserConfig {
    /// Reads a config from JSON; errors name the field (`variables[2].extract`).
    pub fn from_json(text: &str) -> Result<Self, ParseError> {
        let config: Self = serde_json::from_str(text)
            .map_err(|e| ParseError::new(format!("invalid parser config: {e}")))?;
        config.check()?;
        Ok(config)
    }

    /// Checks what serde cannot: names, patterns, presets.
    pub fn check(&self) -> Result<(), ParseError> {
        if let Some(name) = &self.preset
            && presets::find(name).is_none()
        {
            return Err(ParseError::new(format!("unknown preset {name:?}")));
        }
        if self.variables.len() > MAX_VARIABLES {
            return Err(ParseError::new(format!(
                "{} variables; a parser may define at most {MAX_VARIABLES}",
                self.variables.len()
            )));
        }
        for (i, v) in self.variables.iter().enumerate() {
            let at = |m: String| ParseError::new(format!("variables[{i}] ({}): {m}", v.name));
            check_variable_name(&v.name).map_err(|e| at(e.message))?;
            if !(v.base_unit.is_finite() && v.base_unit > 0.0) {
                return Err(at(format!(
                    "base_unit {} must be a positive number",
                    v.base_unit
                )));
            }
            match &v.extract {
                Source::Regex { pattern, .. } => {
                    compiled(pattern)
                        .map_err(|e| at(format!("invalid regular expression: {e}")))?;
                }
                Source::Count {
                    what: CountWhat::Matches,
                    pattern,
                } => {
                    let pattern = pattern
                        .as_deref()
                        .ok_or_else(|| at("counting matches needs a pattern".into()))?;
                    compiled(pattern)
                        .map_err(|e| at(format!("invalid regular expression: {e}")))?;
                }
                Source::Table {
                    row: RowSelector::Regex(pattern),
                    ..
                } => {
                    compiled(pattern)
                        .map_err(|e| at(format!("invalid regular expression: {e}")))?;
                }
                Source::Cell { cell } if crate::table::parse_cell_name(cell).is_none() => {
                    return Err(at(format!("{cell:?} is not a cell name such as B2")));
                }
                Source::Table {
                    column: ColumnSelector::Letter(l),
                    ..
                } if column_index(l).is_none() => {
                    return Err(at(format!("{l:?} is not a column letter")));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Every variable with its value or the reason it has none, so that one
    /// failing variable does not hide the others.
    pub fn extract_each(&self, input: Input<'_>) -> Vec<(String, Result<Value, ParseError>)> {
        let (mut out, own) = self.extract_parts(input);
        out.extend(own);
        out
    }

    /// What the preset yields, then what the configured variables yield.
    pub fn extract_parts(&self, input: Input<'_>) -> (Extracted, Extracted) {
        let mut from_preset = Vec::new();
        if let Some(preset) = self.preset.as_deref().and_then(presets::find) {
            match preset.parse(input) {
                Ok(values) => from_preset.extend(values.into_iter().map(|(k, v)| (k, Ok(v)))),
                Err(e) => from_preset.push((format!("preset {}", preset.name), Err(e))),
            }
        }
        let table = Table::split(input.output, &self.table);
        let own = self
            .variables
            .iter()
            .map(|v| {
                let value = raw(v, input.output, &table).and_then(|text| read(v, &text));
                (v.name.clone(), value)
            })
            .collect();
        (from_preset, own)
    }

    /// All variables, or the first error.
    pub fn extract(&self, input: Input<'_>) -> Result<Values, ParseError> {
        let mut values = Values::new();
        for (name, value) in self.extract_each(input) {
            let value = value.map_err(|e| ParseError::new(format!("{name}: {e}")))?;
            values.insert(name, value);
        }
        Ok(values)
    }
}

/// Ways to pick the cell at `row`, `column` (0-based) of `table`, steadiest
/// first: by its row's label and its column's header, which survives rows
/// moving, when both are unique and not numbers; then by its name (`C3`).
/// Each way given reads exactly that cell.
pub fn cell_selectors(table: &Table, row: usize, column: usize) -> Vec<Source> {
    let Some(text) = table.get(row, column) else {
        return Vec::new();
    };
    let mut ways = Vec::new();
    let is_word = |t: &str| !t.is_empty() && t.parse::<f64>().is_err();
    let header = table.rows.first().map(Vec::as_slice).unwrap_or_default();
    let cells = &table.rows[row];
    let label = cells
        .first()
        .filter(|l| column > 0 && row > 0 && is_word(l));
    let unique_label =
        label.filter(|l| table.rows.iter().filter(|r| r.first() == Some(*l)).count() == 1);
    let heading = column
        .checked_sub(cells.len().saturating_sub(header.len()))
        .and_then(|i| header.get(i))
        .filter(|h| is_word(h) && header.iter().filter(|x| x == h).count() == 1);
    if let (Some(label), Some(heading)) = (unique_label, heading) {
        let by_label = Source::Table {
            row: RowSelector::FirstCell(label.clone()),
            column: ColumnSelector::Header(heading.clone()),
        };
        let row_selector = RowSelector::FirstCell(label.clone());
        let column_selector = ColumnSelector::Header(heading.clone());
        if table_cell(table, &row_selector, &column_selector).is_ok_and(|t| t == text) {
            ways.push(by_label);
        }
    }
    ways.push(Source::Cell {
        cell: crate::table::cell_name(row, column),
    });
    ways
}

/// The text a variable points at.
fn raw(v: &VariableSpec, output: &str, table: &Table) -> Result<String, ParseError> {
    let missing = |what: String| ParseError::new(what);
    match &v.extract {
        Source::Cell { cell } => table.cell(cell).map(str::to_owned).ok_or_else(|| {
            missing(format!(
                "no cell {cell} (the table has {} rows)",
                table.rows.len()
            ))
        }),
        Source::Table { row, column } => table_cell(table, row, column),
        Source::Regex { pattern, group } => {
            let re = compiled(pattern)
                .map_err(|e| missing(format!("invalid regular expression: {e}")))?;
            let caps = re
                .captures(output)
                .ok_or_else(|| missing(format!("no match for /{pattern}/")))?;
            caps.get(*group)
                .map(|m| m.as_str().to_owned())
                .ok_or_else(|| missing(format!("/{pattern}/ has no group {group} in its match")))
        }
        Source::Key { key } => output
            .lines()
            .enumerate()
            .find_map(|(i, line)| {
                let rest = line.trim_start().strip_prefix(key.as_str())?;
                let rest = rest.trim_start();
                let value = rest.strip_prefix(':').or_else(|| rest.strip_prefix('='))?;
                Some((i, value.trim().to_owned()))
            })
            .map(|(_, value)| value)
            .ok_or_else(|| missing(format!("no line \"{key}: value\" or \"{key}=value\""))),
        Source::Json { path } => json(output, path),
        Source::Whole => Ok(output.trim().to_owned()),
        Source::Count { what, pattern } => {
            let n = match what {
                CountWhat::Lines => output.lines().filter(|l| !l.trim().is_empty()).count(),
                CountWhat::Words => output.split_whitespace().count(),
                CountWhat::Matches => {
                    let pattern = pattern.as_deref().unwrap_or_default();
                    let re = compiled(pattern)
                        .map_err(|e| missing(format!("invalid regular expression: {e}")))?;
                    re.find_iter(output).count()
                }
            };
            Ok(n.to_string())
        }
    }
}

fn table_cell(
    table: &Table,
    row: &RowSelector,
    column: &ColumnSelector,
) -> Result<String, ParseError> {
    let row_index = match row {
        RowSelector::Index(n) => n.checked_sub(1).filter(|i| *i < table.rows.len()),
        RowSelector::FirstCell(text) => table.rows.iter().position(|r| r.first() == Some(text)),
        RowSelector::Contains(text) => table
            .rows
            .iter()
            .position(|r| r.iter().any(|c| c.contains(text.as_str()))),
        RowSelector::Regex(pattern) => {
            let re = compiled(pattern)
                .map_err(|e| ParseError::new(format!("invalid regular expression: {e}")))?;
            table.rows.iter().position(|r| re.is_match(&r.join(" ")))
        }
    }
    .ok_or_else(|| ParseError::new(format!("no row {}", describe_row(row))))?;
    let cells = &table.rows[row_index];
    let column_index = match column {
        ColumnSelector::Index(n) => n.checked_sub(1),
        ColumnSelector::Letter(l) => column_index(l),
        ColumnSelector::Header(name) => {
            let header = table.rows.first().map(Vec::as_slice).unwrap_or_default();
            let at = header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| ParseError::new(format!("no header {name:?} in the first row")))?;
            Some(at + cells.len().saturating_sub(header.len()))
        }
    };
    column_index
        .and_then(|c| cells.get(c))
        .cloned()
        .ok_or_else(|| {
            ParseError::at(
                row_index + 1,
                format!("row {} has no column {column:?}", row_index + 1),
            )
        })
}

fn describe_row(row: &RowSelector) -> String {
    match row {
        RowSelector::Index(n) => format!("{n}"),
        RowSelector::FirstCell(t) => format!("starting with {t:?}"),
        RowSelector::Contains(t) => format!("containing {t:?}"),
        RowSelector::Regex(p) => format!("matching /{p}/"),
    }
}

/// `$.a.b[0]` (dots and indexes) or `/a/b/0` (JSON Pointer).
fn json(output: &str, path: &str) -> Result<String, ParseError> {
    let doc: serde_json::Value = serde_json::from_str(output.trim())
        .map_err(|e| ParseError::at(e.line(), format!("the output is not JSON: {e}")))?;
    let pointer = if path.starts_with('/') || path.is_empty() {
        path.to_owned()
    } else {
        let body = path.strip_prefix('$').unwrap_or(path);
        let mut pointer = String::new();
        for part in body.split('.').filter(|p| !p.is_empty()) {
            let (key, indexes) = part
                .split_once('[')
                .map_or((part, ""), |(k, rest)| (k, rest));
            if !key.is_empty() {
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            for index in indexes.split('[').filter(|s| !s.is_empty()) {
                pointer.push('/');
                pointer.push_str(index.trim_end_matches(']'));
            }
        }
        pointer
    };
    match doc.pointer(&pointer) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(serde_json::Value::Null) | None => Err(ParseError::new(format!("nothing at {path}"))),
        Some(other) => Ok(other.to_string()),
    }
}

/// Reads the text as the variable's type.
fn read(v: &VariableSpec, text: &str) -> Result<Value, ParseError> {
    let number = match v.kind {
        Kind::String => return Ok(Value::Text(text.to_owned())),
        Kind::Number => leading_number(text),
        Kind::Percent => units::percent(text),
        Kind::Base => units::size(text, v.base_unit),
        Kind::Celsius => units::celsius(text),
    };
    number
        .filter(|n| n.is_finite())
        .map(Value::Number)
        .ok_or_else(|| ParseError::new(format!("cannot read {text:?} as {}", v.kind.name())))
}

/// A number with an optional unit after it: `12ms`, `42.8'C`, `1,024 kB`.
fn leading_number(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Some(n) = units::number(text) {
        return Some(n);
    }
    let end = text
        .char_indices()
        .find(|(i, c)| {
            !(c.is_ascii_digit() || matches!(c, '.' | ',') || (*i == 0 && matches!(c, '+' | '-')))
        })
        .map_or(text.len(), |(i, _)| i);
    let (num, unit) = text.split_at(end);
    let unit_like = unit
        .trim_start()
        .chars()
        .all(|c| c.is_alphabetic() || matches!(c, '%' | '\'' | '°' | '/'));
    if unit_like { units::number(num) } else { None }
}

#[cfg(test)]
mod tests;
