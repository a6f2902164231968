//! Base64 as the APIs and WebAuthn write binary, and times as people read them: one place, so
//! the passkeys, the devices, the stores, the notices and the audit trail agree.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Base64url without padding, as WebAuthn's JSON writes binary.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Standard base64 (with padding), as API Gateway encodes bodies; `None` for anything else.
pub fn unb64_standard(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// The inverse of [`b64`]; `None` for anything else.
pub fn unb64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// `at` (Unix seconds) as the civil UTC date and time (year, month, day, hour, minute,
/// second), by Howard Hinnant's days-to-civil algorithm: no date crate for a line of text.
pub fn civil(at: u64) -> (i64, i64, i64, u64, u64, u64) {
    let days = i64::try_from(at / 86_400).unwrap_or(0);
    let seconds = at % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60,
    )
}

/// `at` (Unix seconds) in RFC 3339, UTC, to the second: `2026-12-06T00:15:09Z`.
pub fn rfc3339(at: u64) -> String {
    let (year, month, day, hour, minute, second) = civil(at);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_civil_utc() {
        for (at, want) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_796_468_839, "2026-12-05T11:07:19Z"),
            (4_107_542_399, "2100-02-28T23:59:59Z"),
        ] {
            assert_eq!(super::rfc3339(at), want, "{at}");
        }
    }
}
