//! Presets: zero-set-up parsers for common commands.

use crate::{Input, ParseError, Values};

mod df;
mod free;
mod influx;
mod nagios;
mod proc_net_dev;
mod proc_stat;
mod procfs;
mod prometheus;
mod ps;
mod services;
mod uptime;
mod vmstat;

/// One preset: its name, what it reads, and the variables it yields.
#[derive(Debug)]
pub struct Preset {
    pub name: &'static str,
    /// The command it reads, as an allowlist would run it.
    pub command: &'static str,
    pub about: &'static str,
    /// `(name, unit, meaning)`; names ending in `{…}` come once per item.
    pub variables: &'static [(&'static str, &'static str, &'static str)],
    parse: fn(Input<'_>) -> Result<Values, ParseError>,
}

impl Preset {
    pub fn parse(&self, input: Input<'_>) -> Result<Values, ParseError> {
        (self.parse)(input)
    }
}

static PRESETS: &[Preset] = &[
    df::PRESET,
    free::PRESET,
    uptime::PRESET,
    procfs::LOADAVG,
    procfs::UPTIME,
    procfs::MEMINFO,
    proc_stat::PRESET,
    proc_net_dev::PRESET,
    ps::PRESET,
    vmstat::PRESET,
    prometheus::PRESET,
    influx::PRESET,
    nagios::PRESET,
    services::NGINX,
    services::REDIS,
    services::VCGENCMD,
];

/// Every preset, by name.
pub fn all() -> &'static [Preset] {
    PRESETS
}

pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// The non-empty lines of an output with their 1-based numbers.
pub(crate) fn lines(output: &str) -> impl Iterator<Item = (usize, &str)> {
    output
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty())
}
