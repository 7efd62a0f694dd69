use super::*;

const FREE: &str = include_str!("../../../../../shared/corpus/free/jc-centos77-free.txt");

fn config(json: &str) -> ParserConfig {
    ParserConfig::from_json(json).unwrap_or_else(|e| panic!("{e}"))
}

fn run(json: &str, output: &str) -> Result<Values, ParseError> {
    config(json).extract(Input {
        command: "",
        output,
        exit_code: None,
    })
}

#[test]
fn cells_by_name_and_by_row_and_header() {
    let values = run(
        r#"{"variables": [
            {"name": "total_kib", "extract": {"from": "cell", "cell": "B2"}},
            {"name": "used", "type": "base", "base_unit": 1024,
             "extract": {"from": "table", "row": {"first_cell": "Mem:"}, "column": {"header": "used"}}},
            {"name": "swap_free", "extract": {"from": "table", "row": {"contains": "Swap"}, "column": {"letter": "D"}}},
            {"name": "avail", "extract": {"from": "table", "row": {"regex": "^Mem"}, "column": {"index": 7}}}
        ]}"#,
        FREE,
    )
    .expect("extract");
    assert_eq!(values["total_kib"], Value::Number(3_861_332.0));
    assert_eq!(values["used"], Value::Number(222_820.0 * 1024.0));
    assert_eq!(values["swap_free"], Value::Number(2_097_148.0));
    assert_eq!(values["avail"], Value::Number(3_389_588.0));
}

#[test]
fn regex_key_json_whole_and_counts() {
    let values = run(
        r#"{"variables": [
            {"name": "temp", "type": "celsius", "extract": {"from": "regex", "pattern": "temp=([0-9.]+'C)"}},
            {"name": "latency", "extract": {"from": "key", "key": "latency"}},
            {"name": "host", "type": "string", "extract": {"from": "key", "key": "host"}},
            {"name": "lines", "extract": {"from": "count", "what": "lines"}},
            {"name": "errors", "extract": {"from": "count", "what": "matches", "pattern": "(?i)error"}}
        ]}"#,
        "temp=42.8'C\nlatency: 12ms\nhost = pi-4\nERROR one\nerror two\n",
    )
    .expect("extract");
    assert_eq!(values["temp"], Value::Number(42.8));
    assert_eq!(values["latency"], Value::Number(12.0));
    assert_eq!(values["host"], Value::Text("pi-4".into()));
    assert_eq!(values["lines"], Value::Number(5.0));
    assert_eq!(values["errors"], Value::Number(2.0));

    let json = r#"{"data": {"disks": [{"used_pct": "71%"}, {"used_pct": 12}]}, "up": 3600}"#;
    let values = run(
        r#"{"variables": [
            {"name": "d0", "type": "percent", "extract": {"from": "json", "path": "$.data.disks[0].used_pct"}},
            {"name": "d1", "extract": {"from": "json", "path": "/data/disks/1/used_pct"}},
            {"name": "up", "extract": {"from": "whole"}, "type": "string"}
        ]}"#,
        json,
    )
    .expect("extract");
    assert_eq!(values["d0"], Value::Number(71.0));
    assert_eq!(values["d1"], Value::Number(12.0));
    assert_eq!(values["up"], Value::Text(json.into()));
}

#[test]
fn a_preset_plus_variables_of_ones_own() {
    let values = run(
        r#"{"preset": "free", "variables": [{"name": "shared_raw", "extract": {"from": "cell", "cell": "E2"}}]}"#,
        FREE,
    )
    .expect("extract");
    assert_eq!(
        values["mem_total_bytes"],
        Value::Number(3_861_332.0 * 1024.0)
    );
    assert_eq!(values["shared_raw"], Value::Number(11_832.0));
}

