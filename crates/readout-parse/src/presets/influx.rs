//! InfluxDB line protocol: `measurement,tag=v field=1.5,count=3i,up=true,msg="x" [time]`.
//! Each field becomes `measurement_field{tags}`; integers (`i`, `u`) and
//! booleans are numbers, quoted strings are text. Timestamps are ignored:
//! the cycle's time is used.

use super::{Preset, lines};
use crate::{Input, Out, ParseError, Value, Values};

pub(super) const PRESET: Preset = Preset {
    name: "influx",
    command: "telegraf --once --test",
    about: "Every field of InfluxDB line protocol, named measurement_field{tags}",
    variables: &[(
        "<measurement>_<field>{<tags>}",
        "as sent",
        "numbers; strings as text",
    )],
    parse,
};

/// Splits at unescaped `sep`, outside double quotes; keeps escapes.
fn split_unescaped(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut escaped, mut quoted) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn field_value(text: &str) -> Option<Value> {
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        return Some(Value::Text(unescape(inner)));
    }
    match text {
        "t" | "T" | "true" | "True" | "TRUE" => return Some(Value::Number(1.0)),
        "f" | "F" | "false" | "False" | "FALSE" => return Some(Value::Number(0.0)),
        _ => {}
    }
    let number = text.strip_suffix(['i', 'u']).unwrap_or(text);
    number
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map(Value::Number)
}

fn parse(input: Input<'_>) -> Result<Values, ParseError> {
    let mut out = Out::default();
    let mut text = Values::new();
    for (no, line) in lines(input.output) {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let parts = split_unescaped(line.trim(), ' ');
        let (head, fields) = match parts.as_slice() {
            [head, fields] | [head, fields, _] => (*head, *fields),
            _ => {
                return Err(ParseError::at(
                    no,
                    "expected \"measurement[,tags] fields [timestamp]\"",
                ));
            }
        };
        let mut head = split_unescaped(head, ',').into_iter();
        let measurement = unescape(head.next().unwrap_or(""));
        let mut tags = Vec::new();
        for tag in head {
            let (k, v) = tag
                .split_once('=')
                .ok_or_else(|| ParseError::at(no, format!("tag {tag:?} has no '='")))?;
            tags.push((unescape(k), unescape(v)));
        }
        for field in split_unescaped(fields, ',') {
            let (key, value) = field
                .split_once('=')
                .ok_or_else(|| ParseError::at(no, format!("field {field:?} has no '='")))?;
            let value = field_value(value).ok_or_else(|| {
                ParseError::at(no, format!("cannot read the value {value:?} of {key}"))
            })?;
            let name = super::prometheus::series(
                &format!("{measurement}_{}", unescape(key)),
                tags.clone(),
            );
            match value {
                Value::Number(n) => out.num(name, n),
                Value::Text(t) => {
                    text.insert(name, Value::Text(t));
                }
            }
        }
    }
    let mut values = out.done().or_else(|e| {
        if text.is_empty() {
            Err(e)
        } else {
            Ok(Values::new())
        }
    })?;
    values.extend(text);
    Ok(values)
}

#[cfg(test)]
mod tests {
    use crate::{Input, Value};

    #[test]
    fn types_tags_and_escapes() {
        let text = "cpu,host=a\\ b,cpu=cpu0 usage=11.9,n=3i,u=7u,up=true,msg=\"hi, \\\"you\\\"\" 1594084375000000000\ntemp,sensor=x temp=35.85\n";
        let v = super::PRESET
            .parse(Input {
                command: "",
                output: text,
                exit_code: None,
            })
            .expect("parse");
        assert_eq!(
            v.get("cpu_usage{cpu=\"cpu0\",host=\"a b\"}"),
            Some(&Value::Number(11.9))
        );
        assert_eq!(
            v.get("cpu_n{cpu=\"cpu0\",host=\"a b\"}"),
            Some(&Value::Number(3.0))
        );
        assert_eq!(
            v.get("cpu_u{cpu=\"cpu0\",host=\"a b\"}"),
            Some(&Value::Number(7.0))
        );
        assert_eq!(
            v.get("cpu_up{cpu=\"cpu0\",host=\"a b\"}"),
            Some(&Value::Number(1.0))
        );
        assert_eq!(
            v.get("cpu_msg{cpu=\"cpu0\",host=\"a b\"}"),
            Some(&Value::Text("hi, \"you\"".into()))
        );
        assert_eq!(
            v.get("temp_temp{sensor=\"x\"}"),
            Some(&Value::Number(35.85))
        );
        let e = super::PRESET
            .parse(Input {
                command: "",
                output: "m f=abc\n",
                exit_code: None,
            })
            .expect_err("bad");
        assert_eq!(e.to_string(), "line 1: cannot read the value \"abc\" of f");
    }
}
