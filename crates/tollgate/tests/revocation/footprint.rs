//! The memory store's footprint per entry, measured from the process's resident set.
//!
//! A measurement, not a check: run it alone, and read the numbers it prints.
//!
//! ```text
//! cargo test -p tollgate --features memory-store --test revocation -- \
//!     --ignored --nocapture --test-threads=1 memory_per_entry
//! ```
//!
//! `docs/revocation.md` reports the results. Linux only (it reads `/proc/self/statm`).

use tollgate::revocation::{MemoryRevocationStore, RevocationStore};

const ENTRIES: u64 = 200_000;
const FAR: i64 = 4_000_000_000;

/// The resident set size in bytes (`/proc/self/statm`, 4 KiB pages).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// A 36-character id, the length of a UUID `jti`.
fn id(i: u64) -> String {
    format!("{i:08x}-0000-4000-8000-{i:012x}")
}

fn measure(name: &str, store: &MemoryRevocationStore, write: impl Fn(&MemoryRevocationStore, u64)) {
    let before = rss();
    for i in 0..ENTRIES {
        write(store, i);
    }
    store.remove_expired();
    let after = rss();
    assert_eq!(store.entry_count(), ENTRIES);
    println!(
        "{name}: {ENTRIES} entries, {} bytes resident per entry",
        (after - before) / ENTRIES
    );
}

#[test]
#[ignore = "a measurement: run alone with --ignored --nocapture --test-threads=1"]
fn memory_per_entry() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // Every store stays alive to the end, so no measurement reuses memory freed by another.
    let tokens = MemoryRevocationStore::new();
    measure("revoked jti (36-byte ids)", &tokens, |store, i| {
        runtime.block_on(store.revoke_token(&id(i), FAR)).unwrap();
    });
    let sessions = MemoryRevocationStore::new();
    measure("ended session (36-byte ids)", &sessions, |store, i| {
        runtime.block_on(store.end_session(&id(i), FAR)).unwrap();
    });
    let subjects = MemoryRevocationStore::new();
    measure(
        "subject with cut-off and version (36-byte ids)",
        &subjects,
        |store, i| {
            runtime.block_on(store.cut_off(&id(i), 1_000, FAR)).unwrap();
            runtime.block_on(store.set_version(&id(i), 2, FAR)).unwrap();
        },
    );
}
