//! Every corpus file of a command that has a preset goes through it
//! (../shared/corpus, real outputs from many systems; see its SOURCES.md).
//! Each file either yields its variables or fails with the error listed
//! here; at least two files per variant family are checked value by value.

use std::path::PathBuf;

use readout_parse::{Input, Value, Values, presets};

fn corpus() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    assert!(
        dir.is_dir(),
        "the corpus is missing at {} (shared/ beside the checkout)",
        dir.display()
    );
    dir
}

/// The command line that produced a corpus file, from its name.
fn command_for(preset: &str, file: &str) -> String {
    let base = presets::find(preset).map(|p| p.command).unwrap_or(preset);
    match preset {
        "df" => {
            let flag = ["-h", "-i", "-H"].into_iter().find(|f| {
                file.contains(&format!("df{f}")) || file.contains(&format!("df-{}", &f[1..]))
            });
            flag.map_or_else(|| base.to_owned(), |f| format!("df {f}"))
        }
        "free" => {
            // `-k` and `-m` are in the names: `…-free-m.txt`, `…-free-k.txt`.
            let flag = ["-b", "-k", "-m", "-g", "-h", "-w"]
                .into_iter()
                .find(|f| file.contains(&format!("free{f}")));
            // OpenHarmony's LiteOS `free` prints bytes.
            if file.starts_with("openharmony-liteos-free.txt") {
                return "free -b".into();
            }
            flag.map_or_else(|| base.to_owned(), |f| format!("free {f}"))
        }
        _ => base.to_owned(),
    }
}

fn parse(preset: &str, dir: &str, file: &str) -> Result<Values, readout_parse::ParseError> {
    let output = std::fs::read_to_string(corpus().join(dir).join(file)).expect("corpus file");
    let command = command_for(preset, file);
    presets::find(preset).expect("preset").parse(Input {
        command: &command,
        output: &output,
        exit_code: None,
    })
}

fn num(values: &Values, name: &str) -> f64 {
    match values.get(name) {
        Some(Value::Number(n)) => *n,
        other => panic!("{name}: {other:?} in {values:?}"),
    }
}

/// A preset, the corpus directories it reads, and the files expected to
/// fail with the given message.
struct Coverage {
    preset: &'static str,
    dirs: &'static [&'static str],
    failures: &'static [(&'static str, &'static str)],
}

