//! The documents the renderer prints: the kind is the domain's
//! [`DocKind`]; the renderer adds its template file and the parse of a kind
//! code, refused as a [`RenderError`] (`render.unknown_kind`).

use std::str::FromStr;

use super::error::RenderError;

pub use crate::domain::DocKind;

impl DocKind {
    /// The template file name inside the templates directory.
    pub fn template_file(self) -> String {
        format!("{}.typ", self.code())
    }
}

impl FromStr for DocKind {
    type Err = RenderError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DocKind::from_code(s).ok_or_else(|| RenderError::UnknownKind(s.to_owned()))
    }
}
