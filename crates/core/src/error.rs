use std::fmt;

/// What went wrong, by who has to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// A file is not what it should be: syntax, truncation, wrong kind of file.
    Format,
    /// The model is well-formed but inconsistent: missing weights, shapes that do not fit.
    Model,
    /// The model uses something the engine does not run.
    Unsupported,
    /// The input given to the model or a tool does not fit.
    Input,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn format(m: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Format, message: m.into() }
    }
    pub fn model(m: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Model, message: m.into() }
    }
    pub fn unsupported(m: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Unsupported, message: m.into() }
    }
    pub fn input(m: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Input, message: m.into() }
    }
    /// Prefixes the message with where it happened, keeping the kind.
    pub fn context(self, what: impl fmt::Display) -> Self {
        Self { kind: self.kind, message: format!("{what}: {}", self.message) }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand for `Err(Error::model(format!(...)))`-style early returns.
#[macro_export]
macro_rules! bail {
    ($kind:ident, $($arg:tt)*) => {
        return Err($crate::Error::$kind(format!($($arg)*)))
    };
}
