//! Prometheus text exposition format: counters, gauges, histograms and
//! summaries (every bucket and quantile is a sample), labels with escapes,
//! optional client timestamps (ignored: the cycle's time is used).

use super::{Preset, lines};
use crate::{Input, Out, ParseError, Values, label, units};

pub(super) const PRESET: Preset = Preset {
    name: "prometheus",
    command: "curl -s http://127.0.0.1:9100/metrics",
    about: "Every sample of a Prometheus text exposition, named metric{labels}",
    variables: &[(
        "<metric>{<labels>}",
        "as exposed",
        "every finite sample; labels sorted by name",
    )],
    parse,
};

fn parse(input: Input<'_>) -> Result<Values, ParseError> {
    let mut out = Out::default();
    for (no, line) in lines(input.output) {
        let line = line.trim_start();
        if line.starts_with('#') {
            continue;
        }
        let (name, labels, rest) = sample(line).map_err(|e| ParseError::at(no, e))?;
        let value_text = rest
            .split_whitespace()
            .next()
            .ok_or_else(|| ParseError::at(no, format!("no value for {name}")))?;
        let value = match value_text {
            "+Inf" | "-Inf" | "Inf" | "NaN" => continue,
            text => text.parse::<f64>().ok().or_else(|| units::number(text)),
        }
        .ok_or_else(|| {
            ParseError::at(
                no,
                format!("cannot read the value {value_text:?} of {name}"),
            )
        })?;
        // A series exposed twice is an exporter bug; Prometheus keeps the
        // first sample, and so does this.
        let series = series(name, labels);
        if out.get(&series).is_none() {
            out.num(series, value);
        }
    }
    out.done()
}

type Labels = Vec<(String, String)>;

/// `name{a="1",b="2"} rest` → (name, labels, rest).
fn sample(line: &str) -> Result<(&str, Labels, &str), String> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return Err(format!("{name:?} is not a metric name"));
    }
    let rest = &line[name_end..];
    let Some(body) = rest.strip_prefix('{') else {
        return Ok((name, Vec::new(), rest));
    };
    let mut labels = Vec::new();
    let mut chars = body.char_indices().peekable();
    loop {
        while chars
            .peek()
            .is_some_and(|(_, c)| c.is_whitespace() || *c == ',')
        {
            chars.next();
        }
        match chars.peek() {
            Some((i, '}')) => {
                let end = *i + 1;
                return Ok((name, labels, &body[end..]));
            }
            None => return Err(format!("unclosed '{{' after {name}")),
            _ => {}
        }
        let mut key = String::new();
        for (_, c) in chars.by_ref() {
            if c == '=' {
                break;
            }
            key.push(c);
        }
        if chars.next().map(|(_, c)| c) != Some('"') {
            return Err(format!("label {key:?} of {name} has no quoted value"));
        }
        let mut value = String::new();
        let mut closed = false;
        while let Some((_, c)) = chars.next() {
            match c {
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => break,
                },
                '"' => {
                    closed = true;
                    break;
                }
                c => value.push(c),
            }
        }
        if !closed {
            return Err(format!("label {key:?} of {name} has no closing quote"));
        }
        labels.push((key.trim().to_owned(), value));
    }
}

/// The canonical variable name: labels sorted, values escaped.
pub(super) fn series(name: &str, mut labels: Labels) -> String {
    if labels.is_empty() {
        return name.to_owned();
    }
    labels.sort();
    let body: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", label(v)))
        .collect();
    format!("{name}{{{}}}", body.join(","))
}

#[cfg(test)]
mod tests {
    use crate::{Input, Value};

    #[test]
    fn labels_escapes_and_special_values() {
        let text = "# HELP x y\n# TYPE x gauge\nx{b=\"2\",a=\"q\\\"uote\\\\\"} 1.5 1700000000000\nup 1\nh_bucket{le=\"+Inf\"} 3\nbad NaN\ninf +Inf\n";
        let v = super::PRESET
            .parse(Input {
                command: "",
                output: text,
                exit_code: None,
            })
            .expect("parse");
        assert_eq!(
            v.get("x{a=\"q\\\"uote\\\\\",b=\"2\"}"),
            Some(&Value::Number(1.5))
        );
        assert_eq!(v.get("up"), Some(&Value::Number(1.0)));
        assert_eq!(v.get("h_bucket{le=\"+Inf\"}"), Some(&Value::Number(3.0)));
        assert!(!v.contains_key("bad") && !v.contains_key("inf"));
        let e = super::PRESET
            .parse(Input {
                command: "",
                output: "ok 1\nx{a=\"1} 2\n",
                exit_code: None,
            })
            .expect_err("bad");
        assert_eq!(
            e.to_string(),
            "line 2: label \"a\" of x has no closing quote"
        );
    }
}
