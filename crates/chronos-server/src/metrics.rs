//! Counts for `/metrics`, in the Prometheus text format: requests by route and status,
//! their latency as a histogram, writes by kind, and (read when scraped) the fallback
//! queue's depth.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Default)]
struct Latency {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Counts {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<(String, String), Latency>,
    writes: BTreeMap<&'static str, u64>,
}

/// The service's counts.
#[derive(Debug, Default)]
pub struct Metrics {
    counts: Mutex<Counts>,
    /// Live change-feed streams: their feed tasks still running.
    streams: Arc<AtomicUsize>,
}

/// Counts one live change-feed stream while it is held.
#[derive(Debug)]
pub struct StreamGuard(Arc<AtomicUsize>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Metrics {
    /// Counts a request to route template `route` that answered `status` after `took`.
    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let Ok(mut c) = self.counts.lock() else {
            return;
        };
        *c.requests
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
        let l = c
            .latency
            .entry((method.to_string(), route.to_string()))
            .or_default();
        let secs = took.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                l.counts[i] += 1;
            }
        }
        l.count += 1;
        l.sum += secs;
    }

    /// Counts a live change-feed stream until the guard is dropped.
    pub fn stream_started(&self) -> StreamGuard {
        self.streams.fetch_add(1, Ordering::SeqCst);
        StreamGuard(self.streams.clone())
    }

    /// Counts a committed write of `kind` (`create`, `update`, ...).
    pub fn write(&self, kind: &'static str) {
        if let Ok(mut c) = self.counts.lock() {
            *c.writes.entry(kind).or_default() += 1;
        }
    }

    /// The text exposition, with the fallback queue's depth (`None`: unknown).
    pub fn render(&self, queue_depth: Option<usize>) -> String {
        let mut out = String::new();
        let Ok(c) = self.counts.lock() else {
            return out;
        };
        out.push_str(
            "# HELP chronos_http_requests_total Requests answered, by route and status.\n",
        );
        out.push_str("# TYPE chronos_http_requests_total counter\n");
        for ((method, route, status), n) in &c.requests {
            let _ = writeln!(
                out,
                "chronos_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str("# HELP chronos_http_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE chronos_http_request_duration_seconds histogram\n");
        for ((method, route), l) in &c.latency {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "chronos_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    l.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "chronos_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                l.count
            );
            let _ = writeln!(
                out,
                "chronos_http_request_duration_seconds_sum{{{labels}}} {}",
                l.sum
            );
            let _ = writeln!(
                out,
                "chronos_http_request_duration_seconds_count{{{labels}}} {}",
                l.count
            );
        }
        out.push_str("# HELP chronos_writes_total Writes committed or queued, by kind.\n");
        out.push_str("# TYPE chronos_writes_total counter\n");
        for (kind, n) in &c.writes {
            let _ = writeln!(out, "chronos_writes_total{{kind=\"{kind}\"}} {n}");
        }
        out.push_str("# HELP chronos_feed_streams Live change-feed streams.\n");
        out.push_str("# TYPE chronos_feed_streams gauge\n");
        let _ = writeln!(
            out,
            "chronos_feed_streams {}",
            self.streams.load(Ordering::SeqCst)
        );
        if let Some(depth) = queue_depth {
            out.push_str(
                "# HELP chronos_fallback_queue_depth Writes waiting in the fallback queue.\n",
            );
            out.push_str("# TYPE chronos_fallback_queue_depth gauge\n");
            let _ = writeln!(out, "chronos_fallback_queue_depth {depth}");
        }
        out
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
