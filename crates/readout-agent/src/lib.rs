//! The Readout agent's parts; `main.rs` is its command line.
//!
//! Blocking code only: no async runtime, so the binary stays small and its
//! cost per cycle negligible next to the commands it runs.

#![forbid(unsafe_code)]

pub mod client;
pub mod config;
pub mod cycle;
pub mod runner;
pub mod spool;
pub mod state;
