//! Glue between stored data sources and the pure parser: parsing a
//! received cycle.

use readout_parse::host::{self, CycleValues, Derived, Output, Source};
use readout_proto::CycleRequest;
use readout_storage::{DataSource, Reading};

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

#[cfg(test)]
mod tests {
    use readout_proto::{AgentInfo, AllowedCommand, AllowlistReport, CommandResult};
    use readout_storage::DataSource;

    use super::*;

    /// The agent's default commands (available_commands.sh) and a real
    /// output of each from `shared/corpus`.
    const DEFAULTS: &[(&str, &str, &str)] = &[
        ("readout_free", "free", "free/jc-centos77-free.txt"),
        ("readout_uptime", "uptime", "uptime/jc-centos77.txt"),
        ("readout_df", "df -P", "df/jc-centos77-df.txt"),
        (
            "readout_vmstat",
            "vmstat 1 2",
            "vmstat/jc-centos77-vmstat.txt",
        ),
        ("readout_ps", "ps aux", "ps/jc-centos77-ps-axu.txt"),
        (
            "readout_loadavg",
            "cat /proc/loadavg",
            "proc-loadavg/jc-linux-proc-loadavg.txt",
        ),
        (
            "readout_meminfo",
            "cat /proc/meminfo",
            "proc-meminfo/jc-linux-proc-meminfo.txt",
        ),
        (
            "readout_stat",
            "cat /proc/stat",
            "proc-stat/jc-linux-proc-stat.txt",
        ),
        (
            "readout_netdev",
            "cat /proc/net/dev",
            "proc-net-dev/jc-linux-proc-net-dev.txt",
        ),
        (
            "readout_top",
            "top -b -n 1 | head -n 5",
            "top/jc-centos77-top-b-n1-gib.txt",
        ),
    ];

    fn parse_defaults(only: &[&str]) -> CycleValues {
        let corpus =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
        let defaults: Vec<&(&str, &str, &str)> = DEFAULTS
            .iter()
            .filter(|(n, _, _)| only.is_empty() || only.contains(n))
            .collect();
        let names: Vec<String> = defaults.iter().map(|(n, _, _)| (*n).to_owned()).collect();
        let sources: Vec<DataSource> =
            readout_app::sources::new_sources(&names, defaults.iter().map(|(n, c, _)| (*n, *c)))
                .into_iter()
                .map(|s| DataSource {
                    name: s.name,
                    parser: s.parser,
                    template_id: None,
                    created_at_ms: 0,
                })
                .collect();
        let cycle = CycleRequest {
            cycle_id: "c".into(),
            started_at_ms: 1_700_000_000_000,
            duration_ms: 1,
            agent: AgentInfo {
                version: "1".into(),
                hostname: "h".into(),
                os: "linux".into(),
                arch: "x86_64".into(),
            },
            allowlist: AllowlistReport {
                entries: defaults
                    .iter()
                    .map(|(name, command, _)| AllowedCommand {
                        name: (*name).into(),
                        command: (*command).into(),
                    })
                    .collect(),
                invalid: Vec::new(),
            },
            results: defaults
                .iter()
                .map(|(name, _, file)| CommandResult {
                    name: (*name).into(),
                    duration_ms: 1,
                    exit_code: Some(0),
                    signal: None,
                    timed_out: false,
                    truncated: false,
                    output: std::fs::read(corpus.join(file)).expect("a corpus output"),
                })
                .collect(),
            rejected: Vec::new(),
            spool_dropped: 0,
        };
        parse_cycle(&cycle, &sources, &[], &[])
    }

    #[test]
    fn default_sources_yield_each_variable_once_from_its_best_reader() {
        let parsed = parse_defaults(&[]);
        let errors: Vec<String> = parsed
            .errors
            .values()
            .flatten()
            .map(|e| format!("{}: {}", e.variable, e.message))
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        let source = |name: &str| parsed.values.get(name).map(|(source, _)| source.as_str());
        assert_eq!(
            source("cpu_used_pct"),
            Some("readout_vmstat"),
            "sampled, not since boot"
        );
        assert_eq!(source("load1"), Some("readout_loadavg"));
        assert_eq!(source("mem_used_pct"), Some("readout_meminfo"));
        assert_eq!(
            source("users"),
            Some("readout_uptime"),
            "only uptime has it"
        );
        assert_eq!(source("tasks_total"), Some("readout_top"));
        assert!(parsed.values.len() > 100, "{} values", parsed.values.len());

        // Without the better reader, the next one keeps the variable.
        let parsed = parse_defaults(&["readout_free", "readout_top", "readout_uptime"]);
        let source = |name: &str| parsed.values.get(name).map(|(source, _)| source.as_str());
        assert_eq!(source("mem_used_pct"), Some("readout_free"));
        assert_eq!(source("cpu_used_pct"), Some("readout_top"));
        assert_eq!(source("load1"), Some("readout_uptime"));
    }
}
