//! The output as a table of named cells, as in a spreadsheet: lines are
//! rows (1, 2, 3 …), and each line is cut into columns (A, B, C …), so
//! `B2` is the second word of the second line.

use serde::{Deserialize, Serialize};

/// How lines are cut into cells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Columns {
    /// Runs of spaces, tabs or commas (the default): `Mem:  1,024  512`.
    #[default]
    SpacesOrCommas,
    /// Runs of spaces and tabs only (numbers keep their `,` separators).
    Spaces,
    /// Exactly this text, e.g. `;` or `|`; empty cells are kept.
    Delimiter(String),
    /// Fixed character positions where each column starts (0-based).
    FixedWidth(Vec<usize>),
}

/// How an output is split: line delimiter and column rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TableSpec {
    /// Separates rows; `\n` by default (a trailing `\r` is dropped).
    pub line_delimiter: String,
    pub columns: Columns,
    /// Skip rows that are empty after splitting.
    pub skip_empty_rows: bool,
}

impl Default for TableSpec {
    fn default() -> Self {
        Self {
            line_delimiter: "\n".into(),
            columns: Columns::default(),
            skip_empty_rows: true,
        }
    }
}

/// Rows of cells; row and column indexes are 0-based in code, 1-based and
/// lettered for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn split(output: &str, spec: &TableSpec) -> Self {
        let delimiter = if spec.line_delimiter.is_empty() {
            "\n"
        } else {
            spec.line_delimiter.as_str()
        };
        let rows = output
            .split(delimiter)
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
            .map(|line| cells(line, &spec.columns))
            .filter(|row| !(spec.skip_empty_rows && row.iter().all(String::is_empty)))
            .collect();
        Self { rows }
    }

    pub fn get(&self, row: usize, column: usize) -> Option<&str> {
        self.rows.get(row)?.get(column).map(String::as_str)
    }

    /// The cell named like `B2`.
    pub fn cell(&self, name: &str) -> Option<&str> {
        let (row, column) = parse_cell_name(name)?;
        self.get(row, column)
    }
}

fn cells(line: &str, columns: &Columns) -> Vec<String> {
    match columns {
        Columns::SpacesOrCommas => line
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Columns::Spaces => line.split_whitespace().map(str::to_owned).collect(),
        Columns::Delimiter(d) if d.is_empty() => vec![line.to_owned()],
        Columns::Delimiter(d) => line
            .split(d.as_str())
            .map(|c| c.trim().to_owned())
            .collect(),
        Columns::FixedWidth(starts) => {
            let chars: Vec<char> = line.chars().collect();
            let mut bounds: Vec<usize> = starts
                .iter()
                .copied()
                .filter(|s| *s < chars.len())
                .collect();
            bounds.sort_unstable();
            bounds.dedup();
            bounds
                .iter()
                .enumerate()
                .map(|(i, start)| {
                    let end = bounds.get(i + 1).copied().unwrap_or(chars.len());
                    chars[*start..end]
                        .iter()
                        .collect::<String>()
                        .trim()
                        .to_owned()
                })
                .collect()
        }
    }
}

/// `A` → 0, `Z` → 25, `AA` → 26.
pub fn column_index(letters: &str) -> Option<usize> {
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    letters
        .chars()
        .try_fold(0usize, |acc, c| {
            let c = c.to_ascii_uppercase();
            c.is_ascii_uppercase()
                .then(|| acc * 26 + (c as usize - 'A' as usize + 1))
        })
        .map(|n| n - 1)
}

/// 0 → `A`, 26 → `AA`.
pub fn column_letters(mut index: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(char::from(b'A' + u8::try_from(index % 26).unwrap_or(0)));
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.iter().rev().collect()
}

/// `B2` → (row 1, column 1), 0-based.
pub fn parse_cell_name(name: &str) -> Option<(usize, usize)> {
    let split = name.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = name.split_at(split);
    let row: usize = digits.parse().ok()?;
    Some((row.checked_sub(1)?, column_index(letters)?))
}

pub fn cell_name(row: usize, column: usize) -> String {
    format!("{}{}", column_letters(column), row + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FREE: &str = "              total        used\nMem:        3861332      222820\nSwap:       2097148           0\n";

    #[test]
    fn cells_are_named_like_a_spreadsheet() {
        let table = Table::split(FREE, &TableSpec::default());
        assert_eq!(table.cell("A1"), Some("total"));
        assert_eq!(table.cell("B2"), Some("3861332"));
        assert_eq!(table.cell("c3"), Some("0"));
        assert_eq!(table.cell("D2"), None);
        assert_eq!(table.cell("A0"), None);
        assert_eq!(cell_name(1, 27), "AB2");
        for i in [0, 25, 26, 51, 52, 701, 702] {
            assert_eq!(column_index(&column_letters(i)), Some(i), "{i}");
        }
    }

    #[test]
    fn delimiters() {
        let spaces_commas = Table::split("a, b,,c\r\n\n1 ,2", &TableSpec::default());
        assert_eq!(spaces_commas.rows, [vec!["a", "b", "c"], vec!["1", "2"]]);
        let spaces = Table::split(
            "1,024 512",
            &TableSpec {
                columns: Columns::Spaces,
                ..TableSpec::default()
            },
        );
        assert_eq!(spaces.cell("A1"), Some("1,024"));
        let piped = Table::split(
            "a| |c;x|y",
            &TableSpec {
                line_delimiter: ";".into(),
                columns: Columns::Delimiter("|".into()),
                skip_empty_rows: true,
            },
        );
        assert_eq!(piped.rows, [vec!["a", "", "c"], vec!["x", "y"]]);
        let fixed = Table::split(
            "eth0  12 34\nlong-name 5 6",
            &TableSpec {
                columns: Columns::FixedWidth(vec![0, 6, 9]),
                ..TableSpec::default()
            },
        );
        assert_eq!(fixed.rows[0], ["eth0", "12", "34"]);
        assert_eq!(fixed.rows[1], ["long-n", "ame", "5 6"]);
    }
}
