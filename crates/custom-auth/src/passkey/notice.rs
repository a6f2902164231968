//! The e-mail that tells a user a passkey was added to or removed from their account.
//!
//! A stolen access token is enough to call the registration API. Fresh sign-in and the
//! revocation check ([`super::api`]) make that hard; this mail makes it loud: whoever adds a
//! passkey to an account, its owner hears of it at once, at the address the pool verified.
//! Nothing in it is secret, and nothing else depends on it being sent.

use crate::ports::{Channel, CodeMessage};

/// What happened to the passkey.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// A passkey was registered.
    Added,
    /// A passkey was deleted.
    Removed,
}

/// The notice to `to` that the passkey `name` was `change`d at `at` (Unix seconds).
pub fn message(to: &str, change: Change, name: &str, at: u64) -> CodeMessage {
    let (subject, what, advice) = match change {
        Change::Added => (
            "A passkey was added to your account",
            "added to",
            "If this wasn't you, someone else can sign in to your account: sign in, delete this passkey, and change how you sign in.",
        ),
        Change::Removed => (
            "A passkey was removed from your account",
            "removed from",
            "If this wasn't you, someone else has access to your account: sign in another way and check your passkeys.",
        ),
    };
    CodeMessage {
        channel: Channel::Email,
        destination: to.to_owned(),
        subject: subject.to_owned(),
        body: format!(
            "The passkey \"{name}\" was {what} your account on {}.\n\n{advice}\n",
            utc(at)
        ),
        html: None,
    }
}

/// `at` (Unix seconds) as `YYYY-MM-DD at HH:MM UTC`.
fn utc(at: u64) -> String {
    let (year, month, day, hour, minute, _) = crate::encoding::civil(at);
    format!("{year:04}-{month:02}-{day:02} at {hour:02}:{minute:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        for (at, want) in [
            (0, "1970-01-01 at 00:00 UTC"),
            (951_782_400, "2000-02-29 at 00:00 UTC"),
            (1_796_468_820, "2026-12-05 at 11:07 UTC"),
            (4_107_542_399, "2100-02-28 at 23:59 UTC"),
        ] {
            assert_eq!(utc(at), want, "{at}");
        }
    }

    #[test]
    fn the_notice_names_the_passkey_the_time_and_what_to_do() {
        let m = message(
            "jane@example.com",
            Change::Added,
            "Work laptop",
            1_796_468_820,
        );
        assert_eq!(m.channel, Channel::Email);
        assert_eq!(m.destination, "jane@example.com");
        assert_eq!(m.subject, "A passkey was added to your account");
        assert!(
            m.body
                .contains("\"Work laptop\" was added to your account on 2026-12-05 at 11:07 UTC")
        );
        assert!(m.body.contains("If this wasn't you"));
        let m = message("jane@example.com", Change::Removed, "Phone", 0);
        assert!(m.body.contains("\"Phone\" was removed from your account"));
    }
}
