//! The allowlist: the only commands a Readout agent may ever run.
//!
//! The file (`available_commands.sh`) is owned by the machine's owner. Each
//! valid line is `readout_NAME="shell command"`; `#` comments and blank lines
//! are allowed; every other line is invalid and reported with its number and
//! the reason. The server only ever sends *names*, which the agent checks
//! with [`check_name`] and looks up in the parsed file: nothing the server
//! says can make the agent run a command line of its own.
//!
//! This crate is pure (no I/O) so it can be tested and fuzzed in isolation.

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fmt;

/// Every command name starts with this prefix.
pub const PREFIX: &str = "readout_";
/// Longest accepted name, prefix included; names travel in URLs and keys.
pub const MAX_NAME_LEN: usize = 100;
/// Longest accepted line in bytes; anything longer is certainly a mistake.
pub const MAX_LINE_LEN: usize = 8192;
/// How much of an invalid line is echoed back in a report.
const MAX_ECHO_LEN: usize = 200;

/// The allowlist the agent installs by default; the server uses its names as
/// the default data sources of a new host.
pub const DEFAULT_ALLOWLIST: &str = include_str!("../available_commands.sh");

/// One valid line: a name and the shell command it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub command: String,
    /// 1-based line number in the file.
    pub line: usize,
}

/// One line that is neither a comment, blank, nor a valid entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidLine {
    /// 1-based line number in the file.
    pub line: usize,
    /// The line as written (lossily decoded, cut to a readable length).
    pub text: String,
    pub reason: Reason,
}

/// Why a line is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    #[error("line is {0} bytes long; the limit is {MAX_LINE_LEN}")]
    TooLong(usize),
    #[error("line is not valid UTF-8")]
    NotUtf8,
    #[error("line starts with white space; write readout_NAME=\"command\" from the first column")]
    LeadingSpace,
    #[error("no '=' found; expected readout_NAME=\"command\"")]
    MissingEquals,
    #[error("invalid name: {0}")]
    BadName(NameError),
    #[error("space around '='; write readout_NAME=\"command\" with no spaces")]
    SpaceAroundEquals,
    #[error("the command must be inside double quotes: readout_NAME=\"command\"")]
    NotQuoted,
    #[error("the command has no closing double quote")]
    Unterminated,
    #[error(
        "the command contains a double quote at column {0}; double quotes are not allowed inside it"
    )]
    QuoteInside(usize),
    #[error("text after the closing double quote; put comments on their own line")]
    TrailingText,
    #[error("the command is empty")]
    EmptyCommand,
    #[error("the command contains a control character at column {0}")]
    ControlChar(usize),
    #[error("name {name} is already defined on line {first_line}")]
    Duplicate { name: String, first_line: usize },
}

/// Why a name (from the file or from the server) is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("it must start with \"{PREFIX}\"")]
    MissingPrefix,
    #[error("nothing follows \"{PREFIX}\"")]
    Empty,
    #[error("it is {0} characters long; the limit is {MAX_NAME_LEN}")]
    TooLong(usize),
    #[error("character {0:?} is not allowed; use only A-Z, a-z, 0-9 and _")]
    BadChar(char),
}

/// A parsed allowlist file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    pub entries: Vec<Entry>,
    pub invalid: Vec<InvalidLine>,
}

impl Allowlist {
    /// The entry for `name`, if the file defines it.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }
}

impl fmt::Display for InvalidLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Checks that `name` is a well-formed command name: the prefix, then one or
/// more of `[A-Za-z0-9_]`. Used on names from the file and from the server.
pub fn check_name(name: &str) -> Result<(), NameError> {
    let Some(rest) = name.strip_prefix(PREFIX) else {
        return Err(NameError::MissingPrefix);
    };
    if let Some(c) = rest
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Err(NameError::BadChar(c));
    }
    if rest.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong(name.len()));
    }
    Ok(())
}

/// Parses a whole allowlist file. Never fails: bad lines are collected in
/// [`Allowlist::invalid`]. Accepts LF and CRLF line endings and a UTF-8 BOM.
pub fn parse(file: &[u8]) -> Allowlist {
    let file = file.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(file);
    let mut list = Allowlist::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    // A trailing newline does not start another line.
    let body = file.strip_suffix(b"\n").unwrap_or(file);
    if file.is_empty() {
        return list;
    }
    for (i, raw) in body.split(|b| *b == b'\n').enumerate() {
        let line_no = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let invalid = |reason| InvalidLine {
            line: line_no,
            text: echo(raw),
            reason,
        };
        if raw.len() > MAX_LINE_LEN {
            list.invalid.push(invalid(Reason::TooLong(raw.len())));
            continue;
        }
        let Ok(line) = std::str::from_utf8(raw) else {
            list.invalid.push(invalid(Reason::NotUtf8));
            continue;
        };
        let content = line.trim_end_matches([' ', '\t']);
        let trimmed = content.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.len() != content.len() {
            list.invalid.push(invalid(Reason::LeadingSpace));
            continue;
        }
        match parse_entry(content) {
            Ok((name, command)) => {
                if let Some(&first_line) = seen.get(name) {
                    list.invalid.push(invalid(Reason::Duplicate {
                        name: name.to_owned(),
                        first_line,
                    }));
                    continue;
                }
                seen.insert(name.to_owned(), line_no);
                list.entries.push(Entry {
                    name: name.to_owned(),
                    command: command.to_owned(),
                    line: line_no,
                });
            }
            Err(reason) => list.invalid.push(invalid(reason)),
        }
    }
    list
}

/// Splits `readout_NAME="command"` into its name and command.
fn parse_entry(line: &str) -> Result<(&str, &str), Reason> {
    let Some((name, value)) = line.split_once('=') else {
        return Err(Reason::MissingEquals);
    };
    if name.ends_with([' ', '\t']) || value.starts_with([' ', '\t']) {
        return Err(Reason::SpaceAroundEquals);
    }
    check_name(name).map_err(Reason::BadName)?;
    let Some(quoted) = value.strip_prefix('"') else {
        return Err(Reason::NotQuoted);
    };
    let Some(end) = quoted.find('"') else {
        return Err(Reason::Unterminated);
    };
    let command = &quoted[..end];
    let after = &quoted[end + 1..];
    if !after.is_empty() {
        // A second quote later on means one sat inside the command.
        return Err(if after.contains('"') {
            Reason::QuoteInside(name.len() + 2 + end + 1)
        } else {
            Reason::TrailingText
        });
    }
    if command.trim().is_empty() {
        return Err(Reason::EmptyCommand);
    }
    if let Some((pos, _)) = command
        .char_indices()
        .find(|(_, c)| c.is_control() && *c != '\t')
    {
        return Err(Reason::ControlChar(name.len() + 2 + pos + 1));
    }
    Ok((name, command))
}

fn echo(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    match text.char_indices().nth(MAX_ECHO_LEN) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    }
}

#[cfg(test)]
mod tests;
