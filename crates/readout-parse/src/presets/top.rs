//! The summary header of `top -b -n 1`: procps-ng (`%Cpu(s):`, `KiB Mem :`
//! with KiB/MiB/GiB scaling), procps 3.2 (`Cpu(s): 15.7%us`, `Mem: …k
//! total`, `cached` on the Swap line) and BusyBox (`Mem: …K used`, `CPU:`,
//! `Load average:`). With several iterations (`-n 3`) the last one is read:
//! its CPU split covers the last interval rather than the time since boot.

use super::{Preset, lines};
use crate::{Input, Out, ParseError, Values, units};

pub(super) const PRESET: Preset = Preset {
    name: "top",
    command: "top -b -n 1 | head -n 5",
    about: "Tasks, CPU split, memory and load from the header of `top -b`",
    variables: &[
        (
            "tasks_total",
            "count",
            "processes (BusyBox: from `Load average:` running/total)",
        ),
        ("tasks_running", "count", "running processes"),
        ("tasks_sleeping", "count", "sleeping processes (procps)"),
        ("tasks_stopped", "count", "stopped processes (procps)"),
        ("tasks_zombie", "count", "zombie processes (procps)"),
        ("cpu_user_pct", "percent", "CPU time in user space"),
        ("cpu_system_pct", "percent", "CPU time in the kernel"),
        ("cpu_nice_pct", "percent", "CPU time of niced processes"),
        ("cpu_idle_pct", "percent", "idle CPU time"),
        ("cpu_iowait_pct", "percent", "CPU waiting for I/O"),
        ("cpu_irq_pct", "percent", "hardware interrupts"),
        ("cpu_softirq_pct", "percent", "software interrupts"),
        (
            "cpu_steal_pct",
            "percent",
            "time stolen by the hypervisor (procps)",
        ),
        ("cpu_used_pct", "percent", "100 − idle"),
        (
            "mem_total_bytes",
            "bytes",
            "total memory (BusyBox: used + free)",
        ),
        ("mem_used_bytes", "bytes", "used memory"),
        ("mem_free_bytes", "bytes", "free memory"),
        (
            "mem_buff_cache_bytes",
            "bytes",
            "buffers and page cache (procps-ng)",
        ),
        (
            "mem_buffers_bytes",
            "bytes",
            "buffers (procps 3.2, BusyBox)",
        ),
        (
            "mem_cached_bytes",
            "bytes",
            "page cache (procps 3.2, BusyBox)",
        ),
        ("mem_shared_bytes", "bytes", "shared memory (BusyBox)"),
        (
            "mem_available_bytes",
            "bytes",
            "available memory (procps-ng)",
        ),
        ("mem_used_pct", "percent", "used / total"),
        ("swap_total_bytes", "bytes", "total swap (procps)"),
        ("swap_used_bytes", "bytes", "used swap (procps)"),
        ("swap_free_bytes", "bytes", "free swap (procps)"),
        ("load1", "load", "1-minute load average"),
        ("load5", "load", "5-minute load average"),
        ("load15", "load", "15-minute load average"),
        ("uptime_seconds", "seconds", "time since boot (procps)"),
        ("users", "count", "logged-in users (procps)"),
    ],
    parse,
};

fn parse(input: Input<'_>) -> Result<Values, ParseError> {
    let all: Vec<(usize, &str)> = lines(input.output).collect();
    // The last iteration starts at its `top -` line (procps) or `Mem:` line
    // (BusyBox); its header ends at the process table.
    let start = all
        .iter()
        .rposition(|(_, l)| l.starts_with("top -"))
        .or_else(|| all.iter().rposition(|(_, l)| l.starts_with("Mem:")))
        .ok_or_else(|| {
            ParseError::new("no `top -` or BusyBox `Mem:` header line: is this `top -b` output?")
        })?;
    let mut out = Out::default();
    for &(no, line) in all[start..]
        .iter()
        .take_while(|(_, l)| !l.trim_start().starts_with("PID"))
    {
        let (label, rest) = line.split_once(':').unwrap_or((line, ""));
        let label = label.trim();
        let result = if line.starts_with("top -") {
            uptime_line(line, &mut out)
        } else if label == "Tasks" {
            tasks(rest, &mut out)
        } else if label.ends_with("Cpu(s)") {
            cpu_procps(rest, &mut out)
        } else if label == "CPU" {
            cpu_busybox(rest, &mut out)
        } else if label == "Load average" {
            load_busybox(rest, &mut out)
        } else if let Some(scale) = label.strip_suffix("Mem") {
            memory(scale, rest, "mem", &mut out)
        } else if let Some(scale) = label.strip_suffix("Swap") {
            memory(scale, rest, "swap", &mut out)
        } else {
            // Per-CPU lines (`%Cpu0`) and anything newer are not summary.
            Ok(())
        };
        result.map_err(|message| ParseError::at(no, message))?;
    }
    if out.get("mem_total_bytes").is_none()
        && let (Some(used), Some(free)) = (out.get("mem_used_bytes"), out.get("mem_free_bytes"))
    {
        out.num("mem_total_bytes", used + free);
    }
    out.pct("mem_used_pct", "mem_used_bytes", "mem_total_bytes");
    if let Some(idle) = out.get("cpu_idle_pct") {
        out.num("cpu_used_pct", 100.0 - idle);
    }
    out.done()
}

