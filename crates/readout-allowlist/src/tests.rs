use super::*;

fn reasons(file: &str) -> Vec<(usize, Reason)> {
    parse(file.as_bytes())
        .invalid
        .into_iter()
        .map(|i| (i.line, i.reason))
        .collect()
}

#[test]
fn default_file_is_valid_and_names_the_default_commands() {
    let list = parse(DEFAULT_ALLOWLIST.as_bytes());
    assert_eq!(list.invalid, vec![]);
    let names: Vec<_> = list.entries.iter().map(|e| e.name.as_str()).collect();
    for want in [
        "readout_free",
        "readout_uptime",
        "readout_df",
        "readout_vmstat",
        "readout_ps",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
}

#[test]
fn valid_lines_comments_and_blanks() {
    let file = "# comment\n\n   \n  # indented comment\nreadout_a=\"echo a | wc -c; $(date) `id`\"\nreadout_B_2=\"x\"\n";
    let list = parse(file.as_bytes());
    assert_eq!(list.invalid, vec![]);
    assert_eq!(
        list.entries,
        vec![
            Entry {
                name: "readout_a".into(),
                command: "echo a | wc -c; $(date) `id`".into(),
                line: 5
            },
            Entry {
                name: "readout_B_2".into(),
                command: "x".into(),
                line: 6
            },
        ]
    );
    assert_eq!(list.get("readout_B_2").map(|e| e.line), Some(6));
    assert!(
        list.get("readout_b_2").is_none(),
        "names are case-sensitive"
    );
}

#[test]
fn crlf_endings_and_bom_are_accepted() {
    let list = parse(b"\xEF\xBB\xBFreadout_a=\"uptime\"\r\n# c\r\nreadout_b=\"free\"\r\n");
    assert_eq!(list.invalid, vec![]);
    assert_eq!(list.entries.len(), 2);
    assert_eq!(list.entries[0].name, "readout_a");
    assert_eq!(list.entries[1].command, "free");
    assert_eq!(list.entries[1].line, 3);
}

#[test]
fn no_trailing_newline_and_empty_file() {
    assert_eq!(parse(b"readout_a=\"x\"").entries.len(), 1);
    assert_eq!(parse(b""), Allowlist::default());
    assert_eq!(parse(b"\n").entries.len(), 0);
}

#[test]
fn injection_looking_names_are_rejected() {
    for (name, bad) in [
        ("readout_x;rm", ';'),
        ("readout_$(id)", '$'),
        ("readout_a`id`", '`'),
        ("readout_a|b", '|'),
        ("readout_a b", ' '),
        ("readout_é", 'é'),
        ("readout_a-b", '-'),
        ("readout_a.b", '.'),
        ("readout_a/b", '/'),
    ] {
        assert_eq!(check_name(name), Err(NameError::BadChar(bad)), "{name}");
        let line = format!("{name}=\"true\"");
        assert_eq!(
            reasons(&line),
            vec![(1, Reason::BadName(NameError::BadChar(bad)))],
            "{line}"
        );
    }
    assert_eq!(check_name("free"), Err(NameError::MissingPrefix));
    assert_eq!(check_name("Readout_free"), Err(NameError::MissingPrefix));
    assert_eq!(check_name("readout_"), Err(NameError::Empty));
    assert_eq!(
        check_name(&format!("readout_{}", "a".repeat(100))),
        Err(NameError::TooLong(108))
    );
    assert_eq!(check_name("readout_ok_1"), Ok(()));
}

#[test]
fn every_malformed_line_gets_its_number_and_reason() {
    let file = [
        "readout_ok=\"true\"",      // 1
        "readout_a = \"x\"",        // 2
        "readout_a=x",              // 3
        "readout_a=\"x",            // 4
        "readout_a=\"say \"hi\"\"", // 5
        "readout_a=\"x\" # note",   // 6
        "readout_a=\"\"",           // 7
        "  readout_a=\"x\"",        // 8
        "export PATH=/bin",         // 9
        "just words",               // 10
        "readout_ok=\"again\"",     // 11
        "readout_a=\"   \"",        // 12
        "readout_t=\"a\x07b\"",     // 13
        "readout_tab=\"a\tb\"",     // 14 (tab is fine)
    ]
    .join("\n");
    assert_eq!(
        reasons(&file),
        vec![
            (2, Reason::SpaceAroundEquals),
            (3, Reason::NotQuoted),
            (4, Reason::Unterminated),
            (5, Reason::QuoteInside(16)),
            (6, Reason::TrailingText),
            (7, Reason::EmptyCommand),
            (8, Reason::LeadingSpace),
            (9, Reason::BadName(NameError::MissingPrefix)),
            (10, Reason::MissingEquals),
            (
                11,
                Reason::Duplicate {
                    name: "readout_ok".into(),
                    first_line: 1
                }
            ),
            (12, Reason::EmptyCommand),
            (13, Reason::ControlChar(13)),
        ]
    );
    let list = parse(file.as_bytes());
    assert_eq!(list.entries.len(), 2);
    assert_eq!(
        list.get("readout_tab").map(|e| e.command.as_str()),
        Some("a\tb")
    );
}

#[test]
fn reasons_read_well() {
    let list = parse(b"readout_a=\"say \"hi\"\"\n");
    assert_eq!(
        list.invalid[0].to_string(),
        "line 1: the command contains a double quote at column 16; double quotes are not allowed inside it"
    );
    assert_eq!(
        parse(b"readout_x;rm=\"true\"").invalid[0].to_string(),
        "line 1: invalid name: character ';' is not allowed; use only A-Z, a-z, 0-9 and _"
    );
}

#[test]
fn very_long_and_non_utf8_lines() {
    let long = format!(
        "readout_a=\"{}\"\nreadout_b=\"ok\"\n",
        "x".repeat(MAX_LINE_LEN)
    );
    let list = parse(long.as_bytes());
    assert_eq!(list.invalid.len(), 1);
    assert_eq!(list.invalid[0].reason, Reason::TooLong(MAX_LINE_LEN + 12));
    assert!(list.invalid[0].text.chars().count() <= 201, "echo is cut");
    assert_eq!(list.entries.len(), 1, "the next line still parses");

    let just_fits = format!("readout_a=\"{}\"", "x".repeat(MAX_LINE_LEN - 12));
    assert_eq!(parse(just_fits.as_bytes()).entries.len(), 1);

    let list = parse(b"readout_a=\"caf\xE9\"\nreadout_b=\"ok\"");
    assert_eq!(list.invalid[0].reason, Reason::NotUtf8);
    assert_eq!(list.invalid[0].text, "readout_a=\"caf\u{FFFD}\"");
    assert_eq!(list.entries.len(), 1);
}

mod properties {
    use super::super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_bytes_parse_without_panic_and_every_line_is_accounted_for(file in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let list = parse(&file);
            let lines = file.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&file);
            let count = if lines.is_empty() { 0 } else { lines.strip_suffix(b"\n").unwrap_or(lines).split(|b| *b == b'\n').count() };
            let mut numbers: Vec<usize> = list.entries.iter().map(|e| e.line).chain(list.invalid.iter().map(|i| i.line)).collect();
            numbers.sort_unstable();
            let before = numbers.len();
            numbers.dedup();
            prop_assert_eq!(before, numbers.len(), "a line reported twice");
            prop_assert!(numbers.iter().all(|n| (1..=count).contains(n)));
            for e in &list.entries {
                prop_assert!(check_name(&e.name).is_ok());
                prop_assert!(!e.command.contains('"') && !e.command.is_empty());
            }
        }

        #[test]
        fn well_formed_entries_round_trip(
            entries in proptest::collection::btree_map("[A-Za-z0-9_]{1,20}", "[ -!#-~]{0,60}[!#-~]", 0..20),
            crlf in any::<bool>(),
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let file: String = entries.iter().map(|(n, c)| format!("# {n}{eol}readout_{n}=\"{c}\"{eol}")).collect();
            let list = parse(file.as_bytes());
            prop_assert_eq!(list.invalid.len(), 0, "{:?}", list.invalid);
            let got: Vec<(String, String)> = list.entries.into_iter().map(|e| (e.name, e.command)).collect();
            let want: Vec<(String, String)> = entries.into_iter().map(|(n, c)| (format!("readout_{n}"), c)).collect();
            prop_assert_eq!(got, want);
        }
    }
}
