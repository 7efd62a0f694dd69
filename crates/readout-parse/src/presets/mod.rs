//! Presets: zero-set-up parsers for common commands.

use crate::{Input, ParseError, Values};

mod df;
mod docker;
mod free;
mod influx;
mod iostat;
mod nagios;
mod netstat;
mod proc_net_dev;
mod proc_stat;
mod procfs;
mod prometheus;
mod ps;
mod sensors;
mod services;
mod top;
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
    top::PRESET,
    vmstat::PRESET,
    iostat::PRESET,
    netstat::PRESET,
    sensors::PRESET,
    docker::PRESET,
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

/// The preset that reads what a command line prints, if one does: the
/// first program of the pipeline decides (`top -b -n 1 | head` is `top`),
/// and for `cat` the file it reads.
pub fn for_command(command: &str) -> Option<&'static Preset> {
    let first = command.split(['|', ';', '&']).next()?;
    let mut words = first.split_whitespace();
    let program = words.next()?.rsplit('/').next()?;
    let name = match program {
        "free" | "uptime" | "df" | "vmstat" | "ps" | "vcgencmd" | "top" | "iostat" | "sensors" => {
            program
        }
        // `-i`, `-in`, `-ibdn`: the interface table.
        "netstat"
            if words.any(|w| w.starts_with('-') && !w.starts_with("--") && w.contains('i')) =>
        {
            "netstat_i"
        }
        "docker" if words.any(|w| w == "stats") => "docker_stats",
        "w" => "uptime",
        "cat" => match words.next()? {
            "/proc/loadavg" => "proc_loadavg",
            "/proc/uptime" => "proc_uptime",
            "/proc/meminfo" => "proc_meminfo",
            "/proc/stat" => "proc_stat",
            "/proc/net/dev" => "proc_net_dev",
            _ => return None,
        },
        "redis-cli" if words.any(|w| w.eq_ignore_ascii_case("info")) => "redis",
        p if p.starts_with("check_") => "nagios",
        _ => return None,
    };
    find(name)
}

/// Which preset reads a variable best when several of a host's sources
/// yield it, best first: vmstat samples the CPU over its interval while top
/// and /proc/stat report since boot; /proc files are read as the kernel
/// keeps them. Presets not named here come after, in their listed order.
const PREFERRED: &[&str] = &[
    "vmstat",
    "proc_loadavg",
    "proc_meminfo",
    "proc_uptime",
    "free",
    "uptime",
    "proc_stat",
    "top",
];

/// Where preset `name` stands when several of a host's sources yield one
/// variable: lower reads it better.
pub fn rank(name: &str) -> usize {
    PREFERRED
        .iter()
        .position(|&p| p == name)
        .unwrap_or_else(|| PREFERRED.len() + PRESETS.iter().take_while(|p| p.name != name).count())
}

/// The non-empty lines of an output with their 1-based numbers.
pub(crate) fn lines(output: &str) -> impl Iterator<Item = (usize, &str)> {
    output
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn presets_are_found_from_command_lines() {
        let preset = |c: &str| super::for_command(c).map(|p| p.name);
        assert_eq!(preset("free -m"), Some("free"));
        assert_eq!(preset("/usr/bin/df -P"), Some("df"));
        assert_eq!(preset("w"), Some("uptime"));
        assert_eq!(preset("cat /proc/net/dev"), Some("proc_net_dev"));
        assert_eq!(preset("cat /etc/passwd"), None);
        assert_eq!(preset("redis-cli -h db INFO"), Some("redis"));
        assert_eq!(
            preset("/usr/lib/nagios/plugins/check_disk -w 10%"),
            Some("nagios")
        );
        assert_eq!(preset("netstat -ibdn"), Some("netstat_i"));
        assert_eq!(preset("netstat -tlnp"), None);
        assert_eq!(
            preset("docker stats --no-stream --all"),
            Some("docker_stats")
        );
        assert_eq!(preset("docker ps"), None);
        assert_eq!(preset("hostname"), None);
        assert_eq!(preset(""), None);
        // Every default command with a preset gets it.
        for p in super::all() {
            if !matches!(p.name, "prometheus" | "influx" | "nginx") {
                assert_eq!(preset(p.command), Some(p.name), "{}", p.command);
            }
        }
    }
}
