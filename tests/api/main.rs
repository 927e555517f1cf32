#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests: the real server on a random port, real HTTP, a fresh database per test
//! on SQLite and on PostgreSQL. One binary, so it links once.

mod browsing;
mod helpers;
mod stub_http;

mod audit;
mod auth;
mod backups;
mod catalogue;
mod cli;
mod compose;
mod conformance;
mod contract;
mod cors;
mod declarations;
mod disclosure;
mod errors;
mod external_staff;
mod figure_cache;
mod headers;
mod health;
mod hr_audit;
mod identity_links;
mod idp_keys;
mod instances;
mod leavers;
mod login_memory;
mod login_throttle;
mod matrix;
mod migrations;
mod observability;
mod oidc_pages;
mod openapi;
mod padding;
mod pages;
mod retention;
mod rotation;
mod schema_parity;
mod scim;
mod shredding;
mod snapshots;
mod stats;
mod strict_input;
mod sync;
mod tallies;