#[test]
fn errors_say_which_variable_and_why() {
    let e = run(
        r#"{"variables": [{"name": "x", "extract": {"from": "cell", "cell": "Z9"}}]}"#,
        FREE,
    )
    .expect_err("missing");
    assert_eq!(e.to_string(), "x: no cell Z9 (the table has 3 rows)");
    let e = run(
        r#"{"variables": [{"name": "x", "extract": {"from": "table", "row": {"first_cell": "Mem:"}, "column": {"header": "nope"}}}]}"#,
        FREE,
    )
    .expect_err("header");
    assert_eq!(e.to_string(), "x: no header \"nope\" in the first row");
    let e = run(
        r#"{"variables": [{"name": "x", "extract": {"from": "cell", "cell": "A2"}}]}"#,
        FREE,
    )
    .expect_err("text");
    assert_eq!(e.to_string(), "x: cannot read \"Mem:\" as a number");
    let e = run(
        r#"{"variables": [{"name": "x", "extract": {"from": "json", "path": "$.a"}}]}"#,
        "not json",
    )
    .expect_err("json");
    assert!(
        e.to_string()
            .starts_with("x: line 1: the output is not JSON"),
        "{e}"
    );
    assert_eq!(
        e.line, None,
        "the line is in the message, after the variable's name"
    );

    // One bad variable does not hide the others.
    let each = config(
        r#"{"variables": [{"name": "bad", "extract": {"from": "cell", "cell": "Q1"}}, {"name": "good", "extract": {"from": "cell", "cell": "B2"}}]}"#,
    )
    .extract_each(Input { command: "", output: FREE, exit_code: None });
    assert!(each[0].1.is_err());
    assert_eq!(each[1].1, Ok(Value::Number(3_861_332.0)));
}

#[test]
fn bad_configs_are_refused_with_the_place() {
    for (json, want) in [
        (
            r#"{"variables": [{"name": "x", "extract": {"from": "regex", "pattern": "(unclosed"}}]}"#,
            "variables[0] (x): invalid regular expression",
        ),
        (
            r#"{"variables": [{"name": "x", "extract": {"from": "cell", "cell": "2B"}}]}"#,
            "variables[0] (x): \"2B\" is not a cell name such as B2",
        ),
        (
            r#"{"variables": [{"name": "bad name", "extract": {"from": "whole"}}]}"#,
            "variables[0] (bad name): a name is 1 to 200",
        ),
        (
            r#"{"variables": [{"name": "x", "extract": {"from": "count", "what": "matches"}}]}"#,
            "counting matches needs a pattern",
        ),
        (r#"{"preset": "nope"}"#, "unknown preset \"nope\""),
        (
            r#"{"variables": [{"name": "x", "extract": {"from": "teleport"}}]}"#,
            "unknown variant `teleport`",
        ),
        (
            r#"{"variables": [{"name": "x", "extract": {"from": "whole"}, "colour": 1}]}"#,
            "unknown field `colour`",
        ),
    ] {
        let e = ParserConfig::from_json(json).expect_err(json).to_string();
        assert!(e.contains(want), "{json}\n→ {e}");
    }
}

#[test]
fn numbers_with_units_after_them() {
    assert_eq!(leading_number("12ms"), Some(12.0));
    assert_eq!(leading_number("42.8'C"), Some(42.8));
    assert_eq!(leading_number("1,024 kB"), Some(1024.0));
    assert_eq!(leading_number("-3.5 dB"), Some(-3.5));
    assert_eq!(leading_number("12 34"), None);
    assert_eq!(leading_number("v1.2"), None);
}

#[test]
fn a_clicked_cell_is_picked_by_row_label_and_header_when_they_are_steady() {
    let free = "               total        used        free\nMem:        3861332      222820     3000000\nSwap:       2097148           0     2097148\n";
    let table = Table::split(free, &TableSpec::default());
    let ways = cell_selectors(&table, 1, 2);
    assert_eq!(
        ways,
        [
            Source::Table {
                row: RowSelector::FirstCell("Mem:".into()),
                column: ColumnSelector::Header("used".into()),
            },
            Source::Cell { cell: "C2".into() },
        ]
    );
    // Every way reads the clicked cell.
    for way in ways {
        let config = ParserConfig {
            variables: vec![VariableSpec {
                name: "v".into(),
                extract: way,
                kind: Kind::Number,
                base_unit: 1.0,
            }],
            ..ParserConfig::default()
        };
        let input = Input {
            command: "free",
            output: free,
            exit_code: Some(0),
        };
        assert_eq!(
            config.extract(input).expect("value")["v"],
            Value::Number(222820.0)
        );
    }
    // The label itself, a header, numbers as labels: by name only.
    assert_eq!(
        cell_selectors(&table, 1, 0),
        [Source::Cell { cell: "A2".into() }]
    );
    assert_eq!(
        cell_selectors(&table, 0, 1),
        [Source::Cell { cell: "B1".into() }]
    );
    let numbers = Table::split("a b\n1 2\n1 3\n", &TableSpec::default());
    assert_eq!(
        cell_selectors(&numbers, 2, 1),
        [Source::Cell { cell: "B3".into() }]
    );
    assert!(cell_selectors(&table, 9, 9).is_empty());
}
