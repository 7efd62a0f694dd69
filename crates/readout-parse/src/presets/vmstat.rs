//! `vmstat`: Linux procps (with or without `st`/`gu`, `-a`, `-w`, `-t`),
//! FreeBSD, OpenBSD, DragonFly and Solaris.
//!
//! The last sample is read: with `vmstat 1 2` that is the second just
//! measured (the first row of any `vmstat` is the average since boot).
//! Memory columns are KiB (`-S` changes that on Linux); disk columns of
//! BSD and Solaris are skipped.

use super::{Preset, lines};
use crate::{Input, Out, ParseError, Values, units};

pub(super) const PRESET: Preset = Preset {
    name: "vmstat",
    command: "vmstat 1 2",
    about: "Processes, memory, swap, I/O, interrupts and CPU split from `vmstat`",
    variables: &[
        ("procs_running", "count", "r: runnable processes"),
        (
            "procs_blocked",
            "count",
            "b: processes in uninterruptible sleep",
        ),
        (
            "procs_swapped",
            "count",
            "w: swapped-out processes (BSD, Solaris)",
        ),
        ("swap_used_bytes", "bytes", "swpd (Linux)"),
        ("swap_avail_bytes", "bytes", "swap (Solaris)"),
        ("mem_free_bytes", "bytes", "free / fre"),
        ("mem_buffers_bytes", "bytes", "buff (Linux)"),
        ("mem_cache_bytes", "bytes", "cache (Linux)"),
        ("mem_inactive_bytes", "bytes", "inact (Linux -a)"),
        ("mem_active_bytes", "bytes", "active (Linux -a)"),
        ("mem_active_virtual_bytes", "bytes", "avm (BSD)"),
        ("swap_in_bytes_per_s", "bytes/s", "si (Linux)"),
        ("swap_out_bytes_per_s", "bytes/s", "so (Linux)"),
        ("page_ins_per_s", "count/s", "pi (BSD, Solaris)"),
        ("page_outs_per_s", "count/s", "po (BSD, Solaris)"),
        (
            "page_faults_per_s",
            "count/s",
            "flt (BSD), mf (Solaris minor faults)",
        ),
        ("io_blocks_in_per_s", "count/s", "bi: blocks read (Linux)"),
        (
            "io_blocks_out_per_s",
            "count/s",
            "bo: blocks written (Linux)",
        ),
        ("interrupts_per_s", "count/s", "in / int"),
        (
            "syscalls_per_s",
            "count/s",
            "sy / sys under faults (BSD, Solaris)",
        ),
        ("context_switches_per_s", "count/s", "cs"),
        ("cpu_user_pct", "percent", "us"),
        ("cpu_system_pct", "percent", "sy"),
        ("cpu_idle_pct", "percent", "id"),
        ("cpu_used_pct", "percent", "100 − idle"),
        ("cpu_iowait_pct", "percent", "wa (Linux)"),
        ("cpu_steal_pct", "percent", "st (Linux)"),
        ("cpu_guest_pct", "percent", "gu (Linux procps 4)"),
    ],
    parse,
};

/// Bytes per memory unit under Linux `-S`.
fn memory_unit(command: &str) -> f64 {
    let words: Vec<&str> = command.split_whitespace().collect();
    let flag = words
        .iter()
        .position(|w| *w == "-S" || *w == "--unit")
        .and_then(|i| words.get(i + 1));
    let attached = words
        .iter()
        .find_map(|w| w.strip_prefix("-S").filter(|s| !s.is_empty()));
    match flag.copied().or(attached) {
        Some("k") => 1e3,
        Some("m") => 1e6,
        Some("M") => 1_048_576.0,
        _ => 1024.0,
    }
}

