//! Readout's application rules, written once: the JSON API and the pages
//! both call them, and neither holds a copy of its own (issue 14 moves
//! the rest here, operation by operation).
//!
//! No HTTP and no templates: a rule says what is wrong in words a person
//! can act on, and each front end decides how to show it.

#![forbid(unsafe_code)]

mod name;

pub use name::{MAX_NAME_CHARS, Name, NameError};
