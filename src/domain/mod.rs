//! Pure rules: no I/O, no actix, no diesel. Everything here is unit- and property-tested on its
//! own, and a reader finds a rule by its name (the suppression rule is `disclosure`, the
//! question catalogue and answer validation are `catalogue`).

pub mod audit;
pub mod catalogue;
pub mod completion;
pub mod consent;
pub mod disclosure;
pub mod identity;
pub mod schedule;
pub mod scim;
pub mod tally;
pub mod text;
pub mod workforce;
