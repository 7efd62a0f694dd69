//! Service status pages: nginx `stub_status` (and Tengine's extra
//! `request_time`), redis `INFO` (plain, or as a RESP bulk string), and the
//! Raspberry Pi's `vcgencmd`.

use super::{Preset, lines};
use crate::{Input, Out, ParseError, Value, Values, units};

pub(super) const NGINX: Preset = Preset {
    name: "nginx",
    command: "curl -s http://127.0.0.1/nginx_status",
    about: "Connections and request counters from nginx (or Tengine) stub_status",
    variables: &[
        (
            "nginx_active_connections",
            "count",
            "open client connections",
        ),
        (
            "nginx_accepts_total",
            "count",
            "accepted connections (counter)",
        ),
        (
            "nginx_handled_total",
            "count",
            "handled connections (counter)",
        ),
        ("nginx_requests_total", "count", "requests (counter)"),
        (
            "nginx_request_time_total",
            "seconds",
            "Tengine: summed request time (counter)",
        ),
        ("nginx_reading", "count", "connections reading the request"),
        ("nginx_writing", "count", "connections writing the response"),
        ("nginx_waiting", "count", "idle keep-alive connections"),
    ],
    parse: parse_nginx,
};

pub(super) const REDIS: Preset = Preset {
    name: "redis",
    command: "redis-cli info",
    about: "Every field of redis (or Pika, Sentinel) INFO; texts kept as text",
    variables: &[
        (
            "<field>",
            "as reported",
            "every `field:value`: numbers, or text (redis_version)",
        ),
        (
            "<field>_<key>",
            "as reported",
            "compound fields: db0:keys=1,expires=0 → db0_keys, db0_expires",
        ),
        (
            "info_unreadable_lines",
            "count",
            "lines that are not field:value (skipped, not guessed)",
        ),
    ],
    parse: parse_redis,
};

pub(super) const VCGENCMD: Preset = Preset {
    name: "vcgencmd",
    command: "vcgencmd measure_temp",
    about: "Raspberry Pi firmware readings: temperature, voltage, clock, throttling",
    variables: &[
        ("temp_celsius", "°C", "measure_temp"),
        ("volt_volts", "V", "measure_volts"),
        ("frequency_hz", "Hz", "measure_clock"),
        (
            "throttled",
            "bit field",
            "get_throttled (0 when all is well)",
        ),
    ],
    parse: parse_vcgencmd,
};

fn read(no: usize, what: &str, text: &str) -> Result<f64, ParseError> {
    units::number(text).ok_or_else(|| ParseError::at(no, format!("cannot read {what} {text:?}")))
}

fn parse_nginx(input: Input<'_>) -> Result<Values, ParseError> {
    let mut out = Out::default();
    let mut columns: Option<Vec<&str>> = None;
    for (no, line) in lines(input.output) {
        let line = line.trim();
        if let Some(n) = line.strip_prefix("Active connections:") {
            out.num(
                "nginx_active_connections",
                read(no, "active connections", n)?,
            );
        } else if line.starts_with("server ") {
            columns = Some(line.split_whitespace().skip(1).collect());
        } else if line.starts_with("Reading:") {
            let words: Vec<&str> = line.split_whitespace().collect();
            for pair in words.chunks(2) {
                if let [key, value] = pair {
                    let name = format!("nginx_{}", key.trim_end_matches(':').to_ascii_lowercase());
                    out.num(name, read(no, key, value)?);
                }
            }
        } else if let Some(names) = columns.take() {
            let values: Vec<&str> = line.split_whitespace().collect();
            if values.len() != names.len() {
                return Err(ParseError::at(
                    no,
                    format!("{} numbers under {} names", values.len(), names.len()),
                ));
            }
            for (name, value) in names.iter().zip(values) {
                let n = read(no, name, value)?;
                // Tengine sums request time in milliseconds.
                let n = if *name == "request_time" {
                    n / 1000.0
                } else {
                    n
                };
                out.num(format!("nginx_{name}_total"), n);
            }
        } else {
            return Err(ParseError::at(
                no,
                format!("unexpected line {line:?} in stub_status"),
            ));
        }
    }
    if out.get("nginx_requests_total").is_none() {
        return Err(ParseError::new(
            "no \"server accepts handled requests\" counters: is this nginx stub_status?",
        ));
    }
    out.done()
}

