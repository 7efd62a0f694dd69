//! The Trafikito splitter: an output cut into a table of named cells by a
//! line delimiter and a column rule, then every cell offered as a click
//! (the selectors the editor proposes). A JSON table spec, a NUL byte,
//! then the output; a spec that does not parse falls back to the default.
#![no_main]

use libfuzzer_sys::fuzz_target;
use readout_parse::extract::cell_selectors;
use readout_parse::table::{Table, TableSpec};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (spec, output) = text.split_once('\0').unwrap_or(("", &*text));
    let spec: TableSpec = serde_json::from_str(spec).unwrap_or_default();
    let table = Table::split(output, &spec);
    // Clicks on the first rows and columns: enough to reach every rule.
    for (row, cells) in table.rows.iter().enumerate().take(8) {
        for column in 0..cells.len().min(8) {
            assert!(table.get(row, column).is_some());
            let _ = cell_selectors(&table, row, column);
        }
    }
});
