//! `netstat -i`: packet counters per interface. Linux net-tools prints one
//! row per interface (`Iface MTU RX-OK RX-ERR … Flg`, old versions with a
//! `Met` column). BSD, macOS, Solaris and AIX print one row per address
//! (`Name Mtu Network Address Ipkts Ierrs …`); the interface's own counters
//! are on its `<Link#N>` row (or its first row where there is none), the
//! Address cell may be empty, and `-b`, `-d` add byte and drop columns.

use std::collections::BTreeSet;

use super::{Preset, lines};
use crate::{Input, Out, ParseError, Values, label, units};

pub(super) const PRESET: Preset = Preset {
    name: "netstat_i",
    command: "netstat -i",
    about: "Per-interface packet, error and drop counters from `netstat -i`",
    variables: &[
        ("net_mtu{iface}", "bytes", "maximum transmission unit"),
        ("net_up{iface}", "0/1", "1 when the interface is up"),
        ("net_rx_packets_total{iface}", "count", "packets received"),
        ("net_rx_errors_total{iface}", "count", "receive errors"),
        (
            "net_rx_dropped_total{iface}",
            "count",
            "received packets dropped",
        ),
        (
            "net_rx_overruns_total{iface}",
            "count",
            "receive overruns (Linux)",
        ),
        (
            "net_rx_bytes_total{iface}",
            "bytes",
            "received (BSD/macOS `-b`)",
        ),
        ("net_tx_packets_total{iface}", "count", "packets sent"),
        ("net_tx_errors_total{iface}", "count", "send errors"),
        (
            "net_tx_dropped_total{iface}",
            "count",
            "sent packets dropped",
        ),
        (
            "net_tx_overruns_total{iface}",
            "count",
            "send overruns (Linux)",
        ),
        (
            "net_tx_bytes_total{iface}",
            "bytes",
            "sent (BSD/macOS `-b`)",
        ),
        (
            "net_collisions_total{iface}",
            "count",
            "collisions (BSD, macOS, Solaris, AIX)",
        ),
    ],
    parse,
};

fn variable(header: &str) -> Option<&'static str> {
    Some(match header {
        "MTU" | "Mtu" => "net_mtu",
        "RX-OK" | "Ipkts" => "net_rx_packets_total",
        "RX-ERR" | "Ierrs" => "net_rx_errors_total",
        "RX-DRP" | "Idrop" => "net_rx_dropped_total",
        "RX-OVR" => "net_rx_overruns_total",
        "Ibytes" => "net_rx_bytes_total",
        "TX-OK" | "Opkts" => "net_tx_packets_total",
        "TX-ERR" | "Oerrs" => "net_tx_errors_total",
        "TX-DRP" | "Drop" => "net_tx_dropped_total",
        "TX-OVR" => "net_tx_overruns_total",
        "Obytes" => "net_tx_bytes_total",
        "Coll" | "Collis" => "net_collisions_total",
        _ => return None,
    })
}

fn parse(input: Input<'_>) -> Result<Values, ParseError> {
    let mut rows = lines(input.output).skip_while(|(_, l)| l.starts_with("Kernel Interface"));
    let (header_no, header) = rows
        .next()
        .ok_or_else(|| ParseError::new("empty output; expected a `netstat -i` table"))?;
    let headers: Vec<&str> = header.split_whitespace().collect();
    let mut out = Out::default();
    match headers.first().copied() {
        Some("Iface") => {
            for (no, line) in rows {
                linux_row(&headers, line, &mut out).map_err(|m| ParseError::at(no, m))?;
            }
        }
        Some("Name") => {
            let rows: Vec<(usize, &str)> = rows.collect();
            // The `<Link#N>` row holds the interface's counters; systems
            // without one (Solaris) repeat them on every address row.
            let linked: BTreeSet<&str> = rows
                .iter()
                .filter(|(_, l)| is_link_row(l))
                .filter_map(|(_, l)| l.split_whitespace().next())
                .collect();
            let mut seen = BTreeSet::new();
            for (no, line) in rows {
                let name = line.split_whitespace().next().unwrap_or("");
                let wanted = if linked.contains(name) {
                    is_link_row(line)
                } else {
                    seen.insert(name)
                };
                if wanted {
                    bsd_row(&headers, line, &mut out).map_err(|m| ParseError::at(no, m))?;
                }
            }
        }
        _ => {
            return Err(ParseError::at(
                header_no,
                "expected the `Iface …` (Linux) or `Name Mtu Network …` (BSD, macOS) header of `netstat -i`",
            ));
        }
    }
    out.done()
}

fn is_link_row(line: &str) -> bool {
    line.split_whitespace()
        .nth(2)
        .is_some_and(|n| n.to_ascii_lowercase().starts_with("<link#") || n.starts_with("link#"))
}

fn put(out: &mut Out, header: &str, iface: &str, text: &str) -> Result<(), String> {
    let Some(name) = variable(header) else {
        return Ok(());
    };
    // BSD prints `-` where an address row has no such counter.
    if text == "-" {
        return Ok(());
    }
    let value = units::number(text)
        .ok_or_else(|| format!("cannot read {text:?} as {header} of {iface}"))?;
    out.num(format!("{name}{{iface=\"{}\"}}", label(iface)), value);
    Ok(())
}

fn linux_row(headers: &[&str], line: &str, out: &mut Out) -> Result<(), String> {
    let cells: Vec<&str> = line.split_whitespace().collect();
    if cells.len() != headers.len() {
        return Err(format!(
            "{} cells under {} headers",
            cells.len(),
            headers.len()
        ));
    }
    let iface = cells[0];
    for (header, cell) in headers.iter().zip(&cells).skip(1) {
        if *header == "Flg" {
            out.num(
                format!("net_up{{iface=\"{}\"}}", label(iface)),
                up(cell.contains('U')),
            );
        } else {
            put(out, header, iface, cell)?;
        }
    }
    Ok(())
}

fn up(is_up: bool) -> f64 {
    if is_up { 1.0 } else { 0.0 }
}

/// `Name Mtu Network Address Ipkts …`: the Address cell may be empty, so
/// the counters are read left to right after it; macOS leaves the last
/// (`Drop`) cell off some rows.
fn bsd_row(headers: &[&str], line: &str, out: &mut Out) -> Result<(), String> {
    let counters_from = headers
        .iter()
        .position(|h| *h == "Address")
        .map_or(2, |i| i + 1);
    let cells: Vec<&str> = line.split_whitespace().collect();
    let [name, mtu, _network, rest @ ..] = &cells[..] else {
        return Err(format!("expected name, MTU and network, found {line:?}"));
    };
    // A trailing `*` marks an interface that is down.
    let iface = name.trim_end_matches('*');
    out.num(
        format!("net_up{{iface=\"{}\"}}", label(iface)),
        up(!name.ends_with('*')),
    );
    put(out, "Mtu", iface, mtu)?;
    let counted = |c: &&str| *c == "-" || units::number(c).is_some();
    let values = match rest.first() {
        Some(address) if !counted(address) => &rest[1..],
        _ => rest,
    };
    let counter_headers = &headers[counters_from.min(headers.len())..];
    if values.len() > counter_headers.len() || !values.iter().all(counted) {
        return Err(format!(
            "expected up to {} counters after the address, found {:?}",
            counter_headers.len(),
            values.join(" ")
        ));
    }
    for (header, value) in counter_headers.iter().zip(values) {
        put(out, header, iface, value)?;
    }
    Ok(())
}
