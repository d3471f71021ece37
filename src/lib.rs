//! xueji: student-status records for a county education bureau.
