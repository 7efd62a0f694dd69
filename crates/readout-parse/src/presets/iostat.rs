//! sysstat `iostat` (Linux): the CPU split and per-device figures of the
//! last report, so `iostat -x 1 2` gives the last second rather than the
//! average since boot. Reads the default, `-x` (old and new column sets),
//! `-m`, `-h` (sizes with suffixes, device last) and compact `-x` layouts;
//! a device name too long for its column sits alone on its own line.

use super::{Preset, lines};
use crate::{Input, Out, ParseError, Values, label, units};

pub(super) const PRESET: Preset = Preset {
    name: "iostat",
    command: "iostat -x 1 2",
    about: "CPU split and per-device throughput, latency and utilisation from sysstat `iostat`",
    variables: &[
        ("cpu_user_pct", "percent", "CPU time in user space"),
        ("cpu_nice_pct", "percent", "CPU time of niced processes"),
        ("cpu_system_pct", "percent", "CPU time in the kernel"),
        ("cpu_iowait_pct", "percent", "CPU waiting for I/O"),
        ("cpu_steal_pct", "percent", "time stolen by the hypervisor"),
        ("cpu_idle_pct", "percent", "idle CPU time"),
        ("cpu_used_pct", "percent", "100 − idle"),
        ("disk_transfers_per_second{device}", "1/s", "`tps`"),
        ("disk_reads_per_second{device}", "1/s", "`r/s`"),
        ("disk_writes_per_second{device}", "1/s", "`w/s`"),
        ("disk_discards_per_second{device}", "1/s", "`d/s`"),
        ("disk_flushes_per_second{device}", "1/s", "`f/s`"),
        (
            "disk_read_bytes_per_second{device}",
            "bytes/s",
            "`kB_read/s`, `rkB/s`, `rMB/s`, `rsec/s` …",
        ),
        (
            "disk_written_bytes_per_second{device}",
            "bytes/s",
            "`kB_wrtn/s`, `wkB/s` …",
        ),
        (
            "disk_discarded_bytes_per_second{device}",
            "bytes/s",
            "`kB_dscd/s`, `dkB/s` …",
        ),
        (
            "disk_read_bytes{device}",
            "bytes",
            "`kB_read`: in the report's interval (since boot in the first report)",
        ),
        ("disk_written_bytes{device}", "bytes", "`kB_wrtn`, likewise"),
        (
            "disk_discarded_bytes{device}",
            "bytes",
            "`kB_dscd`, likewise",
        ),
        ("disk_read_merged_per_second{device}", "1/s", "`rrqm/s`"),
        ("disk_write_merged_per_second{device}", "1/s", "`wrqm/s`"),
        ("disk_discard_merged_per_second{device}", "1/s", "`drqm/s`"),
        ("disk_read_merged_pct{device}", "percent", "`%rrqm`"),
        ("disk_write_merged_pct{device}", "percent", "`%wrqm`"),
        ("disk_discard_merged_pct{device}", "percent", "`%drqm`"),
        ("disk_await_seconds{device}", "seconds", "`await`"),
        ("disk_read_await_seconds{device}", "seconds", "`r_await`"),
        ("disk_write_await_seconds{device}", "seconds", "`w_await`"),
        ("disk_discard_await_seconds{device}", "seconds", "`d_await`"),
        ("disk_flush_await_seconds{device}", "seconds", "`f_await`"),
        (
            "disk_service_time_seconds{device}",
            "seconds",
            "`svctm` (deprecated by sysstat)",
        ),
        ("disk_queue_length{device}", "count", "`avgqu-sz`, `aqu-sz`"),
        (
            "disk_request_bytes{device}",
            "bytes",
            "`avgrq-sz` (sectors)",
        ),
        ("disk_read_request_bytes{device}", "bytes", "`rareq-sz`"),
        ("disk_write_request_bytes{device}", "bytes", "`wareq-sz`"),
        ("disk_discard_request_bytes{device}", "bytes", "`dareq-sz`"),
        ("disk_util_pct{device}", "percent", "`%util`"),
    ],
    parse,
};

