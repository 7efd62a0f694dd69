//! Readout's application rules, written once: the JSON API and the pages
//! both call them, and neither holds a copy of its own (issue 14 moves
//! the rest here, operation by operation).
//!
//! No HTTP and no templates: an operation takes the [`Actor`] asking,
//! checks role and workspace itself, and says what is wrong as an
//! [`AppError`] in words a person can act on; each front end decides how
//! to show it.

#![forbid(unsafe_code)]

mod actor;
pub mod alerting;
pub mod channels;
mod error;
pub mod hosts;
pub mod layouts;
pub mod members;
mod name;
pub mod sources;

pub use actor::{Actor, Member, ROLE_CANNOT_CHANGE, Via};
pub use error::AppError;
pub use name::{MAX_NAME_CHARS, Name, NameError};
