//! The layout records of the frames the headend has drawn, by frame hash: what
//! `GET /api/v1/screens/{hash}/layout` answers. Bounded: the oldest records go first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use super::{Layout, ScreenHash};

/// Records kept by default.
pub const DEFAULT_CAPACITY: usize = 8192;

/// Records by hash, and their insertion order (oldest first).
type Records = (HashMap<ScreenHash, Arc<str>>, VecDeque<ScreenHash>);

/// Layout records (JSON) by frame hash, shared by playout and the web API.
#[derive(Debug)]
pub struct LayoutRegistry {
    inner: Mutex<Records>,
    capacity: usize,
}

impl Default for LayoutRegistry {
    fn default() -> Self {
        LayoutRegistry::new(DEFAULT_CAPACITY)
    }
}

impl LayoutRegistry {
    /// A registry keeping at most `capacity` records (at least one).
    pub fn new(capacity: usize) -> LayoutRegistry {
        LayoutRegistry {
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
            capacity: capacity.max(1),
        }
    }

    /// The JSON record of `layout`, as `--layout` writes it.
    pub fn record(layout: &Layout) -> Arc<str> {
        // Plain data always serialises; an empty object would be caught by every reader.
        Arc::from(serde_json::to_string(layout).unwrap_or_else(|_| "{}".to_owned()))
    }

    /// Remembers the record of frame `hash`; returns it.
    pub fn insert(&self, hash: ScreenHash, layout: &Layout) -> Arc<str> {
        if let Some(known) = self.get(hash) {
            return known;
        }
        let record = LayoutRegistry::record(layout);
        if let Ok(mut g) = self.inner.lock() {
            let (map, order) = &mut *g;
            if map.insert(hash, Arc::clone(&record)).is_none() {
                order.push_back(hash);
            }
            while order.len() > self.capacity {
                if let Some(old) = order.pop_front() {
                    map.remove(&old);
                }
            }
        }
        record
    }

    /// The record of frame `hash`, if it was drawn.
    pub fn get(&self, hash: ScreenHash) -> Option<Arc<str>> {
        self.inner.lock().ok()?.0.get(&hash).cloned()
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |g| g.0.len())
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
