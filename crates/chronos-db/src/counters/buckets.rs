//! Time buckets of counters: every increment lands in the running total and in the day, ISO
//! week and month of the write (UTC).

use chrono::{Datelike, Months, NaiveDate};

use crate::config::CounterRetention;

/// A counter bucket to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// Everything ever counted.
    Total,
    /// One day (UTC).
    Day(NaiveDate),
    /// The ISO week containing the date.
    Week(NaiveDate),
    /// The month containing the date.
    Month(NaiveDate),
}

impl Bucket {
    /// Storage form, as `cnt_total` keeps it: (period kind, bucket text), e.g. `("total", "")`,
    /// `("day", "2026-11-25")`, `("week", "2026-W48")`, `("month", "2026-11")`.
    pub fn storage_key(self) -> (&'static str, String) {
        match self {
            Bucket::Total => ("total", String::new()),
            Bucket::Day(d) => ("day", d.format("%Y-%m-%d").to_string()),
            Bucket::Week(d) => {
                let w = d.iso_week();
                ("week", format!("{:04}-W{:02}", w.year(), w.week()))
            }
            Bucket::Month(d) => ("month", d.format("%Y-%m").to_string()),
        }
    }

    /// Every bucket a write on `day` counts in.
    pub(crate) fn all_for(day: NaiveDate) -> [Bucket; 4] {
        [
            Bucket::Total,
            Bucket::Day(day),
            Bucket::Week(day),
            Bucket::Month(day),
        ]
    }
}

/// The oldest bucket of each kind that `retention.counters` keeps, as (period kind, bucket
/// text): buckets before it may be removed. Totals are never removed.
pub(crate) fn retention_cutoffs(
    policy: &CounterRetention,
    today: NaiveDate,
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(days) = policy.days {
        if let Some(d) = today.checked_sub_days(chrono::Days::new(u64::from(days))) {
            out.push(Bucket::Day(d).storage_key());
        }
    }
    if let Some(weeks) = policy.weeks {
        if let Some(d) = today.checked_sub_days(chrono::Days::new(7 * u64::from(weeks))) {
            out.push(Bucket::Week(d).storage_key());
        }
    }
    if let Some(months) = policy.months {
        if let Some(d) = today.checked_sub_months(Months::new(months)) {
            out.push(Bucket::Month(d).storage_key());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn bucket_keys_order_as_time() {
        assert_eq!(Bucket::Day(date(2026, 1, 5)).storage_key().1, "2026-01-05");
        assert_eq!(Bucket::Week(date(2026, 1, 5)).storage_key().1, "2026-W02");
        // 2027-01-01 is in ISO week 53 of 2026.
        assert_eq!(Bucket::Week(date(2027, 1, 1)).storage_key().1, "2026-W53");
        assert_eq!(Bucket::Month(date(2026, 11, 25)).storage_key().1, "2026-11");
        assert!(
            Bucket::Week(date(2026, 3, 1)).storage_key().1
                < Bucket::Week(date(2026, 12, 1)).storage_key().1
        );
    }

    #[test]
    fn cutoffs_follow_the_policy() {
        let policy = CounterRetention {
            days: Some(30),
            weeks: None,
            months: Some(2),
        };
        let cut = retention_cutoffs(&policy, date(2026, 11, 25));
        assert_eq!(
            cut,
            vec![
                ("day", "2026-10-26".to_string()),
                ("month", "2026-09".to_string())
            ]
        );
    }
}
