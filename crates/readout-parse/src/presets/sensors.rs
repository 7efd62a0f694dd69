//! lm-sensors `sensors`: temperatures, voltages, fan speeds, power and
//! current per chip and sensor, from the human output (`Core 0:  +45.0°C
//! (high = +82.0°C …)`, `°F` under `-f`, converted) or the raw `-u` output
//! (`temp2_input: 45.000` under a `Core 0:` label).

use super::{Preset, lines};
use crate::{Input, Out, ParseError, Values, label, units};

pub(super) const PRESET: Preset = Preset {
    name: "sensors",
    command: "sensors",
    about: "Temperatures, voltages, fans and power from lm-sensors",
    variables: &[
        ("temp_celsius{chip,sensor}", "celsius", "temperature"),
        (
            "temp_max_celsius",
            "celsius",
            "the hottest temperature of all",
        ),
        ("voltage_volts{chip,sensor}", "volts", "voltage"),
        ("fan_rpm{chip,sensor}", "rpm", "fan speed"),
        ("power_watts{chip,sensor}", "watts", "power"),
        ("current_amperes{chip,sensor}", "amperes", "current"),
        ("humidity_pct{chip,sensor}", "percent", "relative humidity"),
    ],
    parse,
};

fn parse(input: Input<'_>) -> Result<Values, ParseError> {
    let mut out = Out::default();
    let mut chip: Option<&str> = None;
    let mut sensor: Option<&str> = None;
    for (no, line) in lines(input.output) {
        let indented = line.starts_with([' ', '\t']);
        let trimmed = line.trim();
        if indented {
            // `-u`: `  temp1_input: 57.500` under a label; `(crit = …)`
            // continues a human line.
            if let (Some(chip), Some(sensor)) = (chip, sensor) {
                raw_reading(trimmed, chip, sensor, &mut out).map_err(|m| ParseError::at(no, m))?;
            }
            continue;
        }
        if trimmed.starts_with("Adapter:") {
            continue;
        }
        if let Some(label) = trimmed.strip_suffix(':') {
            sensor = Some(label);
            continue;
        }
        match split_label(trimmed) {
            Some((label, reading)) => {
                let chip = chip.ok_or_else(|| {
                    ParseError::at(
                        no,
                        "a reading before any chip name (such as `coretemp-isa-0000`)",
                    )
                })?;
                sensor = Some(label);
                human_reading(reading, chip, label, &mut out).map_err(|m| ParseError::at(no, m))?;
            }
            None => {
                chip = Some(trimmed);
                sensor = None;
            }
        }
    }
    let hottest = out
        .numbers()
        .filter(|(name, _)| name.starts_with("temp_celsius{"))
        .map(|(_, v)| v)
        .reduce(f64::max);
    if let Some(hottest) = hottest {
        out.num("temp_max_celsius", hottest);
    }
    out.done()
}

/// `Core 0:   +45.0°C  (high …)` → (`Core 0`, `+45.0°C  (high …)`): the
/// label ends at the first colon followed by a space; chip names such as
/// `ucsi_source_psy_USBC000:001-isa-0000` have none.
fn split_label(line: &str) -> Option<(&str, &str)> {
    let at = line
        .match_indices(':')
        .find_map(|(i, _)| line[i + 1..].starts_with([' ', '\t']).then_some(i))?;
    Some((line[..at].trim(), line[at + 1..].trim()))
}

fn name(kind: &str, chip: &str, sensor: &str) -> String {
    format!(
        "{kind}{{chip=\"{}\",sensor=\"{}\"}}",
        label(chip),
        label(sensor)
    )
}

/// The reading before any `(limits)`: `+1.12 V`, `4560 RPM`, `+54.0°C`,
/// `113.0°F`, `5.09 W`; `N/A` and `ALARM` are no reading.
fn human_reading(reading: &str, chip: &str, sensor: &str, out: &mut Out) -> Result<(), String> {
    let reading = reading.split('(').next().unwrap_or("");
    let mut words = reading.split_whitespace();
    let Some(first) = words.next() else {
        return Ok(());
    };
    let split = first
        .find(|c: char| !(c.is_ascii_digit() || "+-.".contains(c)))
        .unwrap_or(first.len());
    let (number, unit) = first.split_at(split);
    if number.is_empty() {
        return Ok(());
    }
    let unit = if unit.is_empty() {
        words.next().unwrap_or("")
    } else {
        unit
    };
    let value = units::number(number)
        .ok_or_else(|| format!("cannot read {first:?} as a reading of {sensor}"))?;
    let (kind, value) = match unit {
        "°C" | "C" => ("temp_celsius", value),
        "°F" | "F" => ("temp_celsius", (value - 32.0) * 5.0 / 9.0),
        "V" => ("voltage_volts", value),
        "mV" => ("voltage_volts", value / 1000.0),
        "RPM" => ("fan_rpm", value),
        "W" => ("power_watts", value),
        "mW" => ("power_watts", value / 1000.0),
        "kW" => ("power_watts", value * 1000.0),
        "A" => ("current_amperes", value),
        "mA" => ("current_amperes", value / 1000.0),
        "%RH" | "%" => ("humidity_pct", value),
        // Energy, intrusion and anything newer: not a gauge we name.
        _ => return Ok(()),
    };
    out.num(name(kind, chip, sensor), value);
    Ok(())
}

/// `temp2_input: 45.000`: only the `_input` (or power's `_average`) is the
/// reading; `_max`, `_crit`, `_alarm` are limits and flags.
fn raw_reading(line: &str, chip: &str, sensor: &str, out: &mut Out) -> Result<(), String> {
    let Some((key, value)) = line.split_once(':') else {
        return Ok(());
    };
    let kind = key.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let prefix = &key[..key.len() - kind.len()];
    let reading = kind.trim_start_matches(|c: char| c.is_ascii_digit());
    let kind = match (prefix, reading) {
        ("temp", "_input") => "temp_celsius",
        ("in", "_input") => "voltage_volts",
        ("fan", "_input") => "fan_rpm",
        ("power", "_input" | "_average") => "power_watts",
        ("curr", "_input") => "current_amperes",
        ("humidity", "_input") => "humidity_pct",
        _ => return Ok(()),
    };
    let value = units::number(value)
        .ok_or_else(|| format!("cannot read {:?} as {key} of {sensor}", value.trim()))?;
    // A power sensor with both `_average` and `_input` keeps `_input`.
    let name = name(kind, chip, sensor);
    if reading == "_average" && out.get(&name).is_some() {
        return Ok(());
    }
    out.num(name, value);
    Ok(())
}
