//! Outputs: the Prometheus registry and /metrics server, the JSON Lines event log, the summary.
//! The only layer besides `capture` that does I/O, and (with `main`) the only one that knows tokio.

pub mod events;
pub mod metrics;
pub mod progress;
pub mod server;
pub mod summary;
pub mod webconfig;