const fn cover(preset: &'static str, dirs: &'static [&'static str]) -> Coverage {
    Coverage {
        preset,
        dirs,
        failures: &[],
    }
}

const COVERAGE: &[Coverage] = &[
    Coverage {
        preset: "df",
        dirs: &["df"],
        failures: &[(
            "ohai-solaris-df-Pka.txt",
            "line 21: cannot read the row \"r\"",
        )],
    },
    cover("free", &["free"]),
    Coverage {
        preset: "uptime",
        dirs: &["uptime", "w"],
        failures: &[
            (
                "facter2-uptime-spec-33.txt",
                "line 1: the uptime \"0:-6\" has a negative time; the clock was probably stepped",
            ),
            (
                "facter2-uptime-spec-34.txt",
                "line 1: the uptime \"1 day 0:-6\" has a negative time; the clock was probably stepped",
            ),
        ],
    },
    cover("proc_loadavg", &["proc-loadavg"]),
    cover("proc_uptime", &["proc-uptime"]),
    cover("proc_meminfo", &["proc-meminfo"]),
    cover("ps", &["ps"]),
    cover("prometheus", &["prometheus"]),
    cover("influx", &["influx"]),
    cover("nagios", &["nagios"]),
    cover("nginx", &["nginx-status"]),
    cover("redis", &["redis-info"]),
    cover("vcgencmd", &["vcgencmd"]),
    Coverage {
        preset: "proc_stat",
        dirs: &["proc-stat"],
        failures: &[(
            "jc-linux-proc-stat2.txt",
            "line 10: a second \"cpu\" line; /proc/stat has one",
        )],
    },
    cover("proc_net_dev", &["proc-net-dev"]),
    cover("top", &["top"]),
    cover("netstat_i", &["netstat-i"]),
    cover("iostat", &["iostat"]),
    cover("sensors", &["sensors"]),
    cover("docker_stats", &["docker-stats"]),
    Coverage {
        preset: "vmstat",
        dirs: &["vmstat"],
        failures: &[
            (
                "jc-centos77-vmstat-d.txt",
                "line 1: this is `vmstat -d` (disk statistics); the vmstat preset reads the default summary",
            ),
            (
                "jc-centos77-vmstat-dt.txt",
                "line 1: this is `vmstat -d` (disk statistics); the vmstat preset reads the default summary",
            ),
        ],
    },
];

#[test]
fn every_corpus_file_yields_variables_or_the_expected_error() {
    let mut checked = 0;
    for Coverage {
        preset,
        dirs,
        failures,
    } in COVERAGE
    {
        for dir in *dirs {
            let mut files: Vec<String> = std::fs::read_dir(corpus().join(dir))
                .expect("corpus dir")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            files.sort();
            for file in files {
                let result = parse(preset, dir, &file);
                match failures.iter().find(|(f, _)| *f == file) {
                    Some((_, message)) => {
                        let err = result.expect_err(&format!("{dir}/{file} should fail"));
                        assert_eq!(err.to_string(), *message, "{dir}/{file}");
                    }
                    None => {
                        let values =
                            result.unwrap_or_else(|e| panic!("{preset} on {dir}/{file}: {e}"));
                        // OS presets never yield negatives; formats carry whatever
                        // the exporter sent (a Wi-Fi signal in dBm).
                        let format = matches!(*preset, "prometheus" | "influx" | "redis");
                        for (name, value) in &values {
                            if let Value::Number(n) = value {
                                assert!(
                                    n.is_finite() && (format || *n >= 0.0),
                                    "{dir}/{file}: {name} = {n}"
                                );
                            }
                        }
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 70, "only {checked} corpus files checked");
}

const KIB: f64 = 1024.0;
const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

macro_rules! expect {
    ($values:expr, $($name:literal => $want:expr),+ $(,)?) => {
        $( let got = num(&$values, $name); assert!(close(got, $want), "{} = {got}, want {}", $name, $want); )+
    };
}

#[test]
fn free_procps_ng_kib_and_human() {
    let v = parse("free", "free", "jc-centos77-free.txt").expect("parse");
    expect!(v,
        "mem_total_bytes" => 3_861_332.0 * KIB, "mem_used_bytes" => 222_820.0 * KIB,
        "mem_free_bytes" => 3_364_176.0 * KIB, "mem_shared_bytes" => 11_832.0 * KIB,
        "mem_buff_cache_bytes" => 274_336.0 * KIB, "mem_available_bytes" => 3_389_588.0 * KIB,
        "swap_total_bytes" => 2_097_148.0 * KIB, "swap_used_bytes" => 0.0,
        "mem_used_pct" => 222_820.0 / 3_861_332.0 * 100.0, "swap_used_pct" => 0.0,
    );
    let v = parse("free", "free", "jc-ubuntu1804-free-h.txt").expect("parse");
    expect!(v,
        "mem_total_bytes" => 1.9 * GIB, "mem_used_bytes" => 237.0 * MIB, "mem_shared_bytes" => 1.2 * MIB,
        "swap_used_bytes" => 268.0 * KIB, "mem_available_bytes" => 1.5 * GIB,
    );
    let v = parse("free", "free", "archey4-free-m.txt").expect("parse");
    expect!(v, "mem_total_bytes" => 15_658.0 * MIB, "mem_available_bytes" => 13_268.0 * MIB);
    let v = parse("free", "free", "jc-centos77-free-w.txt").expect("parse");
    expect!(v, "mem_buffers_bytes" => 61_596.0 * KIB, "mem_cache_bytes" => 898_640.0 * KIB);
}

#[test]
fn free_busybox_and_liteos() {
    let v = parse("free", "free", "busybox-usage-example-old-total.txt").expect("parse");
    expect!(v,
        "mem_total_bytes" => 257_628.0 * KIB, "mem_used_bytes" => 248_724.0 * KIB,
        "mem_buffers_bytes" => 93_124.0 * KIB, "swap_free_bytes" => 120_112.0 * KIB,
    );
    assert!(
        !v.contains_key("mem_available_bytes"),
        "BusyBox has no available column"
    );
    let v = parse("free", "free", "openharmony-liteos-free.txt").expect("parse");
    expect!(v, "mem_total_bytes" => 2_819_652.0, "mem_free_bytes" => 65_184.0);
    assert!(!v.contains_key("swap_used_pct"), "no swap: no percentage");
    let v = parse("free", "free", "openharmony-liteos-free-k.txt").expect("parse");
    expect!(v, "mem_total_bytes" => 2753.0 * KIB);
}

#[test]
fn uptime_linux_busybox_bsd_solaris_aix() {
    let v = parse("uptime", "uptime", "jc-ubuntu1804.txt").expect("parse");
    expect!(v, "uptime_seconds" => 2.0 * 86_400.0 + 19.0 * 3600.0 + 32.0 * 60.0, "users" => 2.0, "load1" => 0.0, "load15" => 0.0);
    let v = parse("uptime", "uptime", "jc-0-user-1-day.txt").expect("parse");
    expect!(v, "uptime_seconds" => 86_400.0 + 23.0 * 3600.0 + 12.0 * 60.0, "users" => 0.0, "load1" => 3.94, "load5" => 4.43, "load15" => 2.75);
    let v = parse("uptime", "uptime", "busybox-usage-example.txt").expect("parse");
    expect!(v, "uptime_seconds" => 2.0 * 3600.0 + 30.0 * 60.0, "load1" => 0.09, "load5" => 0.04);
    assert!(!v.contains_key("users"));
    let v = parse("uptime", "uptime", "jc-busybox-no-users.txt").expect("parse");
    expect!(v, "uptime_seconds" => 180.0);
    let v = parse("uptime", "uptime", "jc-osx10146.txt").expect("parse");
    expect!(v, "uptime_seconds" => 20.0 * 86_400.0 + 19.0 * 3600.0 + 45.0 * 60.0, "users" => 8.0, "load1" => 1.63, "load5" => 0.65, "load15" => 0.44);
    let v = parse("uptime", "uptime", "jc-osx10116.txt").expect("parse");
    expect!(v, "uptime_seconds" => 180.0, "load15" => 3.53);
    let v = parse("uptime", "uptime", "facter2-uptime-spec-20.txt").expect("parse");
    expect!(v, "uptime_seconds" => 174.0 * 86_400.0 + 16.0 * 3600.0, "users" => 0.0, "load1" => 0.05);
    let v = parse("uptime", "uptime", "facter2-uptime-spec-16.txt").expect("parse");
    expect!(v, "uptime_seconds" => 25.0 * 86_400.0 + 27.0 * 60.0, "users" => 2.0);
    let v = parse("uptime", "uptime", "facter2-uptime-spec-17.txt").expect("parse");
    expect!(v, "uptime_seconds" => 86_400.0 + 39.0 * 60.0, "load15" => 1.80);
    let v = parse("uptime", "uptime", "facter2-uptime-spec-32.txt").expect("parse");
    expect!(v, "uptime_seconds" => 86_400.0 + 7.0 * 3600.0 + 26.0 * 60.0, "users" => 1.0);
    let v = parse("uptime", "w", "jc-centos77-w.txt").expect("parse");
    expect!(v, "uptime_seconds" => 16.0 * 3600.0 + 3.0 * 60.0, "users" => 2.0, "load15" => 0.05);
}

#[test]
fn proc_files() {
    let v = parse(
        "proc_loadavg",
        "proc-loadavg",
        "sysstat-testsuite-root1.txt",
    )
    .expect("parse");
    expect!(v, "load1" => 3.16, "load5" => 3.24, "load15" => 3.43, "procs_running" => 4.0, "procs_total" => 956.0);
    let v = parse("proc_loadavg", "proc-loadavg", "facter.txt").expect("parse");
    expect!(v, "load5" => 0.03, "procs_total" => 165.0);
    let v = parse("proc_uptime", "proc-uptime", "jc-linux-proc-uptime.txt").expect("parse");
    expect!(v, "uptime_seconds" => 46_901.13, "idle_seconds" => 46_856.66);
    let v = parse("proc_uptime", "proc-uptime", "sysstat-testsuite-root1.txt").expect("parse");
    expect!(v, "uptime_seconds" => 7192.55);
}

#[test]
fn proc_meminfo_modern_and_old_kernels() {
    let path = corpus().join("proc-meminfo/jc-linux-proc-meminfo.txt");
    let text = std::fs::read_to_string(&path).expect("file");
    let field = |key: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{key}:")))
            .expect("field");
        line.split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .expect("number")
    };
    let v = parse("proc_meminfo", "proc-meminfo", "jc-linux-proc-meminfo.txt").expect("parse");
    expect!(v,
        "mem_total_bytes" => field("MemTotal") * KIB,
        "mem_available_bytes" => field("MemAvailable") * KIB,
        "meminfo_active_anon" => field("Active(anon)") * KIB,
        "meminfo_huge_pages_total" => field("HugePages_Total"),
        "swap_used_bytes" => (field("SwapTotal") - field("SwapFree")) * KIB,
    );
    // Before 3.14 there is no MemAvailable: free + buffers + cached.
    let old = std::fs::read_to_string(corpus().join("proc-meminfo/facter2-linux-old-kernel.txt"))
        .expect("file");
    assert!(!old.contains("MemAvailable"));
    let v = parse(
        "proc_meminfo",
        "proc-meminfo",
        "facter2-linux-old-kernel.txt",
    )
    .expect("parse");
    let sum = num(&v, "meminfo_mem_free") + num(&v, "meminfo_buffers") + num(&v, "meminfo_cached");
    expect!(v, "mem_available_bytes" => sum);
    assert!(num(&v, "mem_used_pct") > 0.0 && num(&v, "mem_used_pct") < 100.0);
}

fn fs(values: &Values, name: &str, mount: &str) -> f64 {
    num(values, &format!("{name}{{mount=\"{mount}\"}}"))
}

#[test]
fn df_gnu_busybox_bsd_macos_aix() {
    // GNU, 1K blocks and -h.
    let v = parse("df", "df", "jc-ubuntu1804-df.txt").expect("parse");
    assert!(close(fs(&v, "fs_size_bytes", "/"), 20_508_240.0 * KIB));
    assert!(close(fs(&v, "fs_used_bytes", "/"), 5_748_028.0 * KIB));
    assert!(close(fs(&v, "fs_avail_bytes", "/"), 13_695_408.0 * KIB));
    assert!(close(fs(&v, "fs_used_pct", "/"), 30.0));
    assert!(close(fs(&v, "fs_used_pct", "/dev"), 0.0));
    let v = parse("df", "df", "jc-ubuntu1804-df-h.txt").expect("parse");
    assert!(close(fs(&v, "fs_size_bytes", "/"), 20.0 * GIB));
    assert!(close(fs(&v, "fs_used_bytes", "/run"), 1.2 * MIB));
    // GNU -PT with a long device name and a type column; `-` where n/a.
    let v = parse("df", "df", "jc-generic-df-long-filesystem.txt").expect("parse");
    assert!(close(fs(&v, "fs_size_bytes", "/"), 6_030_784.0 * KIB));
    assert!(!v.contains_key("fs_used_pct{mount=\"/proc\"}"));
    // BusyBox 1K-blocks and 512B-blocks.
    let v = parse("df", "df", "busybox-usage-example-df.txt").expect("parse");
    assert!(close(fs(&v, "fs_size_bytes", "/boot"), 64_216.0 * KIB));
    let v = parse("df", "df", "busybox-usage-example-df-posixly-correct.txt").expect("parse");
    assert!(close(fs(&v, "fs_used_bytes", "/"), 17_107_080.0 * 512.0));
    // macOS: 512-blocks with inodes, `Gi` sizes, names and mounts with spaces.
    let v = parse("df", "df", "ohai-darwin-df-i.txt").expect("parse");
    assert!(close(fs(&v, "fs_size_bytes", "/"), 488_555_536.0 * 512.0));
    assert!(close(fs(&v, "inodes_used", "/"), 39_276_054.0));
    assert!(close(fs(&v, "inodes_used_pct", "/"), 64.0));
    assert!(
        close(fs(&v, "fs_used_pct", "/mnt/vol"), 100.0),
        "map /etc/auto.direct"
    );
    let v = parse("df", "df", "jc-osx10146-df-h.txt").expect("parse");
    assert!(close(fs(&v, "fs_used_bytes", "/"), 144.0 * GIB));
    assert!(close(fs(&v, "fs_used_bytes", "/dev"), 334.0 * KIB));
    assert!(
        v.keys().any(|k| k.ends_with("/Macintosh HD\"}")),
        "mount point with a space"
    );
    // FreeBSD and OpenBSD.
    let v = parse("df", "df", "ohai-freebsd-df-iP.txt").expect("parse");
    assert!(close(fs(&v, "fs_avail_bytes", "/"), 9_069_632.0 * 512.0));
    assert!(close(fs(&v, "inodes_free", "/"), 790_750.0));
    let v = parse("df", "df", "facter-openbsd-df.txt").expect("parse");
    assert!(close(fs(&v, "fs_used_pct", "/usr"), 83.0));
    // AIX: 512-blocks, `-` placeholders for /proc.
    let v = parse("df", "df", "facter-aix-df.txt").expect("parse");
    assert!(close(fs(&v, "fs_size_bytes", "/"), 4_194_304.0 * 512.0));
    assert!(close(fs(&v, "fs_used_pct", "/var"), 1.0));
    assert!(!v.keys().any(|k| k.contains("/proc")));
    let v = parse("df", "df", "ohai-aix-df-Pk-wpar.txt").expect("parse");
    assert!(close(fs(&v, "fs_size_bytes", "/home"), 5_242_880.0 * KIB));
    // GNU -iP: inode counts, not bytes.
    let v = parse("df", "df", "ohai-linux-df-iP.txt").expect("parse");
    assert!(close(fs(&v, "inodes_total", "/"), 1_310_720.0));
    assert!(close(fs(&v, "inodes_used", "/"), 107_407.0));
    assert!(!v.keys().any(|k| k.starts_with("fs_used_bytes")));
}

#[test]
fn vmstat_linux_bsd_solaris_last_sample() {
    let v = parse("vmstat", "vmstat", "jc-centos77-vmstat.txt").expect("parse");
    expect!(v,
        "procs_running" => 2.0, "swap_used_bytes" => 0.0, "mem_free_bytes" => 2_794_468.0 * KIB,
        "mem_buffers_bytes" => 2108.0 * KIB, "mem_cache_bytes" => 741_208.0 * KIB,
        "interrupts_per_s" => 29.0, "context_switches_per_s" => 57.0,
        "cpu_idle_pct" => 99.0, "cpu_steal_pct" => 0.0,
    );
    // Several samples: the last one is the current second.
    let v = parse("vmstat", "vmstat", "perf-tools-old-vmstat-1.txt").expect("parse");
    let text =
        std::fs::read_to_string(corpus().join("vmstat/perf-tools-old-vmstat-1.txt")).expect("file");
    let last: Vec<f64> = text
        .lines()
        .last()
        .expect("row")
        .split_whitespace()
        .map(|n| n.parse().expect("n"))
        .collect();
    expect!(v, "mem_free_bytes" => last[3] * KIB, "cpu_user_pct" => last[12], "cpu_system_pct" => last[13], "cpu_idle_pct" => last[14]);
    assert!(
        !v.contains_key("cpu_steal_pct"),
        "old procs has no st column"
    );
    // -t: the timestamp columns are not values.
    let v = parse("vmstat", "vmstat", "jc-centos77-vmstat-at-5-10.txt").expect("parse");
    let text = std::fs::read_to_string(corpus().join("vmstat/jc-centos77-vmstat-at-5-10.txt"))
        .expect("file");
    let last: Vec<&str> = text
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .expect("row")
        .split_whitespace()
        .collect();
    expect!(v, "mem_active_bytes" => last[5].parse::<f64>().expect("n") * KIB, "cpu_steal_pct" => last[16].parse::<f64>().expect("n"));
    // FreeBSD: `sy` is syscalls under faults and system time under cpu.
    let v = parse("vmstat", "vmstat", "facter2-freebsd-vmstat.txt").expect("parse");
    expect!(v,
        "procs_running" => 1.0, "mem_active_virtual_bytes" => 207_600.0 * KIB, "mem_free_bytes" => 656_640.0 * KIB,
        "page_faults_per_s" => 10.0, "interrupts_per_s" => 51.0, "syscalls_per_s" => 164.0,
        "context_switches_per_s" => 257.0, "cpu_system_pct" => 1.0, "cpu_idle_pct" => 99.0,
    );
    let v = parse("vmstat", "vmstat", "facter2-openbsd-vmstat.txt").expect("parse");
    expect!(v, "interrupts_per_s" => 3.0, "syscalls_per_s" => 90.0, "cpu_idle_pct" => 100.0);
    // Solaris: kthr, swap and free in KiB, disks skipped.
    let v = parse("vmstat", "vmstat", "facter2-solaris-vmstat.txt").expect("parse");
    expect!(v,
        "swap_avail_bytes" => 1_154_552.0 * KIB, "mem_free_bytes" => 476_224.0 * KIB,
        "page_faults_per_s" => 19.0, "interrupts_per_s" => 460.0, "syscalls_per_s" => 294.0, "cpu_user_pct" => 1.0,
    );
}

fn text(values: &Values, name: &str) -> String {
    match values.get(name) {
        Some(Value::Text(t)) => t.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

/// Column `i` of every row after the header, as numbers.
fn column(dir: &str, file: &str, i: usize) -> Vec<f64> {
    let text = std::fs::read_to_string(corpus().join(dir).join(file)).expect("file");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split_whitespace()
                .nth(i)
                .and_then(|n| n.parse().ok())
                .expect("number")
        })
        .collect()
}

#[test]
fn ps_linux_macos_custom_busybox() {
    for file in ["jc-centos77-ps-axu.txt", "jc-osx10146-ps-axu.txt"] {
        let v = parse("ps", "ps", file).expect("parse");
        let cpu = column("ps", file, 2);
        let rss = column("ps", file, 5);
        let top = cpu.iter().copied().fold(0.0, f64::max);
        expect!(v,
            "procs_total" => cpu.len() as f64,
            "cpu_pct_sum" => cpu.iter().sum::<f64>(),
            "top_cpu_pct" => top,
            "rss_bytes_sum" => rss.iter().sum::<f64>() * KIB,
        );
    }
    let v = parse("ps", "ps", "jc-centos77-ps-axu.txt").expect("parse");
    expect!(v, "procs_running" => 3.0, "procs_zombie" => 0.0, "top_mem_pct" => 0.7);
    assert_eq!(text(&v, "top_mem_process"), "python2");
    let v = parse("ps", "ps", "jc-osx10116-ps-axu.txt").expect("parse");
    assert_eq!(text(&v, "top_cpu_process"), "codesign");
    expect!(v, "top_cpu_pct" => 47.8, "procs_disk_sleep" => 16.0);
    // ps -ef: no state or usage columns, just the count.
    let v = parse("ps", "ps", "jc-ubuntu1804-ps-ef.txt").expect("parse");
    assert_eq!(v.len(), 1);
    expect!(v, "procs_total" => 172.0);
    // axwo with two COMMAND columns: the first is the name.
    let v = parse("ps", "ps", "monitoring-plugins-ps-axwo-debian.txt").expect("parse");
    assert_eq!(text(&v, "top_cpu_process"), "avahi-daemon");
    expect!(v, "top_cpu_pct" => 3.5, "procs_total" => 218.0);
    let v = parse("ps", "ps", "monitoring-plugins-ps-axwo-darwin.txt").expect("parse");
    expect!(v, "procs_zombie" => 1.0, "top_rss_bytes" => column("ps", "monitoring-plugins-ps-axwo-darwin.txt", 5).iter().copied().fold(0.0, f64::max) * KIB);
    // BusyBox: PID Uid Gid State Command.
    let v = parse("ps", "ps", "busybox-usage-example-ps.txt").expect("parse");
    expect!(v, "procs_total" => 9.0, "procs_running" => 1.0, "procs_sleeping" => 8.0);
}

#[test]
fn proc_stat_and_net_dev_counters() {
    let v = parse("proc_stat", "proc-stat", "jc-linux-proc-stat.txt").expect("parse");
    expect!(v,
        "cpu_user_seconds_total" => 60.02, "cpu_idle_seconds_total" => 34_444.36, "cpu_softirq_seconds_total" => 11.74,
        "cpu_system_seconds_total{cpu=\"1\"}" => 40.31, "cpu_count" => 2.0,
        "context_switches_total" => 4_622_716.0, "boot_time_seconds" => 1_662_154_781.0, "interrupts_total" => 2_496_709.0,
    );
    let v = parse("proc_stat", "proc-stat", "sysstat-testsuite-root1.txt").expect("parse");
    expect!(v, "cpu_nice_seconds_total" => 25_787.01, "cpu_iowait_seconds_total{cpu=\"0\"}" => 42.35);

    let v = parse("proc_net_dev", "proc-net-dev", "prometheus-procfs.txt").expect("parse");
    expect!(v,
        "net_rx_bytes_total{iface=\"vethf345468\"}" => 648.0, "net_tx_packets_total{iface=\"vethf345468\"}" => 5.0,
        "net_rx_bytes_total{iface=\"eth0\"}" => 874_354_587.0, "net_tx_bytes_total{iface=\"eth0\"}" => 563_352_563.0,
    );
    let v = parse(
        "proc_net_dev",
        "proc-net-dev",
        "sysstat-testsuite-root1.txt",
    )
    .expect("parse");
    expect!(v,
        "net_rx_bytes_total{iface=\"virbr0-nic\"}" => 0.0, "net_rx_bytes_total{iface=\"enp6s0\"}" => 205_916_976.0,
        "net_tx_bytes_total{iface=\"enp6s0\"}" => 10_811_120.0,
    );
}

#[test]
fn prometheus_every_finite_sample_becomes_a_variable() {
    let mut files: Vec<String> = std::fs::read_dir(corpus().join("prometheus"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(corpus().join("prometheus").join(&file)).expect("file");
        // Distinct series (the windows exporter exposes 14 twice).
        let series: std::collections::HashSet<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter(|l| {
                !(l.ends_with("Inf")
                    || l.ends_with("NaN")
                    || l.contains("Inf ")
                    || l.contains("NaN "))
            })
            .map(|l| match l.rfind('}') {
                Some(end) => &l[..=end],
                None => l.split_whitespace().next().unwrap_or(l),
            })
            .collect();
        let v = parse("prometheus", "prometheus", &file).expect("parse");
        assert_eq!(v.len(), series.len(), "{file}: every series, once");
    }
    let v = parse(
        "prometheus",
        "prometheus",
        "netdata-godplugin-coredns-1.7.0-some-load.txt",
    )
    .expect("parse");
    expect!(v, "coredns_dns_requests_total{family=\"1\",proto=\"udp\",server=\"dns://:53\",type=\"A\",zone=\"coredns.io.\"}" => 2.0);
    let v = parse(
        "prometheus",
        "prometheus",
        "node_exporter-textfile-histogram.txt",
    )
    .expect("parse");
    expect!(v, "prometheus_tsdb_compaction_chunk_range_bucket{le=\"+Inf\"}" => 1_691_853.0);
}

#[test]
fn influx_fields_tags_and_types() {
    let v = parse("influx", "influx", "telegraf-readme-processes-example.txt").expect("parse");
    expect!(v, "processes_blocked" => 8.0, "processes_total_threads" => 687.0, "processes_sleeping" => 265.0);
    assert_eq!(v.len(), 9);
    let v = parse("influx", "influx", "telegraf-readme-disk-example.txt").expect("parse");
    expect!(v, "disk_total{fstype=\"hfs\",mode=\"ro\",path=\"/\"}" => 499_088_621_568.0, "disk_used_percent{fstype=\"devfs\",mode=\"rw\",path=\"/dev\"}" => 100.0);
    let v = parse(
        "influx",
        "influx",
        "telegraf-temp-expected-no-timestamp.txt",
    )
    .expect("parse");
    expect!(v, "temp_temp{sensor=\"nvme_sensor_2\"}" => 38.85);
    let v = parse("influx", "influx", "telegraf-influxdb-1.11.5-stats.txt").expect("parse");
    assert_eq!(
        text(
            &v,
            "influxdb_build_version{url=\"http://127.0.0.1:36225/endpoint\"}"
        ),
        "v1.11.5"
    );
    expect!(v, "influxdb_system_uptime{url=\"http://127.0.0.1:36225/endpoint\"}" => 21_059.0);
}

#[test]
fn nagios_status_perfdata_thresholds_and_long_output() {
    let v = parse("nagios", "nagios", "icinga2-docs-check_ping.txt").expect("parse");
    expect!(v,
        "status" => 0.0, "perf{label=\"rta\"}" => 0.012_445, "perf_warn{label=\"rta\"}" => 0.1,
        "perf_crit{label=\"rta\"}" => 0.2, "perf{label=\"pl\"}" => 0.0, "perf_crit{label=\"pl\"}" => 15.0,
    );
    assert_eq!(text(&v, "perf_uom{label=\"rta\"}"), "ms");
    assert_eq!(
        text(&v, "status_text"),
        "PING OK - Packet loss = 0%, RTA = 12.44 ms"
    );
    let v = parse("nagios", "nagios", "telegraf-check_load-ranges.txt").expect("parse");
    expect!(v, "perf{label=\"load15\"}" => 0.05, "perf_warn{label=\"load5\"}" => 3.0);
    assert_eq!(text(&v, "perf_warn_range{label=\"load1\"}"), "~:4");
    assert_eq!(text(&v, "perf_crit_range{label=\"load1\"}"), "@0:6");
    // The second perfdata block of long output, over several lines.
    let v = parse(
        "nagios",
        "nagios",
        "telegraf-nagios-pluginapi-disk-multiline.txt",
    )
    .expect("parse");
    expect!(v,
        "perf{label=\"/\"}" => 2643.0 * MIB, "perf{label=\"/boot\"}" => 68.0 * MIB,
        "perf{label=\"/home\"}" => 69_357.0 * MIB, "perf_max{label=\"/var/log\"}" => 980.0 * MIB,
    );
    let v = parse(
        "nagios",
        "nagios",
        "monitoring-plugins-check_procs-elapsed-critical.txt",
    )
    .expect("parse");
    expect!(v, "status" => 2.0, "perf{label=\"procs_crit\"}" => 10.0);

    // The exit code decides the status when there is one.
    let output =
        std::fs::read_to_string(corpus().join("nagios/monitoring-plugins-check_procs-ok.txt"))
            .expect("file");
    let nagios = presets::find("nagios").expect("preset");
    let v = nagios
        .parse(Input {
            command: "check_procs",
            output: &output,
            exit_code: Some(1),
        })
        .expect("parse");
    expect!(v, "status" => 1.0, "perf{label=\"procs\"}" => 95.0);
    let e = nagios
        .parse(Input {
            command: "check_procs",
            output: &output,
            exit_code: Some(127),
        })
        .expect_err("127");
    assert_eq!(
        e.to_string(),
        "exit code 127 is not a Nagios status (0 to 3)"
    );
}

#[test]
fn nginx_redis_vcgencmd() {
    let v = parse("nginx", "nginx-status", "telegraf-nginx.txt").expect("parse");
    expect!(v,
        "nginx_active_connections" => 585.0, "nginx_accepts_total" => 85_340.0, "nginx_requests_total" => 35_085.0,
        "nginx_reading" => 4.0, "nginx_writing" => 135.0, "nginx_waiting" => 446.0,
    );
    let v = parse("nginx", "nginx-status", "telegraf-tengine.txt").expect("parse");
    expect!(v, "nginx_handled_total" => 8533.0, "nginx_request_time_total" => 1_546_565.864);

    let v = parse(
        "redis",
        "redis-info",
        "netdata-godplugin-redis-6.0.9-info-all.txt",
    )
    .expect("parse");
    let text_of = |field: &str| {
        let file = std::fs::read_to_string(
            corpus().join("redis-info/netdata-godplugin-redis-6.0.9-info-all.txt"),
        )
        .expect("file");
        file.lines()
            .find_map(|l| {
                l.strip_prefix(&format!("{field}:"))
                    .map(|s| s.trim().to_owned())
            })
            .expect("field")
    };
    expect!(v,
        "connected_clients" => text_of("connected_clients").parse::<f64>().expect("n"),
        "used_memory" => text_of("used_memory").parse::<f64>().expect("n"),
        "info_unreadable_lines" => 0.0,
    );
    assert_eq!(text(&v, "redis_version"), "6.0.9");
    let v = parse(
        "redis",
        "redis-info",
        "netdata-godplugin-pika-3.4.0-info-all.txt",
    )
    .expect("parse");
    // Pika's binlog line and its five "db0 Strings_keys=0, expires=0" lines.
    expect!(v, "info_unreadable_lines" => 6.0, "uptime_in_seconds" => 72_089.0);
    let v = parse("redis", "redis-info", "telegraf-redis6-darwin.txt").expect("parse");
    expect!(v, "info_unreadable_lines" => 1.0);

    let v = parse("vcgencmd", "vcgencmd", "archey4-measure_temp.txt").expect("parse");
    expect!(v, "temp_celsius" => 42.8);
}

#[test]
fn top_procps_ng_old_procps_and_busybox() {
    // procps-ng scales memory by the label: `MiB Mem :   3903.6 total`.
    let v = parse("top", "top", "jc-ubuntu2010-top-b-n1.txt").expect("parse");
    expect!(v,
        "tasks_total" => 245.0, "tasks_sleeping" => 244.0, "cpu_user_pct" => 3.1,
        "cpu_idle_pct" => 93.8, "mem_total_bytes" => 3903.6 * MIB,
        "mem_buff_cache_bytes" => 1204.7 * MIB, "mem_available_bytes" => 3345.3 * MIB,
        "swap_total_bytes" => 3903.0 * MIB, "load1" => 0.55, "uptime_seconds" => 120.0, "users" => 2.0,
    );
    // Three iterations: the last one is read.
    let v = parse("top", "top", "jc-centos77-top-b-n3.txt").expect("parse");
    expect!(v,
        "cpu_idle_pct" => 99.3, "cpu_system_pct" => 0.7, "load1" => 0.21,
        "mem_total_bytes" => 3_861_332.0 * KIB, "tasks_sleeping" => 110.0,
    );
    let v = parse("top", "top", "jc-centos77-top-b-n1-gib.txt").expect("parse");
    expect!(v, "mem_total_bytes" => 3.7 * GIB, "swap_free_bytes" => 2.0 * GIB);
    // procps 3.2: `15.7%us`, `k` on the numbers, `cached` on the Swap line.
    let v = parse("top", "top", "perf-tools-old-procps-top.txt").expect("parse");
    expect!(v,
        "cpu_user_pct" => 15.7, "cpu_system_pct" => 34.9, "cpu_steal_pct" => 0.2,
        "mem_total_bytes" => 7_629_464.0 * KIB, "mem_buffers_bytes" => 1_376_492.0 * KIB,
        "mem_cached_bytes" => 5_432_356.0 * KIB, "tasks_zombie" => 1.0,
        "uptime_seconds" => (78.0 * 24.0 * 60.0 + 15.0 * 60.0 + 41.0) * 60.0,
    );
    // BusyBox: no total, so used + free; tasks from `Load average:`.
    let v = parse("top", "top", "azure-docs-busybox-top-appservice.txt").expect("parse");
    expect!(v,
        "mem_used_bytes" => 1_578_756.0 * KIB, "mem_total_bytes" => (1_578_756.0 + 127_032.0) * KIB,
        "mem_shared_bytes" => 8744.0 * KIB, "cpu_idle_pct" => 92.0, "cpu_used_pct" => 8.0,
        "tasks_running" => 4.0, "tasks_total" => 765.0, "load15" => 0.08,
    );
    let err = readout_parse::presets::find("top")
        .expect("top")
        .parse(Input {
            command: "top -b -n 1",
            output: "top - 10:00:00 up 1 day,  1:02,  1 user,  load average: 0.00, 0.01, 0.05\nTasks: many total\n",
            exit_code: None,
        })
        .expect_err("unreadable tasks");
    assert_eq!(err.to_string(), "line 2: cannot read \"many\" as a count");
}

/// A variable with one label: `net_mtu{iface="em0"}`.
fn at(values: &Values, name: &str, key: &str, value: &str) -> f64 {
    num(values, &format!("{name}{{{key}=\"{value}\"}}"))
}

#[test]
fn netstat_linux_bsd_macos() {
    // Linux net-tools: one row per interface, `Flg` says up.
    let v = parse("netstat_i", "netstat-i", "jc-centos77-netstat-i.txt").expect("parse");
    let ens33 = |name| at(&v, name, "iface", "ens33");
    assert_eq!(ens33("net_rx_packets_total"), 476.0);
    assert_eq!(ens33("net_tx_packets_total"), 312.0);
    assert_eq!(ens33("net_mtu"), 1500.0);
    assert_eq!(ens33("net_up"), 1.0);
    assert_eq!(at(&v, "net_mtu", "iface", "lo"), 65536.0);
    let v = parse("netstat_i", "netstat-i", "jc-ubuntu1804-netstat-i.txt").expect("parse");
    assert_eq!(at(&v, "net_rx_packets_total", "iface", "lo"), 94.0);
    assert_eq!(at(&v, "net_tx_overruns_total", "iface", "ens33"), 0.0);
    // FreeBSD: the `<Link#1>` row, not the per-address rows.
    let v = parse("netstat_i", "netstat-i", "jc-freebsd12-netstat-ib.txt").expect("parse");
    let em0 = |name| at(&v, name, "iface", "em0");
    assert_eq!(em0("net_rx_packets_total"), 372_717.0);
    assert_eq!(em0("net_rx_bytes_total"), 372_538_087.0);
    assert_eq!(em0("net_tx_bytes_total"), 198_573_339.0);
    assert_eq!(em0("net_rx_dropped_total"), 0.0);
    let v = parse("netstat_i", "netstat-i", "ohai-freebsd-netstat-ibdn-2.txt").expect("parse");
    assert_eq!(
        at(&v, "net_rx_bytes_total", "iface", "vtnet0"),
        15_901_987.0
    );
    assert_eq!(at(&v, "net_tx_dropped_total", "iface", "vtnet0"), 0.0);
    assert_eq!(at(&v, "net_mtu", "iface", "lo1"), 16384.0);
    // macOS: an empty Address cell, `*` for down, `Oerrs` of 721.
    let v = parse("netstat_i", "netstat-i", "jc-osx10146-netstat-i.txt").expect("parse");
    assert_eq!(at(&v, "net_rx_packets_total", "iface", "lo0"), 1_580_150.0);
    assert_eq!(at(&v, "net_tx_errors_total", "iface", "en5"), 721.0);
    assert_eq!(at(&v, "net_tx_packets_total", "iface", "en0"), 26_448_755.0);
    assert_eq!(at(&v, "net_up", "iface", "ap1"), 0.0);
    assert_eq!(at(&v, "net_up", "iface", "en0"), 1.0);
    // `-idlbn`: the link row of lo0 leaves the `Drop` cell off.
    let v = parse("netstat_i", "netstat-i", "ohai-darwin-netstat-idlbn.txt").expect("parse");
    assert_eq!(
        at(&v, "net_tx_bytes_total", "iface", "en1"),
        18_228_234_970.0
    );
    assert_eq!(at(&v, "net_rx_bytes_total", "iface", "lo0"), 25_774_844.0);
    assert!(!v.contains_key("net_tx_dropped_total{iface=\"lo0\"}"));

    let err = readout_parse::presets::find("netstat_i")
        .expect("preset")
        .parse(Input {
            command: "netstat -i",
            output: "Iface MTU RX-OK RX-ERR Flg\neth0 1500 12 x BMRU\n",
            exit_code: None,
        })
        .expect_err("bad counter");
    assert_eq!(
        err.to_string(),
        "line 2: cannot read \"x\" as RX-ERR of eth0"
    );
}

#[test]
fn iostat_default_extended_human_compact_last_report() {
    let v = parse("iostat", "iostat", "jc-ubuntu2010-iostat.txt").expect("parse");
    expect!(v,
        "cpu_user_pct" => 0.40, "cpu_idle_pct" => 99.07,
        "disk_transfers_per_second{device=\"dm-0\"}" => 9.78,
        "disk_read_bytes_per_second{device=\"dm-0\"}" => 101.69 * KIB,
        "disk_written_bytes{device=\"dm-0\"}" => 693_624.0 * KIB,
    );
    let v = parse("iostat", "iostat", "jc-ubuntu1804-iostat-m.txt").expect("parse");
    expect!(v, "disk_transfers_per_second{device=\"loop1\"}" => 13.06, "disk_read_bytes{device=\"loop1\"}" => 9.0 * MIB);
    // Old `-x` columns: sectors, milliseconds.
    let v = parse("iostat", "iostat", "perf-tools-iostat-x-1-old.txt").expect("parse");
    expect!(v,
        "cpu_iowait_pct" => 32.99,
        "disk_written_bytes_per_second{device=\"xvdap1\"}" => 19_968.0 * KIB,
        "disk_request_bytes{device=\"xvdap1\"}" => 256.0 * 512.0,
        "disk_queue_length{device=\"xvdap1\"}" => 52.17,
        "disk_await_seconds{device=\"xvdap1\"}" => 0.18438,
        "disk_util_pct{device=\"xvdap1\"}" => 36.4,
    );
    let v = parse("iostat", "iostat", "jc-centos77-iostat-x.txt").expect("parse");
    expect!(v, "disk_reads_per_second{device=\"sda\"}" => 0.13, "disk_service_time_seconds{device=\"sda\"}" => 0.00052);
    // New `-x` columns, `-m`.
    let v = parse("iostat", "iostat", "jc-ubuntu2010-iostat-mx.txt").expect("parse");
    expect!(v,
        "disk_read_bytes_per_second{device=\"sda\"}" => 0.10 * MIB,
        "disk_write_merged_pct{device=\"sda\"}" => 61.04,
        "disk_write_request_bytes{device=\"sda\"}" => 45.83 * KIB,
        "disk_util_pct{device=\"sda\"}" => 0.41,
    );
    // Device last: compact `-x` and `-h` with suffixed sizes.
    let v = parse("iostat", "iostat", "sysstat-testsuite-iostat-compact.txt").expect("parse");
    expect!(v, "disk_read_bytes_per_second{device=\"sdq\"}" => 7.86 * KIB, "disk_discards_per_second{device=\"sdq\"}" => 3.21);
    let v = parse("iostat", "iostat", "sysstat-testsuite-iostat-h.txt").expect("parse");
    expect!(v,
        "disk_read_bytes_per_second{device=\"sdq\"}" => 222.1 * KIB,
        "disk_read_bytes{device=\"sdq\"}" => 1.5 * GIB,
        "disk_discarded_bytes{device=\"sdq\"}" => 177.1 * MIB,
    );
    // Several reports: the last one.
    let v = parse("iostat", "iostat", "jc-centos77-iostat-1.txt").expect("parse");
    expect!(v, "cpu_idle_pct" => 100.0, "disk_read_bytes{device=\"sda\"}" => 0.0);

    let iostat = readout_parse::presets::find("iostat").expect("preset");
    // A long device name alone on its line, its values on the next.
    let v = iostat
        .parse(Input {
            command: "iostat -x",
            output: "Device:  r/s  %util\nVolGroup00-LogVol00\n  1.5  3.0\nsda  2.0  4.0\n",
            exit_code: None,
        })
        .expect("wrapped device");
    expect!(v, "disk_reads_per_second{device=\"VolGroup00-LogVol00\"}" => 1.5, "disk_util_pct{device=\"sda\"}" => 4.0);
    let err = iostat
        .parse(Input {
            command: "iostat",
            output: "              disk0       cpu    load average\n    KB/t  tps  MB/s  us sy id   1m   5m   15m\n   27.21   11  0.29   5  3 92  1.43 1.59 1.68\n",
            exit_code: None,
        })
        .expect_err("BSD iostat");
    assert_eq!(
        err.to_string(),
        "line 1: this is BSD or macOS iostat; the iostat preset reads sysstat's (Linux)"
    );
}

fn sensor(values: &Values, name: &str, chip: &str, sensor: &str) -> f64 {
    num(
        values,
        &format!("{name}{{chip=\"{chip}\",sensor=\"{sensor}\"}}"),
    )
}

#[test]
fn sensors_human_and_raw() {
    let v = parse("sensors", "sensors", "lm-sensors-config-dfi-it8720.txt").expect("parse");
    let chip = "it8720-isa-0a10";
    assert_eq!(sensor(&v, "voltage_volts", chip, "+12V"), 11.71);
    assert_eq!(sensor(&v, "voltage_volts", chip, "DRAM Voltage"), 1.65);
    assert_eq!(sensor(&v, "fan_rpm", chip, "PWM fan"), 4560.0);
    assert_eq!(sensor(&v, "temp_celsius", chip, "CPU Temp"), 58.0);
    assert_eq!(num(&v, "temp_max_celsius"), 59.0);
    let v = parse("sensors", "sensors", "lm-sensors-readme-thinkpad.txt").expect("parse");
    assert_eq!(sensor(&v, "fan_rpm", "thinkpad-isa-0000", "fan1"), 0.0);
    // `-u`: `_input` is the reading; limits are not.
    let v = parse("sensors", "sensors", "netdata-sensors-Au-amd-epyc.txt").expect("parse");
    assert_eq!(sensor(&v, "temp_celsius", "k10temp-pci-00cb", "Tctl"), 57.5);
    assert_eq!(
        sensor(&v, "temp_celsius", "nvme-pci-6100", "Composite"),
        48.85
    );
    assert_eq!(
        sensor(&v, "temp_celsius", "bnxt_en-pci-6201", "temp1"),
        81.0
    );
    assert_eq!(num(&v, "temp_max_celsius"), 81.0);
    let v = parse("sensors", "sensors", "netdata-sensors-Au-mixed.txt").expect("parse");
    assert_eq!(sensor(&v, "fan_rpm", "asus-isa-0000", "gpu_fan"), 6600.0);
    assert_eq!(sensor(&v, "power_watts", "amdgpu-pci-6700", "PPT"), 8.144);
    assert_eq!(sensor(&v, "voltage_volts", "BAT0-acpi-0", "in0"), 17.365);
    assert_eq!(
        sensor(
            &v,
            "current_amperes",
            "ucsi_source_psy_USBC000:001-isa-0000",
            "curr1"
        ),
        0.0
    );
    let v = parse("sensors", "sensors", "telegraf-sensors-Au.txt").expect("parse");
    assert_eq!(
        sensor(&v, "temp_celsius", "coretemp-isa-0001", "Core 1"),
        70.0
    );
    assert_eq!(
        sensor(&v, "power_watts", "power_meter-acpi-0", "power1"),
        0.0
    );

    let sensors = readout_parse::presets::find("sensors").expect("preset");
    let v = sensors
        .parse(Input {
            command: "sensors -f",
            output: "coretemp-isa-0000\nAdapter: ISA adapter\nCore 0:  +113.0°F  (high = +176.0°F)\ntemp2:  N/A\n",
            exit_code: None,
        })
        .expect("fahrenheit");
    expect!(v, "temp_celsius{chip=\"coretemp-isa-0000\",sensor=\"Core 0\"}" => 45.0);
    assert_eq!(v.len(), 2, "{v:?}");
    let err = sensors
        .parse(Input {
            command: "sensors",
            output: "coretemp-isa-0000\nCore 0:  +4.5.0°C\n",
            exit_code: None,
        })
        .expect_err("bad number");
    assert_eq!(
        err.to_string(),
        "line 2: cannot read \"+4.5.0°C\" as a reading of Core 0"
    );
}

#[test]
fn docker_stats_linux_windows_json_custom() {
    let v = parse(
        "docker_stats",
        "docker-stats",
        "docker-cli-docs-linux-two.txt",
    )
    .expect("parse");
    let c = |name| at(&v, name, "container", "awesome_brattain");
    assert!(close(c("docker_cpu_pct"), 0.28));
    assert!(close(c("docker_mem_used_bytes"), 5.629 * MIB));
    assert!(close(c("docker_mem_limit_bytes"), 1.952 * GIB));
    assert!(close(c("docker_net_rx_bytes"), 916.0));
    assert!(close(c("docker_block_read_bytes"), 147e3));
    assert_eq!(c("docker_pids"), 9.0);
    assert_eq!(num(&v, "docker_containers"), 2.0);
    let v = parse(
        "docker_stats",
        "docker-stats",
        "genieparser-docker-stats-no-stream.txt",
    )
    .expect("parse");
    let c = |name| at(&v, name, "container", "looking_good");
    assert!(close(c("docker_net_rx_bytes"), 1.16e9));
    assert!(close(c("docker_net_tx_bytes"), 837e6));
    assert!(close(c("docker_mem_pct"), 11.71));
    assert_eq!(num(&v, "docker_containers"), 4.0);
    // Windows: a private working set and sizes with a space before the unit.
    let v = parse(
        "docker_stats",
        "docker-stats",
        "docker-cli-docs-windows.txt",
    )
    .expect("parse");
    let c = |name| at(&v, name, "container", "mad_wilson");
    assert!(close(c("docker_mem_used_bytes"), 40.09 * MIB));
    assert!(close(c("docker_block_write_bytes"), 20.1e6));
    assert!(close(c("docker_cpu_pct"), 9.59));
    // `{{json .}}` and a custom table keyed by CONTAINER.
    let v = parse(
        "docker_stats",
        "docker-stats",
        "docker-cli-docs-json-no-stream.txt",
    )
    .expect("parse");
    let c = |name| at(&v, name, "container", "nginx");
    assert!(close(c("docker_block_write_bytes"), 13.3e3));
    assert!(close(c("docker_mem_used_bytes"), 2.352 * MIB));
    assert_eq!(c("docker_pids"), 2.0);
    let v = parse(
        "docker_stats",
        "docker-stats",
        "docker-cli-docs-table-format-all.txt",
    )
    .expect("parse");
    assert!(close(
        at(&v, "docker_mem_limit_bytes", "container", "5acfcb1b4fd1"),
        15.57 * GIB
    ));
    assert_eq!(num(&v, "docker_containers"), 4.0);

    let err = readout_parse::presets::find("docker_stats")
        .expect("preset")
        .parse(Input {
            command: "docker stats --no-stream",
            output: "NAME   CPU %   MEM USAGE / LIMIT\nweb   0.5%   12MiB\n",
            exit_code: None,
        })
        .expect_err("no limit");
    assert_eq!(
        err.to_string(),
        "line 2: expected \"A / B\" under MEM USAGE / LIMIT, found \"12MiB\""
    );
}