/// What a column before the CPU block means, and whether it is KiB.
fn before_cpu(name: &str, linux: bool) -> Option<(&'static str, bool)> {
    Some(match name {
        "r" => ("procs_running", false),
        "b" => ("procs_blocked", false),
        "w" => ("procs_swapped", false),
        "swpd" => ("swap_used_bytes", true),
        "swap" => ("swap_avail_bytes", true),
        "free" | "fre" => ("mem_free_bytes", true),
        "buff" => ("mem_buffers_bytes", true),
        "cache" => ("mem_cache_bytes", true),
        "inact" => ("mem_inactive_bytes", true),
        "active" => ("mem_active_bytes", true),
        "avm" => ("mem_active_virtual_bytes", true),
        "si" if linux => ("swap_in_bytes_per_s", true),
        "so" if linux => ("swap_out_bytes_per_s", true),
        "pi" => ("page_ins_per_s", false),
        "po" => ("page_outs_per_s", false),
        "flt" | "mf" => ("page_faults_per_s", false),
        "bi" => ("io_blocks_in_per_s", false),
        "bo" => ("io_blocks_out_per_s", false),
        "in" | "int" => ("interrupts_per_s", false),
        "sy" | "sys" => ("syscalls_per_s", false),
        "cs" => ("context_switches_per_s", false),
        _ => return None,
    })
}

fn cpu(name: &str) -> Option<&'static str> {
    Some(match name {
        "us" => "cpu_user_pct",
        "sy" => "cpu_system_pct",
        "id" => "cpu_idle_pct",
        "wa" => "cpu_iowait_pct",
        "st" => "cpu_steal_pct",
        "gu" => "cpu_guest_pct",
        _ => return None,
    })
}

fn parse(input: Input<'_>) -> Result<Values, ParseError> {
    let all: Vec<(usize, &str)> = lines(input.output).collect();
    let Some(&(groups_no, groups)) = all.first() else {
        return Err(ParseError::new("the output is empty"));
    };
    if groups.trim_start().starts_with("disk-") {
        return Err(ParseError::at(
            groups_no,
            "this is `vmstat -d` (disk statistics); the vmstat preset reads the default summary",
        ));
    }
    let (header_no, header) = *all
        .get(1)
        .filter(|(_, l)| l.split_whitespace().next() == Some("r"))
        .ok_or_else(|| {
            ParseError::at(
                groups_no + 1,
                "expected the column header \" r  b …\" on the second line",
            )
        })?;
    let mut names: Vec<&str> = header.split_whitespace().collect();
    // `-t` adds a timestamp group: a time-zone name over "date time".
    let timestamped = groups.contains("timestamp");
    if timestamped {
        names.pop();
    }
    let cpu_start = names
        .iter()
        .rposition(|n| *n == "us")
        .ok_or_else(|| ParseError::at(header_no, "no \"us\" column: is this `vmstat` output?"))?;
    let linux = groups.contains("---");
    let (&(no, row), _) = all[2..]
        .split_last()
        .ok_or_else(|| ParseError::at(header_no + 1, "no sample row after the header"))?;
    let mut values: Vec<&str> = row.split_whitespace().collect();
    if timestamped {
        values.truncate(values.len().saturating_sub(2));
    }
    if values.len() != names.len() {
        return Err(ParseError::at(
            no,
            format!("{} values under {} columns", values.len(), names.len()),
        ));
    }
    let kib = memory_unit(input.command);
    let mut out = Out::default();
    for (i, (name, text)) in names.iter().zip(&values).enumerate() {
        let (variable, is_memory) = if i >= cpu_start {
            match cpu(name) {
                Some(v) => (v, false),
                None => {
                    return Err(ParseError::at(
                        header_no,
                        format!("unknown CPU column {name:?}"),
                    ));
                }
            }
        } else {
            // Unknown names before the CPU block are disks (da0, s0, --).
            match before_cpu(name, linux) {
                Some(known) => known,
                None => continue,
            }
        };
        let value = if is_memory {
            units::size(text, kib)
        } else {
            units::number(text)
        }
        .ok_or_else(|| ParseError::at(no, format!("cannot read {text:?} under {name:?}")))?;
        out.num(variable, value);
    }
    if let Some(idle) = out.get("cpu_idle_pct") {
        out.num("cpu_used_pct", 100.0 - idle);
    }
    out.done()
}

#[cfg(test)]
mod tests {
    use super::memory_unit;

    #[test]
    fn memory_units() {
        assert_eq!(memory_unit("vmstat 1 2"), 1024.0);
        assert_eq!(memory_unit("vmstat -S M 1 2"), 1_048_576.0);
        assert_eq!(memory_unit("vmstat -Sk"), 1000.0);
        assert_eq!(memory_unit("vmstat --unit m"), 1e6);
    }
}
