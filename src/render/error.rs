//! Errors of the render module.
//!
//! Policy: every failure has a stable machine code ([`RenderError::code`], e.g.
//! `render.missing_glyph`) for logs and API bodies, and a Chinese message
//! (`Display`) that a registrar can act on. Messages name the field, the file
//! and line, or the character at fault; they never carry typst internals that
//! the registrar cannot use. A template problem names the template file and the
//! line, because the bureau edits templates itself.

use std::fmt;

use super::kind::DocKind;

/// Why a document could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The kind code is not one of [`DocKind::ALL`].
    #[error("未知的文书类型：{0}")]
    UnknownKind(String),

    /// A character of the data has no glyph in any bundled font.
    #[error("字段 {field} 中的字符“{ch}”({codepoint}) 在所有内置字体中都没有字形，无法打印；请核对该字或补充字体")]
    MissingGlyph {
        /// The character.
        ch: char,
        /// Its code point, `U+XXXX`.
        codepoint: String,
        /// Where it was found: a data path like `student.name`, or
        /// `template:<file>:<line>` for template text.
        field: String,
    },

    /// The template failed to compile (or to lay out) with this data.
    #[error("模板 {file} 第 {line} 行第 {column} 列出错（{kind}）：{message}")]
    Template {
        /// The document kind being rendered.
        kind: DocKind,
        /// The template file, relative to the templates directory.
        file: String,
        /// 1-based line, 0 if unknown.
        line: usize,
        /// 1-based column (in characters), 0 if unknown.
        column: usize,
        /// The compiler's message.
        message: String,
    },

    /// The photo could not be read or normalised.
    #[error("照片无法处理：{0}")]
    Photo(String),

    /// The record data does not follow the data contract.
    #[error("文书数据不符合约定：{0}")]
    Data(String),

    /// The QR code could not be built (e.g. the verify URL is too long).
    #[error("二维码无法生成：{0}")]
    Qr(String),

    /// The fonts directory could not be read or holds no usable font.
    #[error("字体加载失败：{0}")]
    Fonts(String),

    /// The templates directory or a template file could not be read.
    #[error("模板文件读取失败：{0}")]
    TemplateFiles(String),

    /// PDF export failed.
    #[error("PDF 生成失败：{0}")]
    Pdf(String),
}

impl RenderError {
    /// A stable machine code for this error, e.g. `render.missing_glyph`.
    pub fn code(&self) -> &'static str {
        match self {
            RenderError::UnknownKind(_) => "render.unknown_kind",
            RenderError::MissingGlyph { .. } => "render.missing_glyph",
            RenderError::Template { .. } => "render.template",
            RenderError::Photo(_) => "render.photo",
            RenderError::Data(_) => "render.data",
            RenderError::Qr(_) => "render.qr",
            RenderError::Fonts(_) => "render.fonts",
            RenderError::TemplateFiles(_) => "render.template_files",
            RenderError::Pdf(_) => "render.pdf",
        }
    }
}

/// A text refused where it enters the records because the bundled fonts
/// cannot print one of its characters (see
/// [`Coverage::check`](super::Coverage::check)); code [`Unprintable::CODE`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("字段“{field}”中的字符“{ch}”（{codepoint}）无法用随附字体打印，请改用规范汉字")]
pub struct Unprintable {
    /// The field, as the person entering it knows it (e.g. `姓名`).
    pub field: String,
    /// The first character that cannot be printed.
    pub ch: char,
    /// Its code point, `U+XXXX`.
    pub codepoint: String,
}

impl Unprintable {
    /// The stable machine code of this refusal.
    pub const CODE: &'static str = "text.unprintable";
}

/// A template that does not compile with its sample data, as reported by
/// [`Renderer::check_templates`](super::Renderer::check_templates).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TemplateProblem {
    /// The document kind whose check failed.
    pub kind: DocKind,
    /// The file at fault, relative to the templates directory
    /// (e.g. `lib.typ`, `graduation_certificate.typ`, `samples/registration.json`).
    pub file: String,
    /// 1-based line, 0 if unknown.
    pub line: usize,
    /// 1-based column (in characters), 0 if unknown.
    pub column: usize,
    /// What is wrong, in the compiler's words or ours.
    pub message: String,
}

impl fmt::Display for TemplateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: [{}] {}", self.file, self.line, self.column, self.kind, self.message)
    }
}
