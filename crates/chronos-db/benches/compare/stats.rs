//! Latency samples, the result table and peak memory.

use std::time::Duration;

/// Latencies of one operation on one subject.
#[derive(Debug, Default, Clone)]
pub struct Samples(pub Vec<Duration>);

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d);
    }

    fn sorted(&self) -> Vec<Duration> {
        let mut v = self.0.clone();
        v.sort_unstable();
        v
    }

    pub fn quantile(&self, q: f64) -> Duration {
        let v = self.sorted();
        if v.is_empty() {
            return Duration::ZERO;
        }
        let i = ((v.len() - 1) as f64 * q).round() as usize;
        v[i.min(v.len() - 1)]
    }

    pub fn mean(&self) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        self.0.iter().sum::<Duration>() / self.0.len() as u32
    }

    pub fn ops_per_sec(&self) -> f64 {
        let total: Duration = self.0.iter().sum();
        if total.is_zero() {
            return 0.0;
        }
        self.0.len() as f64 / total.as_secs_f64()
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

/// Prints the table header.
pub fn header() {
    println!(
        "{:<26} {:>6} | {:>10} {:>9} {:>9} | {:>10} {:>9} {:>9} | {:>6} {:>8} | {:>9}",
        "operation",
        "n",
        "chronos/s",
        "p50 ms",
        "p99 ms",
        "raw/s",
        "p50 ms",
        "p99 ms",
        "ratio",
        "target",
        "p50 ratio"
    );
}

/// Prints one row: chronos against raw, the ratio of mean latencies and whether it meets
/// `target` (chronos mean <= target x raw mean), and the ratio of medians (which the rare
/// multi-millisecond stalls of a shared machine do not move).
pub fn row(name: &str, chronos: &Samples, raw: &Samples, target: Option<f64>) -> f64 {
    let ratio = chronos.mean().as_secs_f64() / raw.mean().as_secs_f64().max(1e-12);
    let verdict = match target {
        Some(t) if ratio <= t => format!("<={t} ok"),
        Some(t) => format!("<={t} MISS"),
        None => String::new(),
    };
    println!(
        "{:<26} {:>6} | {:>10.0} {:>9} {:>9} | {:>10.0} {:>9} {:>9} | {:>6.2} {:>8} | {:>9.2}",
        name,
        chronos.0.len(),
        chronos.ops_per_sec(),
        ms(chronos.quantile(0.5)),
        ms(chronos.quantile(0.99)),
        raw.ops_per_sec(),
        ms(raw.quantile(0.5)),
        ms(raw.quantile(0.99)),
        ratio,
        verdict,
        chronos.quantile(0.5).as_secs_f64() / raw.quantile(0.5).as_secs_f64().max(1e-12)
    );
    ratio
}

/// Resets the peak resident set size of this process (Linux; best effort).
pub fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident set size of this process in MiB (Linux), if known.
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// A small deterministic generator for picking records.
pub struct Lcg(pub u64);

impl Lcg {
    /// The next pick in `0..n`.
    pub fn pick(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}
