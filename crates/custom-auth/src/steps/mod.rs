//! The step kinds, one module each, and the contract they are written against, which sits below
//! them: [`round`] (what Create hands a step kind and what it fills) and [`answer`] (why an
//! answer is wrong). The contract imports no step kind and no trigger. A step kind imports the
//! contract, `config`, the ports, `keys` and what sits below it (the passkey capability, the
//! rule of where a message may go in [`destination`]), never a trigger nor another step kind.

pub mod answer;
pub mod round;

pub mod account;
pub mod captcha;
pub mod choice;
pub mod destination;
pub mod device;
pub mod magic;
pub mod otp;
pub mod passkey;
pub mod token;
