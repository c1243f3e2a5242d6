//! The storage behind `MemoryRevocationStore`: each id kept as a keyed 128-bit digest in a
//! sharded hash table, expired entries removed by the writes.

use std::{
    hash::{BuildHasher, RandomState},
    num::NonZero,
    sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard},
    thread,
};

use crossbeam_utils::CachePadded;
use hashbrown::{HashTable, hash_table::Entry};
use siphasher::sip128::SipHasher13;

/// What a table keeps of an id: its 128-bit digest. `table` chooses the bucket within a
/// shard, `shard` the shard, so the two never draw on the same bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Digest {
    table: u64,
    shard: u64,
}

/// Computes the digests of ids: SipHash-1-3 with a 128-bit output, under a key drawn at
/// random for each store, so that no one outside the process can tell which ids share a
/// digest.
pub(super) struct Digester(SipHasher13);

impl Digester {
    /// A digester with a fresh random key (from the standard library's `RandomState`, which
    /// the operating system's random source seeds).
    pub(super) fn random() -> Self {
        let random = RandomState::new();
        Self(SipHasher13::new_with_keys(
            random.hash_one(0_u8),
            random.hash_one(1_u8),
        ))
    }

    /// The digest of `id`: all of its bytes, whatever its length.
    pub(super) fn digest(&self, id: &str) -> Digest {
        let hash = self.0.hash(id.as_bytes());
        Digest {
            table: hash.h1,
            shard: hash.h2,
        }
    }
}

/// What a table stores under a digest.
pub(super) trait Value: Copy {
    /// Until when the entry is kept (seconds since the Unix epoch): it is live while this is
    /// after now.
    fn keep(&self) -> i64;

    /// Merge a later write into this live entry: the result refuses at least what either did.
    fn merge(&mut self, write: Self);
}

/// A concurrent map from digests to values, in shards of their own lock each: checks take a
/// shard's read lock, so they never wait for one another, only for a write to the same shard.
pub(super) struct Table<V> {
    shards: Box<[CachePadded<RwLock<Shard<V>>>]>,
}

struct Shard<V> {
    entries: HashTable<(Digest, V)>,
    /// No entry's `keep` is below this (`i64::MAX` when empty): nothing has expired while
    /// now is before it.
    earliest: i64,
    /// Entries added since the shard was last swept.
    added: usize,
}

/// The fewest shards a table has: 64, or four per core on larger machines.
const MIN_SHARDS: usize = 64;

impl<V: Value> Table<V> {
    /// An empty table; it allocates nothing per shard until entries arrive.
    pub(super) fn new() -> Self {
        let cores = thread::available_parallelism().map_or(1, NonZero::get);
        let shards = cores.saturating_mul(4).next_power_of_two().max(MIN_SHARDS);
        Self {
            shards: (0..shards)
                .map(|_| {
                    CachePadded::new(RwLock::new(Shard {
                        entries: HashTable::new(),
                        earliest: i64::MAX,
                        added: 0,
                    }))
                })
                .collect(),
        }
    }

    fn shard(&self, digest: Digest) -> &RwLock<Shard<V>> {
        // The number of shards is a power of two; the digest's low bits choose one.
        let index = digest.shard as usize & (self.shards.len() - 1);
        &self.shards[index]
    }

    /// The value stored under `digest`, expired or not (the caller compares its `keep` with
    /// the clock, which it reads only when something is found).
    pub(super) fn get(&self, digest: Digest) -> Option<V> {
        read(self.shard(digest))
            .entries
            .find(digest.table, |(stored, _)| *stored == digest)
            .map(|(_, value)| *value)
    }

    /// Store `value` under `digest`, merged into the live entry already there, if any. `now`
    /// is the current time (seconds since the Unix epoch).
    ///
    /// Sweeps the shard first when one of its entries may have expired and it has taken at
    /// least a quarter of its size in new entries since it was last swept: a sweep visits
    /// every entry of the shard, so it is paid for by the writes that came before it, and a
    /// shard holds at most about a third more entries than were live at its last sweep.
    pub(super) fn insert(&self, digest: Digest, value: V, now: i64) {
        let mut guard = write(self.shard(digest));
        let shard = &mut *guard;
        if shard.earliest <= now && shard.added >= shard.entries.len() / 4 {
            shard.sweep(now);
        }
        match shard.entries.entry(
            digest.table,
            |(stored, _)| *stored == digest,
            |(stored, _)| stored.table,
        ) {
            Entry::Occupied(mut entry) => {
                let stored = &mut entry.get_mut().1;
                if stored.keep() > now {
                    stored.merge(value);
                } else {
                    // Expired, not swept yet: gone as far as anyone can tell.
                    *stored = value;
                }
            }
            Entry::Vacant(entry) => {
                entry.insert((digest, value));
                shard.added += 1;
            }
        }
        shard.earliest = shard.earliest.min(value.keep());
    }

    /// Remove every entry whose `keep` is at or before `now`, in every shard.
    pub(super) fn remove_expired(&self, now: i64) {
        for shard in &self.shards {
            let mut shard = write(shard);
            if shard.earliest <= now {
                shard.sweep(now);
            }
        }
    }

    /// How many entries the table holds, expired ones not swept yet included.
    pub(super) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| read(shard).entries.len())
            .sum()
    }
}

impl<V: Value> Shard<V> {
    /// Remove the entries expired at `now`, and give back memory the shard no longer needs.
    fn sweep(&mut self, now: i64) {
        let mut earliest = i64::MAX;
        self.entries.retain(|(_, value)| {
            let keep = value.keep();
            let live = keep > now;
            if live {
                earliest = earliest.min(keep);
            }
            live
        });
        self.earliest = earliest;
        self.added = 0;
        // Shrink when three quarters of the room is unused; growth doubles, so an entry count
        // going up and down around one size does not reallocate each time.
        let len = self.entries.len();
        if len < self.entries.capacity() / 4 {
            self.entries
                .shrink_to(len.saturating_mul(2), |(digest, _)| digest.table);
        }
    }
}

