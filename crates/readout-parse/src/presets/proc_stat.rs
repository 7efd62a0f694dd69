//! `/proc/stat`: CPU time per mode (all CPUs and each), interrupts, context
//! switches, forks, boot time. Kernels before 2.6.11 print fewer CPU fields.
//!
//! These are counters since boot; per-second rates and CPU percentages are
//! derived from two cycles. Times are in USER_HZ ticks, which Linux fixes at
//! 100 per second for user space.

use super::{Preset, lines};
use crate::{Input, Out, ParseError, Values, label, units};

const USER_HZ: f64 = 100.0;
const MODES: [&str; 10] = [
    "user",
    "nice",
    "system",
    "idle",
    "iowait",
    "irq",
    "softirq",
    "steal",
    "guest",
    "guest_nice",
];

pub(super) const PRESET: Preset = Preset {
    name: "proc_stat",
    command: "cat /proc/stat",
    about: "CPU time per mode, interrupts, context switches and forks from /proc/stat (counters)",
    variables: &[
        (
            "cpu_<mode>_seconds_total",
            "seconds",
            "all CPUs: user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice",
        ),
        (
            "cpu_<mode>_seconds_total{cpu}",
            "seconds",
            "the same per CPU",
        ),
        ("cpu_count", "count", "CPUs listed"),
        ("interrupts_total", "count", "intr"),
        ("context_switches_total", "count", "ctxt"),
        ("forks_total", "count", "processes"),
        ("boot_time_seconds", "seconds", "btime, since the epoch"),
        ("procs_running", "count", "runnable now"),
        ("procs_blocked", "count", "blocked on I/O now"),
    ],
    parse,
};

fn parse(input: Input<'_>) -> Result<Values, ParseError> {
    let mut out = Out::default();
    let mut cpus = 0.0;
    let mut seen = std::collections::HashSet::new();
    for (no, line) in lines(input.output) {
        let mut words = line.split_whitespace();
        let key = words.next().unwrap_or("");
        // Two snapshots pasted together would mix two moments.
        if !seen.insert(key) {
            return Err(ParseError::at(
                no,
                format!("a second {key:?} line; /proc/stat has one"),
            ));
        }
        let read = |text: &str| {
            units::number(text)
                .ok_or_else(|| ParseError::at(no, format!("cannot read {text:?} in {key}")))
        };
        if let Some(which) = key.strip_prefix("cpu") {
            let suffix = if which.is_empty() {
                String::new()
            } else if which.bytes().all(|b| b.is_ascii_digit()) {
                cpus += 1.0;
                format!("{{cpu=\"{}\"}}", label(which))
            } else {
                return Err(ParseError::at(no, format!("unknown line {key:?}")));
            };
            let ticks: Vec<&str> = words.collect();
            if ticks.len() < 4 || ticks.len() > MODES.len() {
                return Err(ParseError::at(
                    no,
                    format!("{} CPU times; expected 4 to {}", ticks.len(), MODES.len()),
                ));
            }
            for (mode, text) in MODES.iter().zip(ticks) {
                out.num(
                    format!("cpu_{mode}_seconds_total{suffix}"),
                    read(text)? / USER_HZ,
                );
            }
            continue;
        }
        let name = match key {
            "intr" => "interrupts_total",
            "ctxt" => "context_switches_total",
            "processes" => "forks_total",
            "btime" => "boot_time_seconds",
            "procs_running" => "procs_running",
            "procs_blocked" => "procs_blocked",
            // page, swap, disk_io, softirq …: not summarised.
            _ => continue,
        };
        out.num(name, read(words.next().unwrap_or(""))?);
    }
    if out.get("cpu_user_seconds_total").is_none() {
        return Err(ParseError::new("no \"cpu\" line: is this /proc/stat?"));
    }
    out.num("cpu_count", cpus);
    out.done()
}
