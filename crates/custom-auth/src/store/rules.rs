//! The state store's rules as pure functions over plain records: what the store holds for a
//! user, and the decisions every adapter makes atomically with its write (a send, a link, an
//! admission). The in-memory adapter applies them directly; the DynamoDB adapter (`aws-io`)
//! writes the same rules as condition expressions.

use crate::config::state::Limits;

/// What the store holds for one user. Absent fields are zero: a record that does not exist is
/// `UserRecord::default()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserRecord {
    /// Codes sent in the send window.
    pub send_count: u32,
    /// When the send window ends (Unix seconds); at or before now, there is none.
    pub send_window_end: u64,
    /// Wrong answers in the lockout window.
    pub fail_count: u32,
    /// When the lockout window ends.
    pub fail_window_end: u64,
    /// When the user's newest magic link was issued (Unix seconds; 0: none): the least
    /// interval between links counts from it.
    pub link_at: u64,
    /// Which link is the user's newest ([`crate::steps::magic`]'s number of its id; 0: none). Two
    /// links issued in the same second (allowed with `MAGIC_LINK_MIN_INTERVAL_SECONDS=0`) have
    /// one time but two numbers, so only the newer one signs in.
    pub link_id: u64,
}

impl UserRecord {
    /// Whether the user is locked at `now`: enough wrong answers in a window still running.
    pub fn locked(&self, now: u64, limits: &Limits) -> bool {
        self.fail_window_end > now && self.fail_count >= limits.lockout_after
    }

    /// Whether a send window is running at `now`.
    pub fn sending(&self, now: u64) -> bool {
        self.send_window_end > now
    }
}

/// The answer to a request to send a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendGate {
    /// Counted: the code may go.
    Allowed,
    /// The user was sent `OTP_SEND_LIMIT` codes in the running window: nothing may be sent.
    OverLimit,
    /// The user is locked: nothing may be sent.
    Locked,
    /// A magic link went to the user less than `MAGIC_LINK_MIN_INTERVAL_SECONDS` ago: no new
    /// one (the last one still works).
    TooSoon,
}

impl SendGate {
    /// The rule, as a pure function: the gate for a send at `now` given the record before it.
    /// Adapters must decide exactly this, atomically with the count.
    pub fn decide(before: &UserRecord, now: u64, limits: &Limits) -> SendGate {
        if before.locked(now, limits) {
            SendGate::Locked
        } else if before.sending(now) && before.send_count >= limits.send_limit {
            SendGate::OverLimit
        } else {
            SendGate::Allowed
        }
    }

    /// The rule for a magic link: as [`SendGate::decide`], and not within `min_interval` of
    /// the user's newest link. Adapters decide exactly this, atomically with the count and the
    /// new link time.
    pub fn decide_link(
        before: &UserRecord,
        now: u64,
        limits: &Limits,
        min_interval: u64,
    ) -> SendGate {
        match SendGate::decide(before, now, limits) {
            SendGate::Allowed
                if before.link_at > 0 && before.link_at.saturating_add(min_interval) > now =>
            {
                SendGate::TooSoon
            }
            gate => gate,
        }
    }
}

/// Where a user's wrong answers stand right after one was counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Failures {
    /// Wrong answers in the running lockout window, this one included.
    pub count: u32,
    /// When that window ends (Unix seconds).
    pub window_end: u64,
}

impl Failures {
    /// When the lockout this very answer began ends: `Some` exactly once per lockout, for
    /// the answer that reached `LOCKOUT_AFTER_FAILURES` (later ones only extend nothing: the
    /// window is fixed at its first failure).
    pub fn lockout_began(&self, limits: &Limits) -> Option<u64> {
        (limits.lockout_after > 0 && self.count == limits.lockout_after).then_some(self.window_end)
    }
}

/// Whether a correct answer may pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// It may.
    Admitted,
    /// The user is locked: even a correct answer is refused.
    Locked,
    /// The signed token was used before.
    Replayed,
}

/// Counts one send in `record` at `now`: in the running window, or as the first of a new one.
pub(crate) fn count_send(record: &mut UserRecord, now: u64, limits: &Limits) {
    if record.sending(now) {
        record.send_count += 1;
    } else {
        record.send_count = 1;
        record.send_window_end = now.saturating_add(limits.send_window);
    }
}
