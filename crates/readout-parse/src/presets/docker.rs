//! `docker stats --no-stream`: CPU, memory, network and block I/O per
//! container. Reads the default table (Linux, and Windows with its
//! `PRIV WORKING SET` column), custom `--format "table …"` tables, and
//! `--format '{{json .}}'` (one object per line). Cells are separated by at
//! least three spaces (Docker's tabwriter padding), while values such as
//! `5.629MiB / 1.952GiB` hold single spaces. Memory is binary (`MiB`),
//! network and block I/O decimal (`kB`, `MB`), as Docker prints them.

use super::{Preset, lines};
use crate::{Input, Out, ParseError, Values, label, units};

pub(super) const PRESET: Preset = Preset {
    name: "docker_stats",
    command: "docker stats --no-stream",
    about: "CPU, memory, network and block I/O per container from `docker stats`",
    variables: &[
        ("docker_containers", "count", "containers listed"),
        ("docker_cpu_pct{container}", "percent", "CPU (100 per core)"),
        (
            "docker_mem_used_bytes{container}",
            "bytes",
            "memory used (Windows: private working set)",
        ),
        ("docker_mem_limit_bytes{container}", "bytes", "memory limit"),
        (
            "docker_mem_pct{container}",
            "percent",
            "memory used / limit",
        ),
        (
            "docker_net_rx_bytes{container}",
            "bytes",
            "received since start",
        ),
        (
            "docker_net_tx_bytes{container}",
            "bytes",
            "sent since start",
        ),
        (
            "docker_block_read_bytes{container}",
            "bytes",
            "read from block devices",
        ),
        (
            "docker_block_write_bytes{container}",
            "bytes",
            "written to block devices",
        ),
        ("docker_pids{container}", "count", "processes and threads"),
    ],
    parse,
};

fn parse(input: Input<'_>) -> Result<Values, ParseError> {
    let mut rows = lines(input.output).peekable();
    let mut out = Out::default();
    let mut containers = 0.0;
    let json = rows
        .peek()
        .is_some_and(|(_, l)| l.trim_start().starts_with('{'));
    if json {
        for (no, line) in rows {
            let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line)
                .map_err(|e| ParseError::at(no, format!("not a JSON object: {e}")))?;
            let field = |key: &str| object.get(key).and_then(|v| v.as_str());
            let name = field("Name")
                .or_else(|| field("Container"))
                .or_else(|| field("ID"))
                .ok_or_else(|| ParseError::at(no, "no `Name`, `Container` or `ID`"))?;
            for (key, header) in [
                ("CPUPerc", "CPU %"),
                ("MemUsage", "MEM USAGE / LIMIT"),
                ("MemPerc", "MEM %"),
                ("NetIO", "NET I/O"),
                ("BlockIO", "BLOCK I/O"),
                ("PIDs", "PIDS"),
            ] {
                if let Some(text) = field(key) {
                    cell(header, text, name, &mut out).map_err(|m| ParseError::at(no, m))?;
                }
            }
            containers += 1.0;
        }
    } else {
        let (header_no, header) = rows
            .next()
            .ok_or_else(|| ParseError::new("empty output; expected a `docker stats` table"))?;
        let headers = cells(header);
        let name_at = ["NAME", "CONTAINER", "CONTAINER ID"]
            .iter()
            .find_map(|n| headers.iter().position(|h| h == n))
            .ok_or_else(|| {
                ParseError::at(
                    header_no,
                    "expected a `NAME`, `CONTAINER` or `CONTAINER ID` column: is this `docker stats`?",
                )
            })?;
        for (no, line) in rows {
            let row = cells(line);
            if row.len() != headers.len() {
                return Err(ParseError::at(
                    no,
                    format!("{} cells under {} headers", row.len(), headers.len()),
                ));
            }
            for (header, text) in headers.iter().zip(&row) {
                cell(header, text, row[name_at], &mut out).map_err(|m| ParseError::at(no, m))?;
            }
            containers += 1.0;
        }
    }
    out.num("docker_containers", containers);
    out.done()
}

/// Cells split at runs of two or more spaces.
fn cells(line: &str) -> Vec<&str> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

fn cell(header: &str, text: &str, container: &str, out: &mut Out) -> Result<(), String> {
    // A stopped container under `--all` shows `--`.
    if text == "--" {
        return Ok(());
    }
    let name = |what: &str| format!("docker_{what}{{container=\"{}\"}}", label(container));
    let size = |t: &str| {
        units::size(t, 1.0).ok_or_else(|| format!("cannot read {t:?} as a size under {header}"))
    };
    let pair = |names: [&str; 2], out: &mut Out| -> Result<(), String> {
        let (a, b) = text
            .split_once('/')
            .ok_or_else(|| format!("expected \"A / B\" under {header}, found {text:?}"))?;
        out.num(name(names[0]), size(a)?);
        out.num(name(names[1]), size(b)?);
        Ok(())
    };
    let percent = |t: &str| {
        units::percent(t).ok_or_else(|| format!("cannot read {t:?} as a percentage under {header}"))
    };
    match header {
        "CPU %" => out.num(name("cpu_pct"), percent(text)?),
        "MEM %" => out.num(name("mem_pct"), percent(text)?),
        "MEM USAGE / LIMIT" => pair(["mem_used_bytes", "mem_limit_bytes"], out)?,
        "PRIV WORKING SET" => out.num(name("mem_used_bytes"), size(text)?),
        "NET I/O" => pair(["net_rx_bytes", "net_tx_bytes"], out)?,
        "BLOCK I/O" => pair(["block_read_bytes", "block_write_bytes"], out)?,
        "PIDS" => out.num(
            name("pids"),
            units::number(text).ok_or_else(|| format!("cannot read {text:?} as PIDS"))?,
        ),
        _ => {}
    }
    Ok(())
}
