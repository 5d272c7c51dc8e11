//! Flows: bounded flow table, per-direction TCP reassembly of the first bytes, DNS-over-TCP
//! framing, and the per-client IP→name cache learned from DNS answers.
