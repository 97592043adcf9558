//! The GOP cache of the process: coded GOPs keyed by their frame hash (which covers the
//! screen, its context, the page, the strip and the profile), within a byte budget,
//! dropping the least recently aired first. Every lane of every channel shares it through
//! [`super::worker::Encoders`], so a frame two channels air is kept (and encoded) once.

use std::collections::HashMap;
use std::sync::Arc;

use super::encode::Gop;
use crate::render::ScreenHash;

struct Entry {
    gop: Arc<Gop>,
    /// When it was last aired or made, on the cache's own clock.
    used: u64,
}

/// Coded GOPs by frame hash, within a byte budget (not thread-safe: its owner locks it).
pub(crate) struct GopCache {
    entries: HashMap<ScreenHash, Entry>,
    /// Bytes of coded video held.
    bytes: usize,
    /// A counter that orders uses.
    tick: u64,
    budget: usize,
}

impl GopCache {
    /// An empty cache of `budget` bytes.
    pub(crate) fn new(budget: usize) -> GopCache {
        GopCache {
            entries: HashMap::new(),
            bytes: 0,
            tick: 0,
            budget,
        }
    }

    /// Its byte budget.
    pub(crate) fn budget(&self) -> usize {
        self.budget
    }

    /// Bytes of coded video held.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// GOPs held.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The GOP of frame `key`, marked as just aired.
    pub(crate) fn get(&mut self, key: &ScreenHash) -> Option<Arc<Gop>> {
        self.tick += 1;
        let tick = self.tick;
        self.entries.get_mut(key).map(|e| {
            e.used = tick;
            Arc::clone(&e.gop)
        })
    }

    /// Keeps `gop` as frame `key`'s, then drops the least recently aired GOPs until the
    /// cache is within its budget (the one just kept stays even when it alone is larger).
    /// Returns how many were dropped.
    pub(crate) fn insert(&mut self, key: ScreenHash, gop: Arc<Gop>) -> u64 {
        self.tick += 1;
        self.bytes += gop.bytes();
        let entry = Entry {
            gop,
            used: self.tick,
        };
        if let Some(old) = self.entries.insert(key, entry) {
            self.bytes -= old.gop.bytes();
        }
        let mut dropped = 0;
        while self.bytes > self.budget {
            let oldest = self
                .entries
                .iter()
                .filter(|(k, _)| **k != key)
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| *k);
            let Some(k) = oldest else { break };
            if let Some(e) = self.entries.remove(&k) {
                self.bytes -= e.gop.bytes();
                dropped += 1;
            }
        }
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> ScreenHash {
        ScreenHash::parse(&format!("{n:02x}").repeat(16)).unwrap()
    }

    #[test]
    fn keeps_within_its_budget_dropping_the_least_recently_aired() {
        let mut cache = GopCache::new(300);
        for n in 0..3 {
            assert_eq!(cache.insert(key(n), Arc::new(Gop::of_bytes(100))), 0);
        }
        assert_eq!((cache.len(), cache.bytes()), (3, 300));
        // 0 aired again: 1 is now the least recently aired, and goes first.
        assert!(cache.get(&key(0)).is_some());
        assert_eq!(cache.insert(key(3), Arc::new(Gop::of_bytes(100))), 1);
        assert!(cache.get(&key(1)).is_none());
        assert!(cache.get(&key(0)).is_some() && cache.get(&key(3)).is_some());
        assert_eq!(cache.bytes(), 300);
        // Replacing a frame's GOP counts its bytes once.
        assert_eq!(cache.insert(key(3), Arc::new(Gop::of_bytes(50))), 0);
        assert_eq!((cache.len(), cache.bytes()), (3, 250));
        // A GOP larger than the budget stays, alone.
        assert_eq!(cache.insert(key(9), Arc::new(Gop::of_bytes(1000))), 3);
        assert_eq!((cache.len(), cache.bytes()), (1, 1000));
        assert!(cache.get(&key(9)).is_some());
    }
}
