//! Parse throughput of every preset on its real outputs from
//! ../shared/corpus: each iteration parses every corpus file the preset
//! reads, and criterion reports bytes per second.

use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use readout_parse::{Input, presets};

/// The corpus directories each preset reads (as in tests/corpus.rs).
const DIRS: &[(&str, &[&str])] = &[
    ("df", &["df"]),
    ("free", &["free"]),
    ("uptime", &["uptime", "w"]),
    ("proc_loadavg", &["proc-loadavg"]),
    ("proc_uptime", &["proc-uptime"]),
    ("proc_meminfo", &["proc-meminfo"]),
    ("proc_stat", &["proc-stat"]),
    ("proc_net_dev", &["proc-net-dev"]),
    ("ps", &["ps"]),
    ("top", &["top"]),
    ("vmstat", &["vmstat"]),
    ("iostat", &["iostat"]),
    ("netstat_i", &["netstat-i"]),
    ("sensors", &["sensors"]),
    ("docker_stats", &["docker-stats"]),
    ("prometheus", &["prometheus"]),
    ("influx", &["influx"]),
    ("nagios", &["nagios"]),
    ("nginx", &["nginx-status"]),
    ("redis", &["redis-info"]),
    ("vcgencmd", &["vcgencmd"]),
];

fn outputs(dirs: &[&str]) -> Vec<String> {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| std::fs::read_dir(corpus.join(d)).expect("corpus directory"))
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("corpus file"))
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("preset");
    for (name, dirs) in DIRS {
        let preset = presets::find(name).expect("preset");
        let outputs = outputs(dirs);
        let bytes: usize = outputs.iter().map(String::len).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(*name, |b| {
            b.iter(|| {
                for output in &outputs {
                    let input = Input {
                        command: preset.command,
                        output,
                        exit_code: Some(0),
                    };
                    // Errors are part of the work: a few corpus files are refused.
                    let _ = std::hint::black_box(preset.parse(std::hint::black_box(input)));
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