const KIB: f64 = 1024.0;
const MIB: f64 = 1024.0 * 1024.0;
const SECTOR: f64 = 512.0;
const MS: f64 = 0.001;

/// A device column: the variable and what one unit of the column is in
/// base units. `size` columns may carry suffixes under `-h`.
struct Column {
    name: &'static str,
    factor: f64,
    size: bool,
}

fn column(header: &str) -> Option<Column> {
    let (name, factor, size) = match header {
        "tps" => ("disk_transfers_per_second", 1.0, false),
        "r/s" => ("disk_reads_per_second", 1.0, false),
        "w/s" => ("disk_writes_per_second", 1.0, false),
        "d/s" => ("disk_discards_per_second", 1.0, false),
        "f/s" => ("disk_flushes_per_second", 1.0, false),
        "rrqm/s" => ("disk_read_merged_per_second", 1.0, false),
        "wrqm/s" => ("disk_write_merged_per_second", 1.0, false),
        "drqm/s" => ("disk_discard_merged_per_second", 1.0, false),
        "%rrqm" => ("disk_read_merged_pct", 1.0, false),
        "%wrqm" => ("disk_write_merged_pct", 1.0, false),
        "%drqm" => ("disk_discard_merged_pct", 1.0, false),
        "await" => ("disk_await_seconds", MS, false),
        "r_await" => ("disk_read_await_seconds", MS, false),
        "w_await" => ("disk_write_await_seconds", MS, false),
        "d_await" => ("disk_discard_await_seconds", MS, false),
        "f_await" => ("disk_flush_await_seconds", MS, false),
        "svctm" => ("disk_service_time_seconds", MS, false),
        "avgqu-sz" | "aqu-sz" => ("disk_queue_length", 1.0, false),
        "%util" => ("disk_util_pct", 1.0, false),
        "avgrq-sz" => ("disk_request_bytes", SECTOR, true),
        "rareq-sz" => ("disk_read_request_bytes", KIB, true),
        "wareq-sz" => ("disk_write_request_bytes", KIB, true),
        "dareq-sz" => ("disk_discard_request_bytes", KIB, true),
        other => return sized(other),
    };
    Some(Column { name, factor, size })
}

/// `kB_read/s`, `MB_wrtn`, `Blk_dscd/s`, `rkB/s`, `wMB/s`, `rsec/s` …
fn sized(header: &str) -> Option<Column> {
    let unit = |u: &str| match u {
        "kB" => Some(KIB),
        "MB" => Some(MIB),
        "Blk" | "sec" => Some(SECTOR),
        _ => None,
    };
    let (factor, what, per_second) = if let Some((u, rest)) = header.split_once('_') {
        let (what, per_second) = match rest.strip_suffix("/s") {
            Some(what) => (what, true),
            None => (rest, false),
        };
        (unit(u)?, what, per_second)
    } else {
        let rest = header.strip_suffix("/s")?;
        let (what, u) = rest.split_at(rest.chars().next()?.len_utf8());
        (unit(u)?, what, true)
    };
    let name = match (what, per_second) {
        ("read" | "r", true) => "disk_read_bytes_per_second",
        ("wrtn" | "w", true) => "disk_written_bytes_per_second",
        ("dscd" | "d", true) => "disk_discarded_bytes_per_second",
        ("read", false) => "disk_read_bytes",
        ("wrtn", false) => "disk_written_bytes",
        ("dscd", false) => "disk_discarded_bytes",
        _ => return None,
    };
    Some(Column {
        name,
        factor,
        size: true,
    })
}

