//! The retry policy of the fallback queue (`fallback` in the configuration): how often a
//! queued write is replayed, how long to wait between attempts, and where it goes when it
//! keeps failing.

use std::time::Duration;

use crate::config::FallbackConfig;

/// Replay attempts before a write is dead-lettered, unless `fallback.maxRetries` says.
pub(crate) const DEFAULT_MAX_RETRIES: u32 = 5;
/// First retry delay, unless `fallback.retryDelayMs` says.
pub(crate) const DEFAULT_RETRY_DELAY_MS: u64 = 1_000;
/// Longest retry delay, unless `fallback.maxDelayMs` says.
pub(crate) const DEFAULT_MAX_DELAY_MS: u64 = 60_000;
/// Dead-letter collection, unless `fallback.deadLetterCollection` says.
pub(crate) const DEFAULT_DEAD_LETTER: &str = "chronos_fallback_dead";
/// The queue collection in every index database.
pub(crate) const OPS_TABLE: &str = crate::names::FALLBACK_QUEUE_TABLE;

/// The fallback settings in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackPolicy {
    /// Failed replays before the write is dead-lettered.
    pub max_retries: u32,
    /// Delay before the first retry.
    pub retry_delay: Duration,
    /// Longest delay between retries.
    pub max_delay: Duration,
    /// Dead-letter collection.
    pub dead_letter: String,
}

impl FallbackPolicy {
    /// The policy of an enabled `fallback` section, `None` when the queue is off.
    pub fn from_config(config: Option<&FallbackConfig>) -> Option<Self> {
        let c = config.filter(|c| c.enabled)?;
        Some(FallbackPolicy {
            max_retries: c.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
            retry_delay: Duration::from_millis(c.retry_delay_ms.unwrap_or(DEFAULT_RETRY_DELAY_MS)),
            max_delay: Duration::from_millis(c.max_delay_ms.unwrap_or(DEFAULT_MAX_DELAY_MS)),
            dead_letter: c
                .dead_letter_collection
                .clone()
                .unwrap_or_else(|| DEFAULT_DEAD_LETTER.to_string()),
        })
    }

    /// How long to wait after failed attempt number `attempt` (1-based): exponential from
    /// `retry_delay`, capped at `max_delay`, with "equal jitter" (between half and all of the
    /// delay) so instances that failed together do not retry together. `unit` in [0, 1) is the
    /// random draw.
    pub fn backoff(&self, attempt: u32, unit: f64) -> Duration {
        let exp = 2f64.powi(
            i32::try_from(attempt.saturating_sub(1))
                .unwrap_or(i32::MAX)
                .min(30),
        );
        let full = (self.retry_delay.as_secs_f64() * exp).min(self.max_delay.as_secs_f64());
        Duration::from_secs_f64(full / 2.0 + full / 2.0 * unit.clamp(0.0, 1.0))
    }

    /// How often the replay worker looks for due writes.
    pub fn poll_interval(&self) -> Duration {
        self.retry_delay
            .clamp(Duration::from_millis(50), Duration::from_secs(5))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> FallbackPolicy {
        FallbackPolicy::from_config(Some(&FallbackConfig {
            enabled: true,
            max_retries: Some(3),
            retry_delay_ms: Some(100),
            max_delay_ms: Some(1_000),
            dead_letter_collection: None,
        }))
        .unwrap()
    }

    #[test]
    fn off_unless_enabled() {
        assert_eq!(FallbackPolicy::from_config(None), None);
        let off = FallbackConfig::default();
        assert_eq!(FallbackPolicy::from_config(Some(&off)), None);
        assert_eq!(policy().dead_letter, DEFAULT_DEAD_LETTER);
    }

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_a_cap() {
        let p = policy();
        let ms = |attempt, unit| p.backoff(attempt, unit).as_millis();
        assert_eq!((ms(1, 0.0), ms(1, 1.0)), (50, 100));
        assert_eq!((ms(2, 0.0), ms(2, 1.0)), (100, 200));
        assert_eq!((ms(3, 0.0), ms(3, 1.0)), (200, 400));
        assert_eq!((ms(10, 0.0), ms(10, 1.0)), (500, 1_000));
        assert_eq!(ms(u32::MAX, 1.0), 1_000);
        let mid = ms(2, 0.5);
        assert!(mid > 100 && mid < 200, "{mid}");
    }
}
