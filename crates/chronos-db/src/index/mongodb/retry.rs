//! Retrying MongoDB transactions that fail transiently (a write conflict with another
//! transaction, a lost primary): exponential backoff with jitter, bounded in time, so a
//! record held by a stuck or abandoned transaction answers within [`TXN_RETRY_BUDGET`].

use std::time::{Duration, Instant};

/// How long a transaction is retried while it fails transiently.
pub const TXN_RETRY_BUDGET: Duration = Duration::from_secs(2);
/// The first wait between attempts.
const FIRST_DELAY: Duration = Duration::from_millis(5);
/// The longest wait between attempts.
const MAX_DELAY: Duration = Duration::from_millis(250);
/// Attempts at committing a transaction whose commit outcome is unknown.
pub const COMMIT_ATTEMPTS: usize = 3;

/// The waits between attempts of one transaction.
#[derive(Debug)]
pub struct Backoff {
    started: Instant,
    attempt: u32,
}

impl Backoff {
    /// Starts the clock.
    pub fn new() -> Self {
        Backoff {
            started: Instant::now(),
            attempt: 0,
        }
    }

    /// Attempts made so far after the first.
    pub fn retries(&self) -> u32 {
        self.attempt
    }

    /// Waits before the next attempt and returns true, or returns false at once when the
    /// time budget is spent.
    pub async fn wait(&mut self) -> bool {
        let full = FIRST_DELAY
            .saturating_mul(1 << self.attempt.min(16))
            .min(MAX_DELAY);
        // Between half and all of the delay, so writers that collided do not collide again.
        let bits = uuid::Uuid::now_v7().as_u128() & 0xffff;
        let delay = full / 2 + full.mul_f64(bits as f64 / 65_536.0) / 2;
        if self.started.elapsed() + delay > TXN_RETRY_BUDGET {
            return false;
        }
        self.attempt += 1;
        tokio::time::sleep(delay).await;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn retries_stop_within_the_budget() {
        let mut b = Backoff::new();
        let started = Instant::now();
        while b.wait().await {}
        let spent = started.elapsed();
        // Sleeping may overshoot a little; the budget is what the waits are planned against.
        assert!(spent < TXN_RETRY_BUDGET + MAX_DELAY, "{spent:?}");
        assert!(b.retries() >= 8, "{}", b.retries());
    }
}
