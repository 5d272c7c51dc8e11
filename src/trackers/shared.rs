//! The tracker database shared between the list reloader and the packet thread.
//!
//! The reloader builds a new [`TrackerDb`] on its own thread and swaps it in with
//! [`SharedTrackers::replace`]; the packet thread holds its own `Arc<TrackerDb>` and checks the
//! generation counter once per packet (one relaxed atomic load of a cache line that is written
//! only at a reload). When the generation moved, it takes the read lock once and clones the new
//! `Arc`. Nothing on the packet path waits for a reload, and a lookup never sees a half-built list.
//!
//! Why not `arc-swap`: its `load()` is lock-free but costs a few nanoseconds on every call (debt
//! slots); with a generation check the common case is a single load and a compare, and it needs no
//! new dependency.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use super::TrackerDb;

/// See the module documentation.
#[derive(Debug)]
pub struct SharedTrackers {
    current: RwLock<Arc<TrackerDb>>,
    /// Incremented after each replacement (release), read per packet (relaxed): the read lock
    /// taken after seeing a new value orders the reads of the new database.
    generation: AtomicU64,
}

impl SharedTrackers {
    pub fn new(db: Arc<TrackerDb>) -> Arc<SharedTrackers> {
        Arc::new(SharedTrackers { current: RwLock::new(db), generation: AtomicU64::new(0) })
    }

    /// The database in force.
    pub fn current(&self) -> Arc<TrackerDb> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How many times the database was replaced. One relaxed load: cheap enough for every packet.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// Swaps in `db`; returns the database it replaced (drop it off the packet path).
    pub fn replace(&self, db: Arc<TrackerDb>) -> Arc<TrackerDb> {
        let old = std::mem::replace(&mut *self.current.write().unwrap_or_else(|e| e.into_inner()), db);
        self.generation.fetch_add(1, Ordering::Release);
        old
    }
}

/// A packet thread's view of [`SharedTrackers`]: its own `Arc` and the generation it was taken at.
#[derive(Debug)]
pub struct TrackerView {
    shared: Arc<SharedTrackers>,
    db: Arc<TrackerDb>,
    generation: u64,
}

impl TrackerView {
    pub fn new(shared: Arc<SharedTrackers>) -> TrackerView {
        // Generation first: a replacement between the two reads is seen at the next refresh.
        let generation = shared.generation();
        let db = shared.current();
        TrackerView { shared, db, generation }
    }

    /// The database after any replacement made since the last call; `Some` when it changed.
    #[inline]
    pub fn refresh(&mut self) -> Option<&Arc<TrackerDb>> {
        let now = self.shared.generation();
        if now == self.generation {
            return None;
        }
        self.generation = now;
        self.db = self.shared.current();
        Some(&self.db)
    }

    pub fn db(&self) -> &Arc<TrackerDb> {
        &self.db
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trackers::{Builder, ListSpec};

    fn db(text: &str) -> Arc<TrackerDb> {
        let spec = ListSpec { path: "x.txt".into(), ..ListSpec::default() };
        Arc::new(Builder::new().bytes(&spec, text.as_bytes()).build())
    }

    #[test]
    fn a_view_sees_a_replacement_once_and_keeps_its_own_copy_meanwhile() {
        let shared = SharedTrackers::new(db("one.example\n"));
        let mut view = TrackerView::new(shared.clone());
        assert!(view.refresh().is_none());
        assert!(view.db().lookup("one.example").is_some());
        let old = shared.replace(db("two.example\n"));
        assert!(old.lookup("one.example").is_some());
        // The view still holds the old database until it refreshes.
        assert!(view.db().lookup("one.example").is_some());
        assert_eq!(Arc::strong_count(&old), 2);
        let new = view.refresh().expect("a new generation");
        assert!(new.lookup("two.example").is_some() && new.lookup("one.example").is_none());
        assert!(view.refresh().is_none());
        assert_eq!(Arc::strong_count(&old), 1, "the view released the old database");
        assert_eq!(shared.generation(), 1);
    }

    #[test]
    fn replacements_from_another_thread_are_picked_up() {
        let shared = SharedTrackers::new(db("gen0.example\n"));
        let mut view = TrackerView::new(shared.clone());
        let writer = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                for i in 1..=50 {
                    shared.replace(db(&format!("gen{i}.example\n")));
                }
            })
        };
        let mut seen = 0;
        while seen < 50 {
            if view.refresh().is_some() {
                // Whatever generation we see, the database is complete: exactly one entry.
                assert_eq!(view.db().entries().len(), 1);
            }
            seen = view.generation;
            std::hint::spin_loop();
        }
        writer.join().unwrap();
        assert!(view.db().lookup("gen50.example").is_some());
    }
}
