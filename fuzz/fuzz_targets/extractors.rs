//! A parser configuration and an output, split at the first NUL byte. An
//! invalid configuration falls back to one that uses every extractor, so
//! the output side is always exercised.
#![no_main]

use libfuzzer_sys::fuzz_target;
use readout_parse::Input;
use readout_parse::extract::ParserConfig;

const EVERY_EXTRACTOR: &str = r#"{"table": {"columns": {"fixed_width": [0, 3, 50]}}, "variables": [
    {"name": "a", "extract": {"from": "cell", "cell": "B2"}},
    {"name": "b", "type": "base", "base_unit": 1024, "extract": {"from": "table", "row": {"regex": "."}, "column": {"header": "x"}}},
    {"name": "c", "type": "celsius", "extract": {"from": "regex", "pattern": "(\\S+)"}},
    {"name": "d", "type": "percent", "extract": {"from": "key", "key": "k"}},
    {"name": "e", "extract": {"from": "json", "path": "$.a[0].b"}},
    {"name": "f", "extract": {"from": "count", "what": "words"}},
    {"name": "g", "type": "string", "extract": {"from": "whole"}},
    {"name": "h", "extract": {"from": "table", "row": {"first_cell": "Mem:"}, "column": {"index": 2}}}
]}"#;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (config, output) = text.split_once('\0').unwrap_or(("", &*text));
    let config = ParserConfig::from_json(config)
        .ok()
        .filter(|c| c.check().is_ok())
        .unwrap_or_else(|| ParserConfig::from_json(EVERY_EXTRACTOR).expect("valid"));
    let input = Input {
        command: "",
        output,
        exit_code: None,
    };
    let each = config.extract_each(input);
    // `extract` is all-or-nothing over the same results.
    assert_eq!(
        config.extract(input).is_ok(),
        each.iter().all(|(_, r)| r.is_ok())
    );
});
