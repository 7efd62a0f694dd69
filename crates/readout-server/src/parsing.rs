//! Glue between stored data sources and the pure parser: which parser a
//! command gets by default, and parsing a received cycle.

use readout_parse::extract::ParserConfig;
use readout_parse::host::{self, CycleValues, Derived, Output, Source};
use readout_proto::CycleRequest;
use readout_storage::{DataSource, NewSource, Reading};

/// The preset parser for a command line, when one fits.
pub fn default_parser(command: &str) -> Option<ParserConfig> {
    readout_parse::presets::for_command(command).map(|p| ParserConfig {
        preset: Some(p.name.to_owned()),
        ..ParserConfig::default()
    })
}

/// Data sources for `names`, each with the preset its command line calls
/// for; `allowlist` gives `(name, command line)` pairs.
pub fn new_sources<'a>(
    names: &[String],
    allowlist: impl Iterator<Item = (&'a str, &'a str)>,
) -> Vec<NewSource> {
    let commands: std::collections::HashMap<&str, &str> = allowlist.collect();
    names
        .iter()
        .map(|name| NewSource {
            name: name.clone(),
            parser: commands
                .get(name.as_str())
                .and_then(|command| default_parser(command)),
        })
        .collect()
}

/// Parses every output of `cycle` with the host's data sources, then its
/// derived variables. `previous` holds the counters' earlier readings.
pub fn parse_cycle(
    cycle: &CycleRequest,
    sources: &[DataSource],
    derived: &[Derived],
    previous: &[(String, Reading)],
) -> CycleValues {
    let command_of = |name: &str| {
        cycle
            .allowlist
            .entries
            .iter()
            .find(|e| e.name == name)
            .map_or("", |e| e.command.as_str())
    };
    let sources: Vec<Source<'_>> = sources
        .iter()
        .filter_map(|s| {
            Some(Source {
                name: &s.name,
                command: command_of(&s.name),
                parser: s.parser.as_ref()?,
            })
        })
        .collect();
    let texts: Vec<(String, Option<i32>)> = cycle
        .results
        .iter()
        .map(|r| (String::from_utf8_lossy(&r.output).into_owned(), r.exit_code))
        .collect();
    let outputs: Vec<Output<'_>> = cycle
        .results
        .iter()
        .zip(&texts)
        .map(|(r, (text, exit_code))| Output {
            name: &r.name,
            output: text,
            exit_code: *exit_code,
        })
        .collect();
    host::parse_cycle(
        &sources,
        &outputs,
        derived,
        cycle.started_at_ms,
        |name: &str| {
            previous
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, reading)| *reading)
        },
    )
}

/// Counters the derived variables take rates of.
pub fn rate_inputs(derived: &[Derived]) -> Vec<String> {
    derived
        .iter()
        .filter_map(|d| match &d.spec {
            host::DerivedSpec::RateOf(of) => Some(of.clone()),
            host::DerivedSpec::Formula(_) => None,
        })
        .collect()
}
