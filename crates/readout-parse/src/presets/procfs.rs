//! Linux `/proc` files: `loadavg`, `uptime`, `meminfo` (2.6-era to modern).

use super::{Preset, lines};
use crate::{Input, Out, ParseError, Values, units};

pub(super) const LOADAVG: Preset = Preset {
    name: "proc_loadavg",
    command: "cat /proc/loadavg",
    about: "Load averages and process counts from /proc/loadavg",
    variables: &[
        ("load1", "load", "1-minute load average"),
        ("load5", "load", "5-minute load average"),
        ("load15", "load", "15-minute load average"),
        ("procs_running", "count", "runnable scheduling entities"),
        ("procs_total", "count", "scheduling entities that exist"),
    ],
    parse: parse_loadavg,
};

pub(super) const UPTIME: Preset = Preset {
    name: "proc_uptime",
    command: "cat /proc/uptime",
    about: "Uptime and idle time from /proc/uptime",
    variables: &[
        ("uptime_seconds", "seconds", "time since boot"),
        ("idle_seconds", "seconds", "idle time summed over all CPUs"),
    ],
    parse: parse_uptime,
};

pub(super) const MEMINFO: Preset = Preset {
    name: "proc_meminfo",
    command: "cat /proc/meminfo",
    about: "Every /proc/meminfo field, plus the usual memory and swap summary",
    variables: &[
        (
            "meminfo_<field>",
            "bytes or count",
            "every field, named in snake_case (MemTotal → meminfo_mem_total)",
        ),
        ("mem_total_bytes", "bytes", "MemTotal"),
        ("mem_free_bytes", "bytes", "MemFree"),
        (
            "mem_available_bytes",
            "bytes",
            "MemAvailable, or MemFree + Buffers + Cached on kernels before 3.14",
        ),
        ("mem_used_bytes", "bytes", "total - available"),
        ("mem_used_pct", "percent", "used / total"),
        ("mem_available_pct", "percent", "available / total"),
        ("swap_total_bytes", "bytes", "SwapTotal"),
        ("swap_used_bytes", "bytes", "SwapTotal - SwapFree"),
        (
            "swap_used_pct",
            "percent",
            "swap used / total (when there is swap)",
        ),
    ],
    parse: parse_meminfo,
};

/// The only line of a one-line file, split into fields.
fn one_line(output: &str) -> Result<(usize, Vec<&str>), ParseError> {
    let mut lines = lines(output);
    let (no, line) = lines
        .next()
        .ok_or_else(|| ParseError::new("the output is empty"))?;
    if let Some((extra, _)) = lines.next() {
        return Err(ParseError::at(extra, "expected a single line"));
    }
    Ok((no, line.split_whitespace().collect()))
}

fn read(no: usize, what: &str, text: &str) -> Result<f64, ParseError> {
    units::number(text).ok_or_else(|| ParseError::at(no, format!("cannot read {what} {text:?}")))
}

fn parse_loadavg(input: Input<'_>) -> Result<Values, ParseError> {
    let (no, fields) = one_line(input.output)?;
    let [l1, l5, l15, procs, _last_pid] = fields[..] else {
        return Err(ParseError::at(
            no,
            format!(
                "expected 5 fields as in \"0.00 0.01 0.05 1/123 4567\", found {}",
                fields.len()
            ),
        ));
    };
    let mut out = Out::default();
    out.num("load1", read(no, "load", l1)?);
    out.num("load5", read(no, "load", l5)?);
    out.num("load15", read(no, "load", l15)?);
    let (running, total) = procs
        .split_once('/')
        .ok_or_else(|| ParseError::at(no, format!("expected running/total, found {procs:?}")))?;
    out.num("procs_running", read(no, "running count", running)?);
    out.num("procs_total", read(no, "process count", total)?);
    out.done()
}

fn parse_uptime(input: Input<'_>) -> Result<Values, ParseError> {
    let (no, fields) = one_line(input.output)?;
    let [up, idle] = fields[..] else {
        return Err(ParseError::at(
            no,
            format!(
                "expected 2 fields as in \"46901.13 46856.66\", found {}",
                fields.len()
            ),
        ));
    };
    let mut out = Out::default();
    out.num("uptime_seconds", read(no, "uptime", up)?);
    out.num("idle_seconds", read(no, "idle time", idle)?);
    out.done()
}

/// `Active(anon)` → `active_anon`, `MemTotal` → `mem_total`, `DirectMap4k`
/// → `direct_map4k`.
fn snake(key: &str) -> String {
    let mut name = String::with_capacity(key.len() + 4);
    let mut prev_lower = false;
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                name.push('_');
            }
            name.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c.is_ascii_alphanumeric() {
            name.push(c);
            prev_lower = c.is_ascii_lowercase();
        } else if !name.ends_with('_') && !name.is_empty() {
            name.push('_');
            prev_lower = false;
        }
    }
    name.trim_end_matches('_').to_owned()
}

fn parse_meminfo(input: Input<'_>) -> Result<Values, ParseError> {
    let mut out = Out::default();
    for (no, line) in lines(input.output) {
        let (key, rest) = line
            .split_once(':')
            .ok_or_else(|| ParseError::at(no, "expected \"Key: value [kB]\""))?;
        let mut words = rest.split_whitespace();
        let value = read(no, key, words.next().unwrap_or(""))?;
        let value = match words.next() {
            None => value,
            Some("kB") => value * 1024.0,
            Some(unit) => return Err(ParseError::at(no, format!("unknown unit {unit:?}"))),
        };
        out.num(format!("meminfo_{}", snake(key)), value);
    }
    let field = |out: &Out, name: &str| out.get(&format!("meminfo_{name}"));
    let total = field(&out, "mem_total").ok_or_else(|| ParseError::new("no MemTotal line"))?;
    let free = field(&out, "mem_free").ok_or_else(|| ParseError::new("no MemFree line"))?;
    let available = field(&out, "mem_available").unwrap_or_else(|| {
        free + field(&out, "buffers").unwrap_or(0.0) + field(&out, "cached").unwrap_or(0.0)
    });
    out.num("mem_total_bytes", total);
    out.num("mem_free_bytes", free);
    out.num("mem_available_bytes", available);
    out.num("mem_used_bytes", total - available);
    out.pct("mem_used_pct", "mem_used_bytes", "mem_total_bytes");
    out.pct(
        "mem_available_pct",
        "mem_available_bytes",
        "mem_total_bytes",
    );
    if let (Some(swap_total), Some(swap_free)) =
        (field(&out, "swap_total"), field(&out, "swap_free"))
    {
        out.num("swap_total_bytes", swap_total);
        out.num("swap_used_bytes", swap_total - swap_free);
        out.pct("swap_used_pct", "swap_used_bytes", "swap_total_bytes");
    }
    out.done()
}

#[cfg(test)]
mod tests {
    use super::snake;

    #[test]
    fn field_names() {
        assert_eq!(snake("MemTotal"), "mem_total");
        assert_eq!(snake("Active(anon)"), "active_anon");
        assert_eq!(snake("DirectMap4k"), "direct_map4k");
        assert_eq!(snake("HugePages_Total"), "huge_pages_total");
        assert_eq!(snake("NFS_Unstable"), "nfs_unstable");
        assert_eq!(snake("SUnreclaim"), "sunreclaim");
    }
}
