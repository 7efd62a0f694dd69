//! The one rule for what people name: workspaces, people, tokens,
//! channels, routes, templates.

use std::fmt;

/// The longest name, in characters (not bytes: "Zürich" is six).
pub const MAX_NAME_CHARS: usize = 100;

/// A name as kept: trimmed, 1 to [`MAX_NAME_CHARS`] characters, no
/// control characters (a newline or an escape would break the lines and
/// terminals it is shown in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

/// What is wrong with a name, said to the person typing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the name is empty")]
    Empty,
    #[error("the name is {chars} characters long; at most {MAX_NAME_CHARS}")]
    TooLong { chars: usize },
    #[error("the name holds a control character (at character {at})")]
    Control { at: usize },
}

impl Name {
    /// The name typed, trimmed, or what is wrong with it.
    pub fn parse(typed: &str) -> Result<Self, NameError> {
        let name = typed.trim();
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        let chars = name.chars().count();
        if chars > MAX_NAME_CHARS {
            return Err(NameError::TooLong { chars });
        }
        if let Some(at) = name.chars().position(char::is_control) {
            return Err(NameError::Control { at: at + 1 });
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_counted_in_characters_and_trimmed() {
        let zurich = "Zürich ".repeat(14);
        assert_eq!(zurich.trim().chars().count(), 97);
        assert!(
            zurich.trim().len() > MAX_NAME_CHARS,
            "more bytes than characters"
        );
        assert_eq!(
            Name::parse(&zurich).map(Name::into_string),
            Ok(zurich.trim().to_owned())
        );
        assert_eq!(
            Name::parse(&"é".repeat(100)).map(|n| n.as_str().chars().count()),
            Ok(100)
        );
        assert_eq!(
            Name::parse(&"é".repeat(101)),
            Err(NameError::TooLong { chars: 101 })
        );
    }

    #[test]
    fn empty_names_and_control_characters_are_refused() {
        assert_eq!(Name::parse(""), Err(NameError::Empty));
        assert_eq!(Name::parse(" \t\n "), Err(NameError::Empty));
        assert_eq!(Name::parse("ops\nmail"), Err(NameError::Control { at: 4 }));
        assert_eq!(
            Name::parse("ops\u{1b}[31m"),
            Err(NameError::Control { at: 4 })
        );
        assert_eq!(
            NameError::TooLong { chars: 120 }.to_string(),
            "the name is 120 characters long; at most 100"
        );
    }
}
