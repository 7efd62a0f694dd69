//! `df`: GNU (`-h`, `-P`, `-T`, `-i`), BusyBox (`1K-blocks`, `512B-blocks`),
//! macOS/BSD (`512-blocks`, `Capacity`, inode columns, `Gi` sizes,
//! filesystem names with spaces), AIX, Solaris (long names that push the
//! columns right), and rows wrapped after a long filesystem name.
//!
//! Rows are read by locating the run of numeric columns: what comes before
//! is the filesystem (and type), what comes after is the mount point, so
//! names with spaces and misaligned columns read correctly.

use super::{Preset, lines};
use crate::{Input, Out, ParseError, Values, label, units};

pub(super) const PRESET: Preset = Preset {
    name: "df",
    command: "df -P",
    about: "Size, use and inodes of every mounted filesystem from `df`",
    variables: &[
        ("fs_size_bytes{mount}", "bytes", "filesystem size"),
        ("fs_used_bytes{mount}", "bytes", "space used"),
        ("fs_avail_bytes{mount}", "bytes", "space available to users"),
        (
            "fs_used_pct{mount}",
            "percent",
            "use as df prints it (Use% or Capacity)",
        ),
        ("inodes_total{mount}", "count", "inodes (df -i, BSD/macOS)"),
        ("inodes_used{mount}", "count", "inodes in use"),
        ("inodes_free{mount}", "count", "inodes free"),
        (
            "inodes_used_pct{mount}",
            "percent",
            "inodes in use, as df prints it",
        ),
    ],
    parse,
};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Column {
    Type,
    /// Size in blocks of this many bytes (0: sizes carry their own unit).
    Size(f64),
    Used,
    Avail,
    UsedPct,
    Inodes,
    InodesUsed,
    InodesFree,
    InodesPct,
}

fn column(name: &str) -> Option<Column> {
    Some(match name {
        "Type" => Column::Type,
        "1K-blocks" | "1024-blocks" => Column::Size(1024.0),
        "512-blocks" | "512B-blocks" => Column::Size(512.0),
        "Size" => Column::Size(0.0),
        "Used" => Column::Used,
        "Available" | "Avail" => Column::Avail,
        "Use%" | "Capacity" => Column::UsedPct,
        "Inodes" => Column::Inodes,
        "IUsed" | "iused" => Column::InodesUsed,
        "IFree" | "ifree" => Column::InodesFree,
        "IUse%" | "%iused" => Column::InodesPct,
        _ => return None,
    })
}

fn variable(column: Column, inodes_mode: bool) -> Option<&'static str> {
    Some(match column {
        Column::Type => return None,
        Column::Size(_) => "fs_size_bytes",
        Column::Used if inodes_mode => "inodes_used",
        Column::Used => "fs_used_bytes",
        Column::Avail => "fs_avail_bytes",
        Column::UsedPct => "fs_used_pct",
        Column::Inodes => "inodes_total",
        Column::InodesUsed => "inodes_used",
        Column::InodesFree => "inodes_free",
        Column::InodesPct => "inodes_used_pct",
    })
}

/// A numeric cell: a number, a size, a percentage, or `-` (not applicable).
fn numeric(token: &str) -> bool {
    token == "-" || units::size(token, 1.0).is_some() || units::percent(token).is_some()
}

