//! Application services: one module per use case family. They hold the rules that span the
//! store and the domain (transactions, authorisation of *which* record), so handlers stay thin
//! and the CLI calls the same code as the API.

pub mod answer_keys;
pub mod audit;
pub mod backup;
pub mod catalogue;
pub mod catalogue_migration;
pub mod consent;
pub mod counted;
pub mod declarations;
pub mod erasure;
pub mod figure_cache;
pub mod identity;
pub mod key_tree;
pub mod leavers;
pub mod noise;
pub mod published;
pub mod retention;
pub mod rotation;
pub mod rows;
pub mod scim;
pub mod stats;
pub mod structure;
pub mod subject;
pub mod sync;
pub mod tallies;
pub mod timestamps;
pub mod workforce;