fn parse(input: Input<'_>) -> Result<Values, ParseError> {
    let all: Vec<(usize, &str)> = lines(input.output).collect();
    let is_device_header = |l: &str| {
        let words: Vec<&str> = l.split_whitespace().collect();
        words.len() > 1
            && (words
                .first()
                .is_some_and(|w| w.trim_end_matches(':') == "Device")
                || words.last() == Some(&"Device"))
    };
    let cpu = all.iter().rposition(|(_, l)| l.starts_with("avg-cpu:"));
    let devices = all.iter().rposition(|(_, l)| is_device_header(l));
    if cpu.is_none() && devices.is_none() {
        let hint = if all.iter().any(|(_, l)| l.contains("KB/t")) {
            "this is BSD or macOS iostat; the iostat preset reads sysstat's (Linux)"
        } else {
            "no `avg-cpu:` or `Device` header: is this sysstat iostat output?"
        };
        return Err(ParseError::at(all.first().map_or(1, |(no, _)| *no), hint));
    }
    let mut out = Out::default();
    if let Some(at) = cpu {
        avg_cpu(&all[at..], &mut out)?;
    }
    if let Some(at) = devices {
        device_rows(&all[at..], &mut out)?;
    }
    out.done()
}

fn avg_cpu(block: &[(usize, &str)], out: &mut Out) -> Result<(), ParseError> {
    let (header_no, header) = block[0];
    let headers: Vec<&str> = header["avg-cpu:".len()..].split_whitespace().collect();
    let Some(&(no, line)) = block.get(1) else {
        return Err(ParseError::at(header_no, "`avg-cpu:` with no values below"));
    };
    let values: Vec<&str> = line.split_whitespace().collect();
    if values.len() != headers.len() {
        return Err(ParseError::at(
            no,
            format!(
                "{} CPU values under {} headers",
                values.len(),
                headers.len()
            ),
        ));
    }
    for (header, text) in headers.iter().zip(values) {
        let value = units::percent(text)
            .ok_or_else(|| ParseError::at(no, format!("cannot read {text:?} as {header}")))?;
        if let Some(what) = header.strip_prefix('%') {
            out.num(format!("cpu_{what}_pct"), value);
        }
    }
    if let Some(idle) = out.get("cpu_idle_pct") {
        out.num("cpu_used_pct", 100.0 - idle);
    }
    Ok(())
}

fn device_rows(block: &[(usize, &str)], out: &mut Out) -> Result<(), ParseError> {
    let (_, header) = block[0];
    let headers: Vec<&str> = header.split_whitespace().collect();
    let device_first = headers[0].trim_end_matches(':') == "Device";
    let columns: Vec<Option<Column>> = headers.iter().map(|h| column(h)).collect();
    let mut pending: Option<&str> = None;
    for &(no, line) in &block[1..] {
        if line.starts_with("avg-cpu:") {
            break;
        }
        let mut cells: Vec<&str> = line.split_whitespace().collect();
        if device_first {
            if let [name] = cells[..]
                && pending.is_none()
            {
                pending = Some(name);
                continue;
            }
            if let Some(name) = pending.take() {
                cells.insert(0, name);
            }
        }
        if cells.len() != headers.len() {
            return Err(ParseError::at(
                no,
                format!("{} cells under {} headers", cells.len(), headers.len()),
            ));
        }
        let device = if device_first {
            cells[0]
        } else {
            cells[cells.len() - 1]
        };
        let device = label(device);
        for (column, text) in columns.iter().zip(&cells) {
            let Some(Column { name, factor, size }) = column else {
                continue;
            };
            let value = if *size {
                units::size(text, *factor)
            } else {
                units::number(text).map(|n| n * factor)
            }
            .ok_or_else(|| ParseError::at(no, format!("cannot read {text:?} for {device}")))?;
            out.num(format!("{name}{{device=\"{device}\"}}"), value);
        }
    }
    if let Some(name) = pending {
        return Err(ParseError::new(format!(
            "the device {name:?} has no values after it"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::Input;

    #[test]
    fn headers_out_of_ascii_are_not_columns() {
        // Found by the fuzzer: a multi-byte letter where `r` of `rkB/s` goes.
        let output = "Device:  ékB/s  r/s\nsda  1.0  2.0\n";
        let values = super::PRESET
            .parse(Input {
                command: "iostat -x",
                output,
                exit_code: None,
            })
            .expect("parse");
        assert_eq!(values.len(), 1, "{values:?}");
    }
}
