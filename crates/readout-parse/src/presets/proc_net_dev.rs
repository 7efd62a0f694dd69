//! `/proc/net/dev`: bytes, packets, errors and drops per interface
//! (counters since boot). Long interface names touch their numbers
//! (`vethf345468:     648`, or even `name:648`), so rows split at the colon.

use super::{Preset, lines};
use crate::{Input, Out, ParseError, Values, label, units};

pub(super) const PRESET: Preset = Preset {
    name: "proc_net_dev",
    command: "cat /proc/net/dev",
    about: "Per-interface traffic counters from /proc/net/dev",
    variables: &[
        ("net_rx_bytes_total{iface}", "bytes", "received"),
        ("net_rx_packets_total{iface}", "count", "packets received"),
        ("net_rx_errors_total{iface}", "count", "receive errors"),
        (
            "net_rx_dropped_total{iface}",
            "count",
            "received packets dropped",
        ),
        ("net_tx_bytes_total{iface}", "bytes", "sent"),
        ("net_tx_packets_total{iface}", "count", "packets sent"),
        ("net_tx_errors_total{iface}", "count", "send errors"),
        (
            "net_tx_dropped_total{iface}",
            "count",
            "sent packets dropped",
        ),
    ],
    parse,
};

/// Positions among the 16 numbers of a row.
const FIELDS: [(usize, &str); 8] = [
    (0, "net_rx_bytes_total"),
    (1, "net_rx_packets_total"),
    (2, "net_rx_errors_total"),
    (3, "net_rx_dropped_total"),
    (8, "net_tx_bytes_total"),
    (9, "net_tx_packets_total"),
    (10, "net_tx_errors_total"),
    (11, "net_tx_dropped_total"),
];

fn parse(input: Input<'_>) -> Result<Values, ParseError> {
    let mut out = Out::default();
    let mut rows = lines(input.output);
    let headers: Vec<_> = rows.by_ref().take(2).collect();
    if headers.len() < 2 || !headers[1].1.contains("bytes") {
        return Err(ParseError::at(
            1,
            "expected the two header lines of /proc/net/dev",
        ));
    }
    for (no, line) in rows {
        let (iface, numbers) = line
            .split_once(':')
            .ok_or_else(|| ParseError::at(no, "expected \"interface: numbers…\""))?;
        let numbers: Vec<&str> = numbers.split_whitespace().collect();
        if numbers.len() != 16 {
            return Err(ParseError::at(
                no,
                format!("{} numbers; /proc/net/dev rows have 16", numbers.len()),
            ));
        }
        let iface = label(iface.trim());
        for (i, name) in FIELDS {
            let value = units::number(numbers[i]).ok_or_else(|| {
                ParseError::at(no, format!("cannot read {:?} for {iface}", numbers[i]))
            })?;
            out.num(format!("{name}{{iface=\"{iface}\"}}"), value);
        }
    }
    out.done()
}