/// A shard's read lock. Poisoning is ignored: no code holding the lock can panic halfway
/// through a change (a merge writes plain values), so the data is whole.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

/// A shard's write lock; see [`read`] about poisoning.
fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// A value with a level that merges to the higher one, like a permission version.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Level {
        level: u64,
        keep: i64,
    }

    impl Value for Level {
        fn keep(&self) -> i64 {
            self.keep
        }

        fn merge(&mut self, write: Self) {
            self.level = self.level.max(write.level);
            self.keep = self.keep.max(write.keep);
        }
    }

    fn level(level: u64, keep: i64) -> Level {
        Level { level, keep }
    }

    #[test]
    fn digests_cover_the_whole_id_and_depend_on_the_key() {
        let digester = Digester::random();
        let long = "x".repeat(1000);
        let mut other = long.clone();
        other.replace_range(999.., "y");
        assert_eq!(digester.digest(&long), digester.digest(&long));
        assert_ne!(digester.digest(&long), digester.digest(&other));
        assert_ne!(digester.digest(""), digester.digest("\0"));
        // Each digester has its own key.
        assert_ne!(
            Digester::random().digest("t"),
            Digester::random().digest("t")
        );

        let digests: HashSet<(u64, u64)> = (0..100_000)
            .map(|i| digester.digest(&format!("{i:08x}-0000-4000-8000-{i:012x}")))
            .map(|digest| (digest.table, digest.shard))
            .collect();
        assert_eq!(digests.len(), 100_000);
    }

    #[test]
    fn writes_merge_into_live_entries_and_replace_expired_ones() {
        let table = Table::new();
        let digest = Digester::random().digest("alice");
        table.insert(digest, level(5, 100), 10);
        table.insert(digest, level(2, 200), 20);
        assert_eq!(table.get(digest), Some(level(5, 200)));
        table.insert(digest, level(3, 150), 30);
        assert_eq!(table.get(digest), Some(level(5, 200)));
        // At 200 the entry has expired: a new write starts afresh, the old level is gone.
        table.insert(digest, level(3, 300), 200);
        assert_eq!(table.get(digest), Some(level(3, 300)));
        assert_eq!(table.len(), 1);
    }

    /// Two ids whose digests are equal (made so here; with SipHash under a random key, about
    /// one chance in 2^128 per pair) share one entry: whichever was written, both are
    /// refused, until the later of the two expiries. Never fewer refusals.
    #[test]
    fn ids_sharing_a_digest_share_one_entry_that_only_refuses_more() {
        let table = Table::new();
        let shared = Digester::random().digest("revoked");
        let other = Digester::random().digest("never revoked");
        table.insert(shared, level(1, 100), 0);
        // "never revoked", were its digest `shared`, finds the entry: a false refusal.
        assert_eq!(table.get(shared), Some(level(1, 100)));
        // Revoking the other id under the same digest keeps the later expiry and the higher
        // level: the first revocation is never weakened.
        table.insert(shared, level(0, 50), 10);
        assert_eq!(table.get(shared), Some(level(1, 100)));
        assert_eq!(table.get(other), None);
    }

    #[test]
    fn remove_expired_removes_exactly_the_expired_entries_and_gives_memory_back() {
        let table = Table::new();
        let digester = Digester::random();
        for i in 0..10_000_i64 {
            table.insert(digester.digest(&i.to_string()), level(0, 100 + i % 2), 0);
        }
        let capacity = |table: &Table<Level>| {
            table
                .shards
                .iter()
                .map(|shard| read(shard).entries.capacity())
                .sum::<usize>()
        };
        let full = capacity(&table);
        table.remove_expired(99);
        assert_eq!(table.len(), 10_000);
        table.remove_expired(100);
        assert_eq!(table.len(), 5_000);
        for i in 0..10_000_i64 {
            let found = table.get(digester.digest(&i.to_string()));
            assert_eq!(found.is_some(), i % 2 == 1, "{i}");
        }
        table.remove_expired(101);
        assert_eq!(table.len(), 0);
        assert!(full >= 10_000);
        assert_eq!(capacity(&table), 0);
    }

    /// Writes at a steady rate, each entry kept a minute, for three simulated hours: the
    /// writes' sweeps keep the table within a third above the live entries (plus one per
    /// shard), however long it runs.
    #[test]
    fn a_steady_write_rate_does_not_grow_the_table() {
        const PER_SECOND: i64 = 50;
        const LIFETIME: i64 = 60;
        let table = Table::new();
        let digester = Digester::random();
        let shards = table.shards.len();
        let mut largest = 0;
        for now in 0..3 * 3600_i64 {
            for i in 0..PER_SECOND {
                let id = (now * PER_SECOND + i).to_string();
                table.insert(digester.digest(&id), level(0, now + LIFETIME), now);
            }
            let len = table.len();
            // Live now: what was written in the last `LIFETIME` seconds.
            let live = usize::try_from(PER_SECOND * LIFETIME.min(now + 1)).unwrap();
            assert!(len >= live, "{len} entries, {live} live at {now}");
            assert!(
                len <= live + live / 3 + shards,
                "{len} entries, {live} live at {now}"
            );
            largest = largest.max(len);
        }
        let live = usize::try_from(PER_SECOND * LIFETIME).unwrap();
        assert!(largest > live, "the sweeps ran more often than needed");
    }
}
