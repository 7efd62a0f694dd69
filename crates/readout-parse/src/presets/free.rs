//! `free`: procps-ng (`buff/cache`, `available`, `-w`, `-h`), old BusyBox
//! (right-aligned rows, a `Total:` row), and `-/+ buffers/cache:` layouts.
//!
//! Bare numbers mean KiB unless the command line says otherwise (`-b`,
//! `-m`, `-g`, `--si` …): the output alone cannot tell `free -m` from
//! `free`, and guessing would give numbers 1024 times wrong.

use super::{Preset, lines};
use crate::{Input, Out, ParseError, Values, units};

pub(super) const PRESET: Preset = Preset {
    name: "free",
    command: "free",
    about: "Memory and swap from `free` (procps-ng, BusyBox; any unit flag)",
    variables: &[
        ("mem_total_bytes", "bytes", "installed memory"),
        ("mem_used_bytes", "bytes", "used memory as free reports it"),
        ("mem_free_bytes", "bytes", "unused memory"),
        ("mem_shared_bytes", "bytes", "shared (tmpfs)"),
        (
            "mem_buffers_bytes",
            "bytes",
            "buffers (when reported apart)",
        ),
        (
            "mem_cache_bytes",
            "bytes",
            "page cache (when reported apart)",
        ),
        ("mem_buff_cache_bytes", "bytes", "buffers and cache"),
        (
            "mem_available_bytes",
            "bytes",
            "available for new programs (procps-ng)",
        ),
        ("mem_used_pct", "percent", "used / total"),
        ("mem_available_pct", "percent", "available / total"),
        ("swap_total_bytes", "bytes", "swap size"),
        ("swap_used_bytes", "bytes", "swap in use"),
        ("swap_free_bytes", "bytes", "swap free"),
        (
            "swap_used_pct",
            "percent",
            "swap used / total (when there is swap)",
        ),
    ],
    parse,
};

/// Bytes per bare number, from the command line's flags.
fn unit_of(command: &str) -> f64 {
    let si = command.split_whitespace().any(|w| w == "--si");
    let (k, m, g, t) = if si {
        (1e3, 1e6, 1e9, 1e12)
    } else {
        (1024.0, 1_048_576.0, 1_073_741_824.0, 1_099_511_627_776.0)
    };
    let mut unit = k;
    for word in command.split_whitespace() {
        unit = match word {
            "-b" | "--bytes" => 1.0,
            "-k" | "--kibi" | "--kilo" => k,
            "-m" | "--mebi" | "--mega" => m,
            "-g" | "--gibi" | "--giga" => g,
            "--tebi" | "--tera" => t,
            _ => unit,
        };
    }
    unit
}

fn column_name(header: &str) -> Option<&'static str> {
    Some(match header {
        "total" => "total",
        "used" => "used",
        "free" => "free",
        "shared" => "shared",
        "buffers" => "buffers",
        "cache" | "cached" => "cache",
        "buff/cache" => "buff_cache",
        "available" => "available",
        _ => return None,
    })
}

fn parse(input: Input<'_>) -> Result<Values, ParseError> {
    let unit = unit_of(input.command);
    let si = input.command.split_whitespace().any(|w| w == "--si");
    let size = if si { units::size_si } else { units::size };
    let mut lines = lines(input.output);
    let (header_no, header) = lines
        .find(|(_, l)| l.split_whitespace().next() == Some("total"))
        .ok_or_else(|| {
            ParseError::new("no header line starting with \"total\": is this `free` output?")
        })?;
    let columns: Vec<&str> = header.split_whitespace().collect();
    for c in &columns {
        if column_name(c).is_none() {
            return Err(ParseError::at(header_no, format!("unknown column {c:?}")));
        }
    }
    let mut out = Out::default();
    for (no, line) in lines {
        let Some((label, rest)) = line.split_once(':') else {
            return Err(ParseError::at(no, "expected a row such as \"Mem: …\""));
        };
        let values: Vec<&str> = rest.split_whitespace().collect();
        let prefix = match label.trim() {
            "Mem" => "mem",
            "Swap" => "swap",
            // BusyBox sums Mem and Swap; -/+ repeats used and free.
            "Total" | "-/+ buffers/cache" => continue,
            other => return Err(ParseError::at(no, format!("unknown row {other:?}"))),
        };
        if values.len() > columns.len() || (prefix == "mem" && values.len() != columns.len()) {
            return Err(ParseError::at(
                no,
                format!("{} values under {} columns", values.len(), columns.len()),
            ));
        }
        for (column, text) in columns.iter().zip(&values) {
            let bytes = size(text, unit)
                .ok_or_else(|| ParseError::at(no, format!("cannot read {text:?} as a size")))?;
            let name = column_name(column).unwrap_or("total");
            out.num(format!("{prefix}_{name}_bytes"), bytes);
        }
    }
    if out.get("mem_total_bytes").is_none() {
        return Err(ParseError::new("no \"Mem:\" row"));
    }
    out.pct("mem_used_pct", "mem_used_bytes", "mem_total_bytes");
    out.pct(
        "mem_available_pct",
        "mem_available_bytes",
        "mem_total_bytes",
    );
    out.pct("swap_used_pct", "swap_used_bytes", "swap_total_bytes");
    out.done()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_flags() {
        assert_eq!(unit_of("free"), 1024.0);
        assert_eq!(unit_of("free -b"), 1.0);
        assert_eq!(unit_of("free -m"), 1_048_576.0);
        assert_eq!(unit_of("free --si -m"), 1e6);
        assert_eq!(unit_of("free -g -w"), 1_073_741_824.0);
    }
}
