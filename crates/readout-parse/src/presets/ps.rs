//! `ps`: Linux procps `aux` and `-ef`, macOS `axu` and `-ef`, custom `axwo`
//! columns (monitoring-plugins), BusyBox.
//!
//! The last column (the command) may hold spaces; every other column is one
//! word. Linux `%CPU` is the average over the process's life, not the
//! current second (use `top` or `vmstat` for that).

use super::{Preset, lines};
use crate::{Input, Out, ParseError, Value, Values, units};

pub(super) const PRESET: Preset = Preset {
    name: "ps",
    command: "ps aux",
    about: "Process count, states, and the top CPU and memory consumers from `ps`",
    variables: &[
        ("procs_total", "count", "processes listed"),
        (
            "procs_running",
            "count",
            "state R (when a STAT/S/State column is shown)",
        ),
        ("procs_sleeping", "count", "state S or I"),
        (
            "procs_disk_sleep",
            "count",
            "state D (uninterruptible, usually I/O)",
        ),
        ("procs_zombie", "count", "state Z"),
        ("procs_stopped", "count", "state T"),
        ("cpu_pct_sum", "percent", "sum of %CPU"),
        ("mem_pct_sum", "percent", "sum of %MEM"),
        ("rss_bytes_sum", "bytes", "sum of RSS"),
        ("top_cpu_pct", "percent", "highest %CPU"),
        ("top_cpu_process", "text", "its command name"),
        ("top_mem_pct", "percent", "highest %MEM"),
        ("top_mem_process", "text", "its command name"),
        (
            "top_rss_bytes",
            "bytes",
            "highest RSS (when no %MEM column)",
        ),
    ],
    parse,
};

/// The name a person knows a process by: `UCOMM`, else the command's
/// first word without its directory.
fn process_name(fields: &[&str], ucomm: Option<usize>, command: &str) -> String {
    if let Some(i) = ucomm
        && let Some(name) = fields.get(i)
    {
        return (*name).to_owned();
    }
    let first = command.split_whitespace().next().unwrap_or("");
    let name = if first.starts_with('[') {
        first
    } else {
        first.rsplit('/').next().unwrap_or(first)
    };
    name.to_owned()
}

fn parse(input: Input<'_>) -> Result<Values, ParseError> {
    let mut rows = lines(input.output);
    let (header_no, header) = rows
        .next()
        .ok_or_else(|| ParseError::new("the output is empty"))?;
    let names: Vec<&str> = header.split_whitespace().collect();
    let find = |wanted: &[&str]| names.iter().position(|n| wanted.contains(n));
    if find(&["PID"]).is_none() {
        return Err(ParseError::at(
            header_no,
            "no PID column in the header: is this `ps` output?",
        ));
    }
    let cpu = find(&["%CPU", "%cpu"]);
    let mem = find(&["%MEM", "%mem"]);
    let rss = find(&["RSS", "rss"]);
    let state = find(&["STAT", "S", "State", "stat"]);
    // A one-word name column: UCOMM, COMM, or the first of two COMMANDs.
    let first_command = names
        .iter()
        .position(|n| *n == "COMMAND")
        .filter(|i| *i + 1 < names.len());
    let ucomm = find(&["UCOMM", "COMM", "ucomm", "comm"])
        .or(first_command)
        .filter(|i| *i + 1 < names.len());
    let fixed = names.len() - 1;

    let mut out = Out::default();
    let (mut total, mut cpu_sum, mut mem_sum, mut rss_sum) = (0.0, 0.0, 0.0, 0.0);
    let mut states = [0.0_f64; 5];
    let mut top_cpu: Option<(f64, String)> = None;
    let mut top_mem: Option<(f64, String)> = None;
    let mut top_rss: Option<f64> = None;
    for (no, line) in rows {
        let mut words = line.split_whitespace();
        let fields: Vec<&str> = words.by_ref().take(fixed).collect();
        if fields.len() < fixed {
            return Err(ParseError::at(
                no,
                format!(
                    "{} columns where the header has {}",
                    fields.len(),
                    names.len()
                ),
            ));
        }
        let command = words.collect::<Vec<_>>().join(" ");
        let read = |i: usize| {
            units::number(fields[i]).ok_or_else(|| {
                ParseError::at(
                    no,
                    format!("cannot read {:?} under {}", fields[i], names[i]),
                )
            })
        };
        total += 1.0;
        if let Some(i) = cpu {
            let value = read(i)?;
            cpu_sum += value;
            if top_cpu.as_ref().is_none_or(|(best, _)| value > *best) {
                top_cpu = Some((value, process_name(&fields, ucomm, &command)));
            }
        }
        if let Some(i) = mem {
            let value = read(i)?;
            mem_sum += value;
            if top_mem.as_ref().is_none_or(|(best, _)| value > *best) {
                top_mem = Some((value, process_name(&fields, ucomm, &command)));
            }
        }
        if let Some(i) = rss {
            let bytes = read(i)? * 1024.0;
            rss_sum += bytes;
            top_rss = Some(top_rss.map_or(bytes, |b: f64| b.max(bytes)));
        }
        if let Some(i) = state {
            let slot = match fields[i].chars().next() {
                Some('R') => 0,
                Some('S' | 'I') => 1,
                Some('D' | 'U') => 2,
                Some('Z') => 3,
                Some('T' | 't') => 4,
                _ => continue,
            };
            states[slot] += 1.0;
        }
    }
    out.num("procs_total", total);
    if state.is_some() {
        for (name, count) in [
            "procs_running",
            "procs_sleeping",
            "procs_disk_sleep",
            "procs_zombie",
            "procs_stopped",
        ]
        .iter()
        .zip(states)
        {
            out.num(*name, count);
        }
    }
    if cpu.is_some() {
        out.num("cpu_pct_sum", cpu_sum);
    }
    if mem.is_some() {
        out.num("mem_pct_sum", mem_sum);
    }
    if rss.is_some() {
        out.num("rss_bytes_sum", rss_sum);
    }
    let mut values = out.done()?;
    for (pct_name, text_name, top) in [
        ("top_cpu_pct", "top_cpu_process", top_cpu),
        ("top_mem_pct", "top_mem_process", top_mem),
    ] {
        if let Some((pct, process)) = top {
            values.insert(pct_name.to_owned(), Value::Number(pct));
            values.insert(text_name.to_owned(), Value::Text(process));
        }
    }
    if mem.is_none()
        && let Some(bytes) = top_rss
    {
        values.insert("top_rss_bytes".to_owned(), Value::Number(bytes));
    }
    Ok(values)
}
