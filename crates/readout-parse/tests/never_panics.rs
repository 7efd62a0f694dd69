//! No input makes a parser panic: random text, and real outputs cut and
//! mangled at random.

use proptest::prelude::*;
use readout_parse::{Input, presets, units};

/// Real outputs of every preset's command (Prometheus' are too big to
/// mangle quickly), read once.
static CORPUS: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(real_outputs);

fn real_outputs() -> Vec<String> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    [
        "free",
        "uptime",
        "w",
        "df",
        "vmstat",
        "ps",
        "top",
        "proc-loadavg",
        "proc-uptime",
        "proc-meminfo",
        "proc-stat",
        "proc-net-dev",
        "netstat-i",
        "iostat",
        "sensors",
        "docker-stats",
        "nginx-status",
        "redis-info",
        "vcgencmd",
        "nagios",
        "influx",
    ]
    .iter()
    .flat_map(|d| {
        std::fs::read_dir(dir.join(d))
            .into_iter()
            .flatten()
            .flatten()
    })
    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
    .collect()
}

proptest! {
    #[test]
    fn presets_never_panic_on_random_text(output in "(?s).{0,400}", command in "[a-z -]{0,12}") {
        for preset in presets::all() {
            let _ = preset.parse(Input { command: &command, output: &output, exit_code: None });
        }
    }

    #[test]
    fn presets_never_panic_on_mangled_real_output(
        pick in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
        insert in "[0-9:,.%()a-zA-Z \n-]{0,8}",
    ) {
        let corpus = &*CORPUS;
        let original = &corpus[pick.index(corpus.len())];
        let mut at = cut.index(original.len() + 1);
        while !original.is_char_boundary(at) {
            at -= 1;
        }
        let output = format!("{}{insert}{}", &original[..at], &original[at..]);
        for preset in presets::all() {
            if let Ok(values) = preset.parse(Input { command: preset.command, output: &output, exit_code: None }) {
                prop_assert!(!values.is_empty());
            }
        }
    }

    #[test]
    fn extractors_never_panic(output in "(?s).{0,300}") {
        let config = readout_parse::extract::ParserConfig::from_json(r#"{"table": {"columns": {"fixed_width": [0, 3, 50]}}, "variables": [
            {"name": "a", "extract": {"from": "cell", "cell": "B2"}},
            {"name": "b", "type": "base", "extract": {"from": "table", "row": {"regex": "."}, "column": {"header": "x"}}},
            {"name": "c", "type": "celsius", "extract": {"from": "regex", "pattern": "(\\S+)"}},
            {"name": "d", "type": "percent", "extract": {"from": "key", "key": "k"}},
            {"name": "e", "extract": {"from": "json", "path": "$.a[0].b"}},
            {"name": "f", "extract": {"from": "count", "what": "words"}},
            {"name": "g", "type": "string", "extract": {"from": "whole"}}
        ]}"#).expect("config");
        let _ = config.extract_each(Input { command: "", output: &output, exit_code: None });
    }

    #[test]
    fn unit_parsers_never_panic(text in "(?s).{0,40}") {
        let _ = units::number(&text);
        let _ = units::size(&text, 1024.0);
        let _ = units::percent(&text);
        let _ = units::celsius(&text);
    }
}

proptest! {
    #[test]
    fn formulas_never_panic(text in "[-+*/() .0-9a-z_\\[\\]{}=\"]{0,80}") {
        if let Ok(formula) = readout_parse::derive::Formula::parse(&text) {
            let _ = formula.eval(&readout_parse::Values::new());
        }
    }
}