fn uptime_line(line: &str, out: &mut Out) -> Result<(), String> {
    let input = Input {
        output: line,
        ..Input::default()
    };
    let values = super::uptime::PRESET.parse(input).map_err(|e| e.message)?;
    for (name, value) in values {
        if let crate::Value::Number(n) = value {
            out.num(name, n);
        }
    }
    Ok(())
}

/// `NUMBER label` items split by commas: `108 total,   2 running`.
fn items(rest: &str) -> impl Iterator<Item = (&str, &str)> {
    rest.split(',').filter_map(|item| {
        let item = item.trim();
        let split = item.find(char::is_whitespace)?;
        let (num, label) = item.split_at(split);
        Some((num, label.trim()))
    })
}

fn tasks(rest: &str, out: &mut Out) -> Result<(), String> {
    for (num, label) in items(rest) {
        let value = units::number(num).ok_or_else(|| format!("cannot read {num:?} as a count"))?;
        match label {
            "total" | "running" | "sleeping" | "stopped" | "zombie" => {
                out.num(format!("tasks_{label}"), value);
            }
            _ => {}
        }
    }
    Ok(())
}

fn cpu_name(label: &str) -> Option<&'static str> {
    Some(match label {
        "us" | "usr" => "cpu_user_pct",
        "sy" | "sys" => "cpu_system_pct",
        "ni" | "nic" => "cpu_nice_pct",
        "id" | "idle" => "cpu_idle_pct",
        "wa" | "io" => "cpu_iowait_pct",
        "hi" | "irq" => "cpu_irq_pct",
        "si" | "sirq" => "cpu_softirq_pct",
        "st" => "cpu_steal_pct",
        _ => return None,
    })
}

/// `5.9 us,  5.9 sy` (procps-ng) or `15.7%us, 34.9%sy` (procps 3.2).
fn cpu_procps(rest: &str, out: &mut Out) -> Result<(), String> {
    for item in rest.split(',') {
        let item = item.trim();
        let split = item
            .find(|c: char| c.is_alphabetic())
            .ok_or_else(|| format!("cannot read the CPU item {item:?}"))?;
        let (num, label) = item.split_at(split);
        let value = units::percent(num.trim())
            .ok_or_else(|| format!("cannot read {num:?} as a percentage"))?;
        if let Some(name) = cpu_name(label.trim()) {
            out.num(name, value);
        }
    }
    Ok(())
}

/// BusyBox: `3% usr   3% sys   0% nic  92% idle`.
fn cpu_busybox(rest: &str, out: &mut Out) -> Result<(), String> {
    let words: Vec<&str> = rest.split_whitespace().collect();
    for pair in words.chunks(2) {
        let [num, label] = pair else {
            return Err(format!("cannot read the CPU line {rest:?}"));
        };
        let value =
            units::percent(num).ok_or_else(|| format!("cannot read {num:?} as a percentage"))?;
        if let Some(name) = cpu_name(label) {
            out.num(name, value);
        }
    }
    Ok(())
}

/// BusyBox: `0.07 0.04 0.08 4/765 45738`.
fn load_busybox(rest: &str, out: &mut Out) -> Result<(), String> {
    let words: Vec<&str> = rest.split_whitespace().collect();
    let [l1, l5, l15, tasks, ..] = words[..] else {
        return Err(format!(
            "expected three loads and running/total, found {rest:?}"
        ));
    };
    for (name, text) in [("load1", l1), ("load5", l5), ("load15", l15)] {
        let value = units::number(text).ok_or_else(|| format!("cannot read {text:?} as a load"))?;
        out.num(name, value);
    }
    let (running, total) = tasks
        .split_once('/')
        .and_then(|(r, t)| Some((units::number(r)?, units::number(t)?)))
        .ok_or_else(|| format!("cannot read {tasks:?} as running/total"))?;
    out.num("tasks_running", running);
    out.num("tasks_total", total);
    Ok(())
}

/// `KiB Mem :  3861332 total,  3446476 free` (scale before the label),
/// `Mem:   7629464k total` or BusyBox `1578756K used` (unit on the number).
fn memory(scale: &str, rest: &str, kind: &str, out: &mut Out) -> Result<(), String> {
    let unit = match scale.trim() {
        "" | "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024f64.powi(4),
        "PiB" => 1024f64.powi(5),
        "EiB" => 1024f64.powi(6),
        other => return Err(format!("unknown memory scale {other:?}")),
    };
    // procps-ng ends the Swap line with `0 used.  3345.3 avail Mem`.
    let rest = rest.replace(" used.", " used,");
    for (num, label) in items(&rest) {
        let bytes =
            units::size(num, unit).ok_or_else(|| format!("cannot read {num:?} as a size"))?;
        let name = match (kind, label) {
            (_, "total" | "used" | "free") => format!("{kind}_{label}_bytes"),
            ("mem", "buff/cache") => "mem_buff_cache_bytes".to_owned(),
            ("mem", "buffers" | "buff") => "mem_buffers_bytes".to_owned(),
            (_, "cached") => "mem_cached_bytes".to_owned(),
            ("mem", "shrd") => "mem_shared_bytes".to_owned(),
            ("swap", "avail Mem") => "mem_available_bytes".to_owned(),
            _ => continue,
        };
        out.num(name, bytes);
    }
    Ok(())
}
