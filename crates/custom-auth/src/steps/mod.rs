//! The step contract: what a step kind gives Create ([`round`]) and Verify ([`answer`]). It sits
//! below the step kinds and the triggers, and imports neither.

pub mod answer;
pub mod round;
