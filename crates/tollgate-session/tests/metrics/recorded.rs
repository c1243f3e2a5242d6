//! Running a test under `metrics-util`'s debugging recorder, and reading what moved.
//!
//! The recorder is installed for the test's thread only (`metrics::with_local_recorder`) and
//! the test runs on a current-thread Tokio runtime, so every task it spawns (the cleanup task,
//! the Redis subscriber) runs, and records, on that thread: tests of one binary run in
//! parallel without seeing each other's metrics.
//!
//! Shared with `tollgate-redis`'s metrics tests.
#![allow(dead_code, unreachable_pub)]

use std::{collections::BTreeMap, future::Future, time::Duration};

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

/// Run `test` on a current-thread runtime with a debugging recorder of its own.
pub fn recorded<F: Future<Output = ()>>(test: impl FnOnce(Meter) -> F) {
    let recorder = DebuggingRecorder::new();
    let meter = Meter(recorder.snapshotter());
    metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(test(meter));
    });
}

/// Reads the recorder. Each reading takes every metric, and returns what moved since the
/// previous one: the debugging recorder resets counters and gauges when read, so a gauge not
/// set since the previous reading reads 0.
#[derive(Debug)]
pub struct Meter(Snapshotter);

/// What one reading saw, keyed `name{label="value",...}`.
#[derive(Debug, Default)]
pub struct Reading {
    /// The counters that moved, and by how much.
    pub counters: BTreeMap<String, u64>,
    /// The gauges, with their last value.
    pub gauges: BTreeMap<String, f64>,
}

impl Meter {
    /// The counters among `names` that moved since the last reading.
    pub fn counters(&self, names: &[&str]) -> BTreeMap<String, u64> {
        self.read(names).counters
    }

    /// Read the counters among `names` every 10 ms, adding up what moved, until `done` says
    /// the total is complete; panics after 10 s.
    pub async fn counters_until(
        &self,
        names: &[&str],
        mut done: impl FnMut(&BTreeMap<String, u64>) -> bool,
    ) -> BTreeMap<String, u64> {
        let mut total = BTreeMap::new();
        for _ in 0..1000 {
            for (key, count) in self.counters(names) {
                *total.entry(key).or_insert(0) += count;
            }
            if done(&total) {
                return total;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the counters did not move as expected within 10 s: {total:?}");
    }

    /// The metrics among `names`, as they moved since the last reading.
    pub fn read(&self, names: &[&str]) -> Reading {
        let mut reading = Reading::default();
        for (key, _, _, value) in self.0.snapshot().into_vec() {
            let key = key.key();
            if !names.contains(&key.name()) {
                continue;
            }
            let mut labels: Vec<String> = key
                .labels()
                .map(|label| format!("{}=\"{}\"", label.key(), label.value()))
                .collect();
            labels.sort();
            let name = if labels.is_empty() {
                key.name().to_owned()
            } else {
                format!("{}{{{}}}", key.name(), labels.join(","))
            };
            match value {
                DebugValue::Counter(0) | DebugValue::Histogram(_) => {}
                DebugValue::Counter(count) => {
                    reading.counters.insert(name, count);
                }
                DebugValue::Gauge(value) => {
                    reading.gauges.insert(name, value.into_inner());
                }
            }
        }
        reading
    }
}

/// The expected reading: `name{labels}` and how much it moved.
pub fn moved(entries: &[(&str, u64)]) -> BTreeMap<String, u64> {
    entries
        .iter()
        .map(|(key, count)| ((*key).to_owned(), *count))
        .collect()
}
