//! Numbers as commands print them: `1,024`, `1.5G`, `512K`, `46.25 MiB`,
//! `12%`, `42.8'C`, `+45.0°C`.

/// A plain number: optional sign, `,` thousands separators, decimals.
/// `1,024` → 1024; `1.5` → 1.5; `+3` → 3. Anything else is `None`.
pub fn number(text: &str) -> Option<f64> {
    let text = text.trim();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.is_empty() || !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let grouped = digits.contains(',');
    if grouped && !thousands_grouped(digits) {
        return None;
    }
    let plain: String = digits.chars().filter(|c| *c != ',').collect();
    if !plain.chars().all(|c| c.is_ascii_digit() || c == '.') || plain.matches('.').count() > 1 {
        return None;
    }
    plain.parse::<f64>().ok().map(|n| sign * n)
}

/// `1,024,000.5`: groups of three after the first.
fn thousands_grouped(digits: &str) -> bool {
    let int = digits.split('.').next().unwrap_or("");
    let mut groups = int.split(',');
    let first = groups.next().unwrap_or("");
    (1..=3).contains(&first.len()) && groups.all(|g| g.len() == 3)
}

/// Multipliers of size suffixes. `i` letters are binary; bare letters are
/// binary as `free -h`, `df -h` and `ls -h` print them, or decimal under
/// `--si`/`-H` (`si`); `kB`, `MB` … are decimal, as Docker prints them.
fn suffix_factor(suffix: &str, si: bool) -> Option<f64> {
    const K: f64 = 1024.0;
    if si && let Some(factor) = si_letter(suffix) {
        return Some(factor);
    }
    Some(match suffix {
        "" | "B" | "b" | "Bi" => 1.0,
        "K" | "k" | "Ki" | "KiB" => K,
        "M" | "Mi" | "MiB" => K * K,
        "G" | "Gi" | "GiB" => K * K * K,
        "T" | "Ti" | "TiB" => K * K * K * K,
        "P" | "Pi" | "PiB" => K * K * K * K * K,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "PB" => 1e15,
        _ => return None,
    })
}

fn si_letter(suffix: &str) -> Option<f64> {
    Some(match suffix {
        "k" | "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        _ => return None,
    })
}

/// A size in bytes. A bare number is in `unit` bytes (1024 for `free`'s
/// default KiB); a suffixed one (`1.5G`, `512K`, `0B`, `46.25 MiB`) says its
/// own unit.
pub fn size(text: &str, unit: f64) -> Option<f64> {
    scaled(text, unit, false)
}

/// Like [`size`], for output of `--si`/`-H`, where `1.5G` is 1.5 × 10⁹.
pub fn size_si(text: &str, unit: f64) -> Option<f64> {
    scaled(text, unit, true)
}

fn scaled(text: &str, unit: f64, si: bool) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ',' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (num, suffix) = text.split_at(split);
    let value = number(num)?;
    let suffix = suffix.trim_start();
    if suffix.is_empty() {
        return Some(value * unit);
    }
    Some(value * suffix_factor(suffix, si)?)
}

/// `12%` or `12` → 12.
pub fn percent(text: &str) -> Option<f64> {
    let text = text.trim();
    number(text.strip_suffix('%').unwrap_or(text))
}

/// A temperature in degrees Celsius: `42.8'C`, `+45.0°C`, `temp=42.8'C`,
/// `113.0°F` (converted).
pub fn celsius(text: &str) -> Option<f64> {
    let text = text.trim();
    let text = text.strip_prefix("temp=").unwrap_or(text);
    for (suffix, fahrenheit) in [
        ("'C", false),
        ("°C", false),
        ("C", false),
        ("°F", true),
        ("F", true),
    ] {
        if let Some(num) = text.strip_suffix(suffix) {
            let value = number(num)?;
            return Some(if fahrenheit {
                (value - 32.0) * 5.0 / 9.0
            } else {
                value
            });
        }
    }
    number(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number("1,024"), Some(1024.0));
        assert_eq!(number("1,024,000.5"), Some(1_024_000.5));
        assert_eq!(number("+1.12"), Some(1.12));
        assert_eq!(number("-6"), Some(-6.0));
        assert_eq!(number(" 42 "), Some(42.0));
        for bad in [
            "", "-", "1,02", "12,3456", "1.2.3", "abc", "1e5", ".5x", "0x10", "NaN", "inf",
        ] {
            assert_eq!(number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(size("1.5G", 1024.0), Some(1.5 * 1024.0 * 1024.0 * 1024.0));
        assert_eq!(size("512K", 1.0), Some(512.0 * 1024.0));
        assert_eq!(size("217M", 1024.0), Some(217.0 * 1024.0 * 1024.0));
        assert_eq!(size("0B", 1024.0), Some(0.0));
        assert_eq!(size("46.25 MiB", 1.0), Some(46.25 * 1024.0 * 1024.0));
        assert_eq!(size("1.5kB", 1.0), Some(1500.0));
        assert_eq!(size("2.1GB", 1.0), Some(2.1e9));
        assert_eq!(size("3861332", 1024.0), Some(3_861_332.0 * 1024.0));
        assert_eq!(size("12", 1.0), Some(12.0));
        assert_eq!(size("1.2X", 1.0), None);
        assert_eq!(size("G", 1.0), None);
        assert_eq!(size("0Bi", 1.0), Some(0.0));
        assert_eq!(size("137Gi", 1.0), Some(137.0 * 1024.0 * 1024.0 * 1024.0));
        assert_eq!(size_si("215k", 1.0), Some(215_000.0));
        assert_eq!(size_si("1.5G", 1.0), Some(1.5e9));
        assert_eq!(size_si("2Gi", 1.0), Some(2.0 * 1024.0 * 1024.0 * 1024.0));
    }

    #[test]
    fn percents_and_temperatures() {
        assert_eq!(percent("12%"), Some(12.0));
        assert_eq!(percent("7.5"), Some(7.5));
        assert_eq!(percent("%"), None);
        assert_eq!(celsius("42.8'C"), Some(42.8));
        assert_eq!(celsius("temp=42.8'C"), Some(42.8));
        assert_eq!(celsius("+45.0°C"), Some(45.0));
        assert_eq!(celsius("-3.5°C"), Some(-3.5));
        assert_eq!(celsius("212.0°F"), Some(100.0));
        assert_eq!(celsius("hot"), None);
    }
}
