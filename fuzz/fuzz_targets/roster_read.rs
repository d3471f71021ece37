//! `xueji::roster::read::read` on arbitrary bytes: xlsx/xls through
//! calamine, CSV in UTF-8 or GB18030, then the header and row mapping.
//! Needs the `roster` feature (it links the whole service crate).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sheet) = xueji::roster::read::read(data) {
        assert!(!sheet.rows.is_empty());
        assert!(sheet.rows.len() <= xueji::roster::read::MAX_ROWS);
    }
});
