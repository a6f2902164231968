//! A magic link's e-mail: the link (the page, the proof in its fragment) in a text part and an
//! HTML part, and its validity; nothing else secret.

use crate::config::magic_link::LinkSettings;
use crate::ports::{Channel, CodeMessage};

/// The fragment parameter of the link that carries the proof: `#magic-link=<proof>`.
pub const FRAGMENT: &str = "magic-link";

/// The link for `proof`: the page, with the proof in its fragment.
pub fn link(url: &str, proof: &str) -> String {
    format!("{url}#{FRAGMENT}={proof}")
}

/// The e-mail with the link: a text part and an HTML part, the link and its validity in both,
/// nothing else secret.
pub fn message(settings: &LinkSettings, to: &str, link: &str) -> CodeMessage {
    let minutes = settings.ttl_seconds.div_ceil(60);
    let valid = format!(
        "It works once, within {minutes} minute{}, on any device.",
        if minutes == 1 { "" } else { "s" }
    );
    let ignore = "If you did not ask to sign in, ignore this message: nobody can use the link without opening this e-mail.";
    let escaped = html_escape(link);
    CodeMessage {
        channel: Channel::Email,
        destination: to.to_owned(),
        subject: settings.subject.clone(),
        body: format!("Open this link to sign in:\n\n{link}\n\n{valid}\n\n{ignore}\n"),
        html: Some(format!(
            "<!doctype html><html><body style=\"font-family:sans-serif\"><p>Open this link to sign in:</p>\
             <p><a href=\"{escaped}\">Sign in</a></p><p style=\"word-break:break-all\">{escaped}</p>\
             <p>{valid}</p><p>{ignore}</p></body></html>"
        )),
    }
}

pub(super) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
