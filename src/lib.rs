//! pixelwatch: makes e-mail spy pixels and other tracking requests visible from the network.
//!
//! Pipeline (data flows one way): [`capture`] → [`decode`] → [`flow`] → [`extract`] →
//! [`trackers`] / [`correlate`] → [`sink`].
#![deny(unsafe_code)]

pub mod capture;
pub mod cli;
pub mod commands;
pub mod config;
pub mod correlate;
pub mod decode;
pub mod extract;
pub mod flow;
pub mod model;
pub mod pipeline;
pub mod sink;
pub mod trackers;
