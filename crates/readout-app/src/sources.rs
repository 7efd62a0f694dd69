//! Which data sources a host starts with: the commands of the default
//! allowlist, each read by the preset its command line calls for.

use readout_parse::extract::ParserConfig;
use readout_storage::NewSource;

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

/// The commands of the default allowlist, each with its preset: a new
/// host runs all of them.
pub fn default_sources() -> Vec<NewSource> {
    let entries = readout_allowlist::parse(readout_allowlist::DEFAULT_ALLOWLIST.as_bytes()).entries;
    let names: Vec<String> = entries.iter().map(|e| e.name.clone()).collect();
    new_sources(
        &names,
        entries
            .iter()
            .map(|e| (e.name.as_str(), e.command.as_str())),
    )
}
