//! The load: hosts running 15 common commands, whose outputs are real
//! files of `shared/corpus/`, sent as gzip cycles.
//!
//! Consecutive cycles of a host differ as real ones do: each is a variant
//! of the host's outputs with some numbers' last digit changed, so values
//! move and raw outputs are nearly, not exactly, alike.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use readout_proto::{AgentInfo, AllowedCommand, AllowlistReport, CommandResult, CycleRequest};

/// `(name, command line, corpus folder, files)`: the 15 data sources.
pub(crate) const COMMANDS: [(&str, &str, &str, &[&str]); 15] = [
    (
        "readout_free",
        "free",
        "free",
        &["jc-centos77-free.txt", "jc-ubuntu1804-free.txt"],
    ),
    (
        "readout_uptime",
        "uptime",
        "uptime",
        &["jc-centos77.txt", "jc-ubuntu1804.txt"],
    ),
    (
        "readout_df",
        "df -P",
        "df",
        &["jc-centos77-df.txt", "jc-ubuntu1804-df.txt"],
    ),
    (
        "readout_vmstat",
        "vmstat 1 2",
        "vmstat",
        &["jc-centos77-vmstat.txt", "jc-ubuntu1804-vmstat-1-long.txt"],
    ),
    (
        "readout_ps",
        "ps aux",
        "ps",
        &["jc-centos77-ps-axu.txt", "jc-ubuntu1804-ps-axu.txt"],
    ),
    (
        "readout_loadavg",
        "cat /proc/loadavg",
        "proc-loadavg",
        &["jc-linux-proc-loadavg.txt", "node_exporter.txt"],
    ),
    (
        "readout_meminfo",
        "cat /proc/meminfo",
        "proc-meminfo",
        &["jc-linux-proc-meminfo.txt", "facter-meminfo.txt"],
    ),
    (
        "readout_stat",
        "cat /proc/stat",
        "proc-stat",
        &["jc-linux-proc-stat.txt", "jc-linux-proc-stat2.txt"],
    ),
    (
        "readout_netdev",
        "cat /proc/net/dev",
        "proc-net-dev",
        &["jc-linux-proc-net-dev.txt", "prometheus-procfs.txt"],
    ),
    (
        "readout_top",
        "top -b -n 1 | head -n 5",
        "top",
        &["jc-centos77-top-b-n1-gib.txt", "jc-ubuntu2010-top-b-n1.txt"],
    ),
    (
        "readout_iostat",
        "iostat",
        "iostat",
        &["jc-centos77-iostat.txt", "jc-ubuntu1804-iostat.txt"],
    ),
    (
        "readout_netstat",
        "netstat -i",
        "netstat-i",
        &["jc-centos77-netstat-i.txt", "jc-ubuntu1804-netstat-i.txt"],
    ),
    (
        "readout_sensors",
        "sensors",
        "sensors",
        &[
            "netdata-sensors-Au-amd-epyc.txt",
            "lm-sensors-readme-thinkpad.txt",
        ],
    ),
    (
        "readout_uptime_s",
        "cat /proc/uptime",
        "proc-uptime",
        &["jc-linux-proc-uptime.txt", "sysstat-testsuite-root1.txt"],
    ),
    (
        "readout_vmstat_proc",
        "cat /proc/vmstat",
        "proc-vmstat",
        &["jc-linux-proc-vmstat.txt", "node_exporter.txt"],
    ),
];

/// Host profiles: which corpus file each command prints.
pub(crate) const PROFILES: usize = 2;
/// Variants of a profile's outputs; more than an hour of cycles, so no
/// two cycles of a host within an hour are the same.
pub(crate) const VARIANTS: usize = 64;

/// The allowlist every benchmark host reports.
pub(crate) fn allowlist() -> AllowlistReport {
    AllowlistReport {
        entries: COMMANDS
            .iter()
            .map(|(name, command, ..)| AllowedCommand {
                name: (*name).to_owned(),
                command: (*command).to_owned(),
            })
            .collect(),
        invalid: Vec::new(),
    }
}

