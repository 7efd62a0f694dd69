//! Derived-variable formulas: parsing never panics, and evaluating a
//! parsed formula gives a finite number or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use readout_parse::derive::{Formula, Reading, rate};
use readout_parse::{Value, Values};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut values = Values::new();
    for (name, value) in [
        ("a", 1.5),
        ("b", 0.0),
        ("used", 3e300),
        ("x{k=\"v\"}", -2.0),
    ] {
        values.insert(name.to_owned(), Value::Number(value));
    }
    values.insert("s".to_owned(), Value::Text("t".to_owned()));
    if let Ok(formula) = Formula::parse(&text) {
        if let Ok(n) = formula.eval(&values) {
            assert!(n.is_finite(), "{text:?} = {n}");
        }
    }
    if let [a, b, c, d, ..] = data {
        let reading = |v: u8, t: u8| Reading {
            value: f64::from(v) * 1e3,
            at_ms: i64::from(t) * 1000,
        };
        if let Some(r) = rate(reading(*a, *b), reading(*c, *d)) {
            assert!(r.is_finite() && r >= 0.0);
        }
    }
});
