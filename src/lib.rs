//! Declare: voluntary, consented, anonymised equality monitoring.
//!
//! Layers, outermost first: [`http`] (thin handlers) -> [`services`] -> [`domain`] (pure
//! rules) and [`store`] (the only SQL). [`startup::Application`] builds the same server the
//! binary runs and the integration tests start.

pub mod auth;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod fetch_url;
pub mod http;
pub mod metrics;
pub mod services;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