/// Reads a file of the corpus; a missing file says which.
fn corpus_file(corpus: &Path, folder: &str, file: &str) -> anyhow::Result<String> {
    let path = corpus.join(folder).join(file);
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Changes the last digit of about a third of the numbers in `text`,
/// the same way for the same `seed`. Digits that are part of a name
/// (`eth0`, `dm-4`, `/run/user/1000`, `temp1`) stay: a real host does not
/// rename its interfaces, disks and sensors every minute, and each new name
/// would be a new series.
fn vary(text: &str, seed: u64) -> String {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        // xorshift64: cheap, repeatable, good enough to pick digits.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let last = (start..i).rev().find(|&j| bytes[j].is_ascii_digit());
        if let Some(last) = last
            && !in_name(bytes, start, i)
            && next() % 3 == 0
        {
            out[last] = b'0' + u8::try_from(next() % 10).unwrap_or(0);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether the number in `bytes[start..end]` belongs to a name: a letter,
/// `/` or `_` touches it, or a `-` joins it to a word.
fn in_name(bytes: &[u8], start: usize, end: usize) -> bool {
    let before = start.checked_sub(1).map(|j| bytes[j]);
    let after = bytes.get(end).copied();
    let joined = before == Some(b'-')
        && start
            .checked_sub(2)
            .is_some_and(|j| bytes[j].is_ascii_alphanumeric());
    before.is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'/')
        || after.is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        || joined
}

/// One variant of one profile: its outputs and the values they parse to.
#[derive(Debug)]
pub(crate) struct Variant {
    /// The cycle's JSON after `"started_at_ms":…,`, deflated on its own.
    pub(crate) deflated_rest: Vec<u8>,
    pub(crate) rest_crc: crc32fast::Hasher,
    pub(crate) rest_len: usize,
    pub(crate) raw_output_bytes: usize,
    pub(crate) values: usize,
}

/// The JSON every cycle starts with; the bench writes its own.
const HEAD_PLACEHOLDER: &str = r#"{"cycle_id":"","started_at_ms":0,"#;

pub(crate) fn variants(corpus: &Path) -> anyhow::Result<Vec<Vec<Variant>>> {
    let mut profiles = Vec::with_capacity(PROFILES);
    for profile in 0..PROFILES {
        let outputs: Vec<String> = COMMANDS
            .iter()
            .map(|(_, _, folder, files)| corpus_file(corpus, folder, files[profile % files.len()]))
            .collect::<anyhow::Result<_>>()?;
        let mut variants = Vec::with_capacity(VARIANTS);
        for v in 0..VARIANTS {
            let seed = (profile * VARIANTS + v) as u64 + 1;
            let texts: Vec<String> = outputs
                .iter()
                .enumerate()
                .map(|(i, text)| vary(text, seed * 31 + i as u64))
                .collect();
            variants.push(variant(&texts)?);
        }
        profiles.push(variants);
    }
    Ok(profiles)
}

fn variant(texts: &[String]) -> anyhow::Result<Variant> {
    let results = COMMANDS
        .iter()
        .zip(texts)
        .map(|((name, ..), text)| CommandResult {
            name: (*name).to_owned(),
            duration_ms: 12,
            exit_code: Some(0),
            signal: None,
            timed_out: false,
            truncated: false,
            output: text.as_bytes().to_vec(),
        })
        .collect();
    let cycle = CycleRequest {
        cycle_id: String::new(),
        started_at_ms: 0,
        duration_ms: 180,
        agent: AgentInfo {
            version: "bench".into(),
            hostname: "bench".into(),
            os: "linux".into(),
            arch: "x86_64".into(),
        },
        allowlist: allowlist(),
        results,
        rejected: Vec::new(),
        spool_dropped: 0,
    };
    let json = serde_json::to_string(&cycle)?;
    let rest = json
        .strip_prefix(HEAD_PLACEHOLDER)
        .context("the cycle's JSON no longer starts with its id and time")?;
    let mut deflate =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    deflate.write_all(rest.as_bytes())?;
    let mut rest_crc = crc32fast::Hasher::new();
    rest_crc.update(rest.as_bytes());
    let values = COMMANDS
        .iter()
        .zip(texts)
        .map(|((_, command, ..), text)| {
            readout_parse::presets::for_command(command)
                .and_then(|p| {
                    p.parse(readout_parse::Input {
                        command,
                        output: text,
                        exit_code: Some(0),
                    })
                    .ok()
                })
                .map_or(0, |v| v.len())
        })
        .sum();
    Ok(Variant {
        deflated_rest: deflate.finish()?,
        rest_crc,
        rest_len: rest.len(),
        raw_output_bytes: texts.iter().map(String::len).sum(),
        values,
    })
}

/// A gzip body for one cycle, without compressing its outputs again: a
/// stored deflate block holds the cycle's id and time, the variant's
/// deflated rest follows (a deflate stream may mix block kinds).
pub(crate) fn gzip_body(variant: &Variant, cycle_id: &str, started_at_ms: i64) -> Vec<u8> {
    let head = format!(r#"{{"cycle_id":"{cycle_id}","started_at_ms":{started_at_ms},"#);
    let len = u16::try_from(head.len()).unwrap_or(u16::MAX);
    let mut body = Vec::with_capacity(variant.deflated_rest.len() + head.len() + 32);
    body.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    // BFINAL 0, BTYPE 00 (stored), padded to the byte; LEN, NLEN.
    body.push(0);
    body.extend_from_slice(&len.to_le_bytes());
    body.extend_from_slice(&(!len).to_le_bytes());
    body.extend_from_slice(head.as_bytes());
    body.extend_from_slice(&variant.deflated_rest);
    let mut crc = crc32fast::Hasher::new();
    crc.update(head.as_bytes());
    crc.combine(&variant.rest_crc);
    body.extend_from_slice(&crc.finalize().to_le_bytes());
    let size = u32::try_from((head.len() + variant.rest_len) % (1 << 32)).unwrap_or(0);
    body.extend_from_slice(&size.to_le_bytes());
    body
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    #[test]
    fn a_body_is_gzip_of_the_whole_cycle() {
        let corpus =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
        let profiles = super::variants(&corpus).expect("corpus");
        let body = super::gzip_body(&profiles[0][3], "c-1", 1_700_000_000_000);
        let mut json = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut json)
            .expect("valid gzip");
        let cycle: readout_proto::CycleRequest = serde_json::from_str(&json).expect("a cycle");
        assert_eq!(cycle.cycle_id, "c-1");
        assert_eq!(cycle.started_at_ms, 1_700_000_000_000);
        assert_eq!(cycle.results.len(), 15);
        assert!(profiles[0][3].values > 100, "{}", profiles[0][3].values);
    }

    /// A host's cycles name the same variables: only values move.
    #[test]
    fn variants_change_values_not_names() {
        let corpus =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
        for (_, command, folder, files) in super::COMMANDS {
            let Some(preset) = readout_parse::presets::for_command(command) else {
                continue;
            };
            let names = |text: &str| -> Vec<String> {
                let input = readout_parse::Input {
                    command,
                    output: text,
                    exit_code: Some(0),
                };
                let mut names: Vec<String> = preset
                    .parse(input)
                    .map(|v| v.into_keys().collect())
                    .unwrap_or_default();
                names.sort();
                names
            };
            for file in files {
                let text = super::corpus_file(&corpus, folder, file).expect("corpus file");
                let varied: Vec<String> = (1..6).map(|seed| super::vary(&text, seed)).collect();
                assert!(varied.iter().any(|v| *v != text), "{file} never varies");
                for v in &varied {
                    assert_eq!(names(v), names(&text), "{file}");
                }
            }
        }
    }
}