fn parse(input: Input<'_>) -> Result<Values, ParseError> {
    let si = input
        .command
        .split_whitespace()
        .any(|w| w == "-H" || w == "--si");
    let mut rows = lines(input.output).peekable();
    let (header_no, header) = rows
        .next()
        .filter(|(_, l)| l.starts_with("Filesystem"))
        .ok_or_else(|| ParseError::at(1, "expected the header line \"Filesystem …\""))?;
    let names: Vec<&str> = header.split_whitespace().collect();
    if names.len() < 3 || names[names.len() - 2..] != ["Mounted", "on"] {
        return Err(ParseError::at(
            header_no,
            "the header does not end with \"Mounted on\"",
        ));
    }
    let mut columns = Vec::new();
    for name in &names[1..names.len() - 2] {
        columns.push(
            column(name)
                .ok_or_else(|| ParseError::at(header_no, format!("unknown column {name:?}")))?,
        );
    }
    let typed = columns.first() == Some(&Column::Type);
    let numbers = &columns[usize::from(typed)..];
    let inodes_mode = numbers.first() == Some(&Column::Inodes);
    // Bytes per block; `None` when sizes carry their own unit (`df -h`).
    let block = match numbers.first() {
        Some(Column::Size(b)) if *b == 0.0 => None,
        Some(Column::Size(b)) => Some(*b),
        _ => Some(1.0),
    };

    let mut out = Out::default();
    while let Some((no, line)) = rows.next() {
        let mut tokens: Vec<&str> = line.split_whitespace().collect();
        // A long filesystem name alone on its line; its numbers follow.
        let next_continues = rows.peek().is_some_and(|(_, next)| {
            next.starts_with(char::is_whitespace)
                || next.split_whitespace().next().is_some_and(numeric)
        });
        if tokens.len() == 1
            && next_continues
            && let Some((_, next)) = rows.next()
        {
            tokens.extend(next.split_whitespace());
        }
        let start = (1..tokens.len())
            .find(|&i| {
                tokens.len() > i + numbers.len()
                    && tokens[i..i + numbers.len()].iter().all(|t| numeric(t))
            })
            .filter(|&i| !typed || i >= 2)
            .ok_or_else(|| ParseError::at(no, format!("cannot read the row {:?}", line.trim())))?;
        let mount = tokens[start + numbers.len()..].join(" ");
        for (column, token) in numbers.iter().zip(&tokens[start..]) {
            let Some(name) = variable(*column, inodes_mode) else {
                continue;
            };
            if *token == "-" {
                continue;
            }
            let bytes = matches!(column, Column::Size(_) | Column::Avail)
                || (*column == Column::Used && !inodes_mode);
            let value = match (column, block) {
                (Column::UsedPct | Column::InodesPct, _) => units::percent(token),
                (_, None) if bytes && si => units::size_si(token, 1.0),
                (_, None) if bytes => units::size(token, 1.0),
                (_, Some(block)) if bytes => units::number(token).map(|n| n * block),
                _ => units::number(token),
            }
            .ok_or_else(|| {
                ParseError::at(no, format!("cannot read {token:?} in the row for {mount}"))
            })?;
            out.num(format!("{name}{{mount=\"{}\"}}", label(&mount)), value);
        }
    }
    out.done()
}

#[cfg(test)]
mod tests {
    use crate::{Input, Value};

    fn parse(command: &str, output: &str) -> Result<crate::Values, crate::ParseError> {
        super::PRESET.parse(Input {
            command,
            output,
            exit_code: None,
        })
    }

    #[test]
    fn a_row_wrapped_after_a_long_name_is_joined() {
        let output = "Filesystem     1K-blocks    Used Available Use% Mounted on\n\
/dev/mapper/vg0-a-very-long-logical-volume-name\n\
                 1000000  250000    750000  25% /srv\n\
tmpfs              1000       0      1000   0% /run\n";
        let v = parse("df", output).expect("parse");
        assert_eq!(
            v.get("fs_used_pct{mount=\"/srv\"}"),
            Some(&Value::Number(25.0))
        );
        assert_eq!(
            v.get("fs_size_bytes{mount=\"/run\"}"),
            Some(&Value::Number(1_024_000.0))
        );
    }

    #[test]
    fn si_sizes_under_dash_capital_h() {
        let output = "Filesystem Size Used Avail Use% Mounted on\n/dev/sda1 20G 5.5G 14G 30% /\n";
        let v = parse("df -H", output).expect("parse");
        assert_eq!(
            v.get("fs_size_bytes{mount=\"/\"}"),
            Some(&Value::Number(20e9))
        );
    }

    #[test]
    fn clear_errors() {
        let e = parse("df", "Mounted on\n").expect_err("no header");
        assert_eq!(
            e.to_string(),
            "line 1: expected the header line \"Filesystem …\""
        );
        let e = parse(
            "df",
            "Filesystem 1K-blocks Used Avail Use% Mounted on\n/dev/x 10 lots 5 50% /\n",
        )
        .expect_err("bad");
        assert_eq!(
            e.to_string(),
            "line 2: cannot read the row \"/dev/x 10 lots 5 50% /\""
        );
        let e = parse("df", "Filesystem Blocks Used Mounted on\n").expect_err("unknown");
        assert_eq!(e.to_string(), "line 1: unknown column \"Blocks\"");
    }
}
