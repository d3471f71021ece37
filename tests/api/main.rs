//! Integration tests against a real server on a loopback port, over SQLite by
//! default and PostgreSQL when `XUEJI_TEST_DATABASE_URL` is set. One binary.

#[macro_use]
mod redact;

mod access;
mod archive;
mod audit;
mod auth;
mod calendar;
mod certificates;
mod delays;
mod documents;
mod dropout;
mod endpoints;
mod forms;
mod hand_over;
mod helpers;
mod historical;
mod import;
mod intake;
mod keys;
mod long_names;
mod national;
mod object_store;
mod ocr;
mod pages;
mod pool;
mod problems;
mod qr;
mod records;
mod search;
mod share_codes;
mod stages;
mod statistics;
mod verify;
mod workflow;
mod workflow_pages;
mod workflow_property;
