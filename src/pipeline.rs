//! One packet through every stage: decode → flows/extractors → tracker contacts → sinks.
//!
//! Owned by one thread (the replay loop or the capture thread); the metrics it updates are
//! shared with the /metrics server.

use std::io;
use std::sync::Arc;

use crate::correlate::contacts::{ContactLimits, Contacts};
use crate::decode::{Decoded, Decoder, DefragLimits};
use crate::flow::{FlowLimits, FlowTracker};
use crate::model::{Contact, Observation, Ts};
use crate::sink::events::EventWriter;
use crate::sink::metrics::Metrics;
use crate::sink::summary::Summary;
use crate::trackers::{SharedTrackers, TrackerDb, TrackerView};

/// Bounds of every stateful stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    pub defrag: DefragLimits,
    pub flows: FlowLimits,
    pub contacts: ContactLimits,
}

/// See the module documentation.
pub struct Pipeline {
    decoder: Decoder,
    flows: FlowTracker,
    contacts: Contacts,
    db: Arc<TrackerDb>,
    /// With list reload (`live`): where new lists come from, checked once per packet with names.
    reloaded: Option<TrackerView>,
    metrics: Arc<Metrics>,
    events: Option<EventWriter>,
    pub summary: Summary,
    observations: Vec<Observation>,
    found: Vec<Contact>,
    relevant: Vec<bool>,
    since_sync: u32,
}

/// How often (in packets) the flow and decoder counters are copied into the metrics.
const SYNC_EVERY: u32 = 4096;

impl Pipeline {
    pub fn new(db: Arc<TrackerDb>, metrics: Arc<Metrics>, events: Option<EventWriter>, limits: Limits) -> Pipeline {
        Pipeline {
            decoder: Decoder::new(limits.defrag),
            flows: FlowTracker::new(limits.flows),
            contacts: Contacts::new(limits.contacts),
            db,
            reloaded: None,
            metrics,
            events,
            summary: Summary::default(),
            observations: Vec::new(),
            found: Vec::new(),
            relevant: Vec::new(),
            since_sync: 0,
        }
    }

    /// Replaces the tracker lists (list reload).
    pub fn set_trackers(&mut self, db: Arc<TrackerDb>) {
        self.db = db;
    }

    /// Follows the lists a reloader swaps into `shared`: a new list is in force from the next
    /// packet that carries names (cost per such packet: one relaxed atomic load).
    pub fn with_tracker_updates(mut self, shared: Arc<SharedTrackers>) -> Pipeline {
        let view = TrackerView::new(shared);
        self.db = view.db().clone();
        self.reloaded = Some(view);
        self
    }

    /// One captured frame. Errors are event-log write failures only; packet bytes never fail.
    pub fn packet(&mut self, ts: Ts, linktype: i32, data: &[u8], wire_len: u32) -> io::Result<()> {
        self.metrics.packets.inc();
        self.metrics.bytes.inc_by(u64::from(wire_len));
        self.summary.packet(ts, wire_len);
        self.since_sync += 1;
        if self.since_sync >= SYNC_EVERY {
            self.sync_stats();
        }
        match self.decoder.decode(ts, linktype, data) {
            Decoded::Segment(seg) => self.flows.handle(ts, &seg, &mut self.observations),
            Decoded::Skipped => return Ok(()),
            Decoded::Error(layer) => {
                self.metrics.decode_error(layer);
                self.summary.decode_error(layer);
                return Ok(());
            }
        }
        if self.observations.is_empty() {
            return Ok(());
        }
        if let Some(view) = &mut self.reloaded
            && let Some(db) = view.refresh()
        {
            self.db = db.clone();
        }
        self.contacts.observe(&self.db, &self.observations, &mut self.found, &mut self.relevant);
        let result = self.emit();
        self.observations.clear();
        self.found.clear();
        self.relevant.clear();
        result
    }

    fn emit(&mut self) -> io::Result<()> {
        for (obs, relevant) in self.observations.iter().zip(&self.relevant) {
            self.metrics.observation(&obs.kind);
            self.summary.observation(&obs.kind);
            if let Some(events) = &mut self.events {
                events.observation(obs, *relevant)?;
            }
        }
        for c in &self.found {
            self.metrics.contact(c);
            self.summary.contact(c);
            if let Some(events) = &mut self.events {
                events.contact(c)?;
            }
        }
        Ok(())
    }

    /// Copies the cumulative counters of the stateful stages into the metrics.
    pub fn sync_stats(&mut self) {
        self.since_sync = 0;
        let f = self.flows.stats();
        self.metrics.flows(f.streams, f.evicted_timeout, f.evicted_capacity);
    }

    /// Flushes the event log (periodically in live capture, and at the end).
    pub fn flush(&mut self) -> io::Result<()> {
        self.sync_stats();
        match &mut self.events {
            Some(e) => e.flush(),
            None => Ok(()),
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }
}