fn parse_redis(input: Input<'_>) -> Result<Values, ParseError> {
    let mut out = Out::default();
    let mut texts = Values::new();
    // INFO is a bag of independent fields: a line that is not one (Pika's
    // "db0 binlog_offset=…", a redis-cli error) is counted, not guessed.
    let mut unreadable = 0.0;
    for (no, line) in lines(input.output) {
        let line = line.trim();
        // A RESP bulk-string header ($4050) and section titles.
        if line.starts_with('#') || (no == 1 && line.starts_with('$')) {
            continue;
        }
        let Some((key, value)) = line.split_once(':').filter(|(key, _)| {
            !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }) else {
            unreadable += 1.0;
            continue;
        };
        if let Some(n) = value.trim().parse::<f64>().ok().filter(|n| n.is_finite()) {
            out.num(key, n);
        } else if value.contains('=') && value.split(',').all(|p| p.contains('=')) {
            for part in value.split(',') {
                let (sub, v) = part.split_once('=').unwrap_or((part, ""));
                match v.parse::<f64>() {
                    Ok(n) => out.num(format!("{key}_{sub}"), n),
                    Err(_) => {
                        texts.insert(format!("{key}_{sub}"), Value::Text(v.to_owned()));
                    }
                }
            }
        } else {
            texts.insert(key.to_owned(), Value::Text(value.trim().to_owned()));
        }
    }
    if out.get("uptime_in_seconds").is_none() && texts.is_empty() {
        return Err(ParseError::new(
            "no INFO fields (such as uptime_in_seconds): is this redis INFO?",
        ));
    }
    out.num("info_unreadable_lines", unreadable);
    let mut values = out.done()?;
    values.extend(texts);
    Ok(values)
}

fn parse_vcgencmd(input: Input<'_>) -> Result<Values, ParseError> {
    let mut out = Out::default();
    for (no, line) in lines(input.output) {
        let (key, value) = line
            .trim()
            .split_once('=')
            .ok_or_else(|| ParseError::at(no, "expected \"name=value\""))?;
        let reading = match key {
            "temp" => ("temp_celsius", units::celsius(value)),
            "volt" => ("volt_volts", units::number(value.trim_end_matches('V'))),
            "throttled" => (
                "throttled",
                u64::from_str_radix(value.trim_start_matches("0x"), 16)
                    .ok()
                    .map(|b| b as f64),
            ),
            k if k.starts_with("frequency") => ("frequency_hz", units::number(value)),
            other => return Err(ParseError::at(no, format!("unknown reading {other:?}"))),
        };
        let (name, number) = reading;
        out.num(
            name,
            number.ok_or_else(|| ParseError::at(no, format!("cannot read {key} {value:?}")))?,
        );
    }
    out.done()
}

#[cfg(test)]
mod tests {
    use crate::{Input, Value};

    fn parse(preset: &super::Preset, output: &str) -> crate::Values {
        preset
            .parse(Input {
                command: "",
                output,
                exit_code: None,
            })
            .expect("parse")
    }

    #[test]
    fn vcgencmd_readings() {
        let v = parse(
            &super::VCGENCMD,
            "temp=42.8'C\nvolt=1.2000V\nfrequency(48)=1500398464\nthrottled=0x50005\n",
        );
        assert_eq!(v.get("temp_celsius"), Some(&Value::Number(42.8)));
        assert_eq!(v.get("volt_volts"), Some(&Value::Number(1.2)));
        assert_eq!(v.get("frequency_hz"), Some(&Value::Number(1_500_398_464.0)));
        assert_eq!(v.get("throttled"), Some(&Value::Number(327_685.0)));
    }
}
