//! `xueji-archive`: a content-addressed store for scanned paper files.
//!
//! It knows nothing of students, typst or HTTP.
