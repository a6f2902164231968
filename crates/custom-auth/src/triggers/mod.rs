//! The triggers above the step kinds: each walks the session, dispatches to the step's module
//! with an exhaustive `match` on the step, and settles with the store. Define's decision is the
//! pure engine in [`crate::flow`].

pub mod create;
pub mod pre_token;
pub mod report;
pub mod verify;
