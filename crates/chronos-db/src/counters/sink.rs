//! The counter sink: increments are summed in memory and written to each route's analytics
//! database in one batch per database, every `writeOptimization.debounceMs` (or at once when
//! it is 0). Pending increments are written on `Chronos::shutdown`, when the last `Chronos`
//! clone is dropped (on the runtime) and before every counter read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use tokio::sync::oneshot;
use tracing::warn;

use super::buckets::Bucket;
use crate::error::{Error, Result};
use crate::index::{CountKey, CountScope, CounterStore};

/// Increments waiting for one analytics database.
#[derive(Debug)]
struct Pending {
    store: Arc<dyn CounterStore>,
    db_name: String,
    counts: HashMap<CountKey, u64>,
}

/// (index store identity, analytics database).
type DbKey = (usize, String);

/// Sums increments and writes them out.
#[derive(Debug)]
pub struct CounterSink {
    pending: Mutex<HashMap<DbKey, Pending>>,
    /// Held for a whole flush, so a flush returns only after every increment recorded before
    /// it (including those an overlapping flush took) is written.
    flushing: tokio::sync::Mutex<()>,
    write_through: bool,
}

fn poisoned() -> Error {
    Error::internal("lock the counter sink", "a previous operation panicked")
}

fn store_id(store: &Arc<dyn CounterStore>) -> usize {
    Arc::as_ptr(store).cast::<()>() as usize
}

/// The increments waiting for one analytics database (created empty when there are none).
fn pending_for<'a>(
    pending: &'a mut HashMap<DbKey, Pending>,
    store: &Arc<dyn CounterStore>,
    db_name: &str,
) -> &'a mut Pending {
    pending
        .entry((store_id(store), db_name.to_string()))
        .or_insert_with(|| Pending {
            store: store.clone(),
            db_name: db_name.to_string(),
            counts: HashMap::new(),
        })
}

impl CounterSink {
    /// A sink that writes every increment at once (`write_through`) or on `flush`.
    pub fn new(write_through: bool) -> Self {
        CounterSink {
            pending: Mutex::new(HashMap::new()),
            flushing: tokio::sync::Mutex::new(()),
            write_through,
        }
    }

    /// Counts one write in every bucket of `day`, then writes it out when the sink is
    /// write-through. A failed write-out keeps the increments for the next flush.
    pub async fn record(
        &self,
        store: &Arc<dyn CounterStore>,
        db_name: &str,
        scope: &CountScope,
        counters: &[String],
        day: NaiveDate,
    ) {
        if let Err(e) = self.add(store, db_name, scope, counters, day) {
            warn!(error = %e, "counter increment dropped");
            return;
        }
        if self.write_through {
            if let Err(e) = self.flush().await {
                warn!(error = %e, "counters not written yet; kept for the next flush");
            }
        }
    }

    fn add(
        &self,
        store: &Arc<dyn CounterStore>,
        db_name: &str,
        scope: &CountScope,
        counters: &[String],
        day: NaiveDate,
    ) -> Result<()> {
        let mut pending = self.pending.lock().map_err(|_| poisoned())?;
        let entry = pending_for(&mut pending, store, db_name);
        for counter in counters {
            for bucket in Bucket::all_for(day) {
                let (period, bucket) = bucket.storage_key();
                let key = CountKey {
                    scope: scope.clone(),
                    counter: counter.clone(),
                    period,
                    bucket,
                };
                *entry.counts.entry(key).or_insert(0) += 1;
            }
        }
        Ok(())
    }

    /// Writes every pending increment. Increments that could not be written are kept and the
    /// first error is returned.
    pub async fn flush(&self) -> Result<()> {
        let _one_at_a_time = self.flushing.lock().await;
        let batches: Vec<Pending> = {
            let mut pending = self.pending.lock().map_err(|_| poisoned())?;
            pending.drain().map(|(_, p)| p).collect()
        };
        let mut first_error = None;
        for batch in batches {
            let mut counts: Vec<(CountKey, u64)> = batch.counts.into_iter().collect();
            counts.sort();
            let written = batch.store.add_counts(&batch.db_name, &counts).await;
            if let Some(e) = written.error {
                let mut pending = self.pending.lock().map_err(|_| poisoned())?;
                let entry = pending_for(&mut pending, &batch.store, &batch.db_name);
                for (k, n) in counts.into_iter().skip(written.applied) {
                    *entry.counts.entry(k).or_insert(0) += n;
                }
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Stops the flush task (after a last flush) when dropped.
#[derive(Debug)]
pub struct FlushTask {
    _stop: oneshot::Sender<()>,
}

impl FlushTask {
    /// Starts flushing `sink` every `every` on the current runtime.
    pub fn start(sink: Arc<CounterSink>, every: Duration) -> Self {
        let (stop, mut stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Err(e) = sink.flush().await {
                            warn!(error = %e, "counter flush failed; retried on the next tick");
                        }
                    }
                    _ = &mut stopped => {
                        if let Err(e) = sink.flush().await {
                            warn!(error = %e, "last counter flush failed");
                        }
                        break;
                    }
                }
            }
        });
        FlushTask { _stop: stop }
    }
}

/// Today (UTC), the day a write is counted on.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}
