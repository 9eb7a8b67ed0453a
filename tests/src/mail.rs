//! Reading the e-mail the control plane sent: `.eml` files in the development mail directory,
//! or a maildir written by a real SMTP sink (aiosmtpd's Mailbox handler). Tests find a message
//! by recipient and subject, and take the single-use link out of it.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// One message, headers parsed and body decoded.
#[derive(Clone, Debug)]
pub struct Mail {
    pub path: PathBuf,
    pub to: String,
    pub subject: String,
    pub message_id: Option<String>,
    pub body: String,
    pub raw: String,
}

impl Mail {
    pub fn parse(path: &Path) -> Option<Self> {
        let raw = std::fs::read_to_string(path).ok()?;
        let normalised = raw.replace("\r\n", "\n");
        let (head, body) = normalised.split_once("\n\n")?;
        // Unfold continuation lines.
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some(last) = headers.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(line.trim());
                }
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let encoding = header("content-transfer-encoding").unwrap_or_default();
        let body = if encoding.eq_ignore_ascii_case("quoted-printable") {
            decode_quoted_printable(body)
        } else if encoding.eq_ignore_ascii_case("base64") {
            use base64::Engine as _;
            let compact: String = body.split_whitespace().collect();
            String::from_utf8_lossy(
                &base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .unwrap_or_default(),
            )
            .into_owned()
        } else {
            body.to_owned()
        };
        Some(Self {
            path: path.to_owned(),
            to: header("to").unwrap_or_default(),
            subject: header("subject").unwrap_or_default(),
            message_id: header("message-id"),
            body,
            raw,
        })
    }

    /// The first URL in the body that contains `path`.
    pub fn link(&self, path: &str) -> String {
        self.body
            .split_whitespace()
            .find(|word| word.starts_with("http") && word.contains(path))
            .unwrap_or_else(|| panic!("no {path} link in {:?}: {}", self.subject, self.body))
            .to_owned()
    }

    /// The `token` query parameter of the link containing `path`.
    pub fn token(&self, path: &str) -> String {
        let link = self.link(path);
        link.split_once("token=")
            .map(|(_, t)| t.split('&').next().unwrap_or_default().to_owned())
            .expect("token parameter")
    }
}

fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Some(byte) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every message file under `dir` (its `new/` and `cur/` too, for maildirs).
pub fn all(dir: &Path) -> Vec<Mail> {
    let mut files = Vec::new();
    for sub in [dir.to_owned(), dir.join("new"), dir.join("cur")] {
        if let Ok(entries) = std::fs::read_dir(&sub) {
            for entry in entries.flatten() {
                if entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
                    files.push(entry.path());
                }
            }
        }
    }
    files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    files.iter().filter_map(|p| Mail::parse(p)).collect()
}

/// Messages to `to` whose subject contains `subject`, oldest first.
pub fn matching(dir: &Path, to: &str, subject: &str) -> Vec<Mail> {
    all(dir)
        .into_iter()
        .filter(|m| m.to.to_lowercase().contains(&to.to_lowercase()) && m.subject.contains(subject))
        .collect()
}

/// Waits (up to 15 s) until there are at least `count` such messages, and returns the newest.
pub async fn wait_for_nth(dir: &Path, to: &str, subject: &str, count: usize) -> Mail {
    for _ in 0..300 {
        let found = matching(dir, to, subject);
        if found.len() >= count {
            return found.last().cloned().expect("a message");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "no e-mail #{count} to {to} with subject containing {subject:?} in {}; there are: {:?}",
        dir.display(),
        all(dir)
            .iter()
            .map(|m| (m.to.clone(), m.subject.clone()))
            .collect::<Vec<_>>()
    );
}

/// Waits for the first message to `to` with `subject` in its subject.
pub async fn wait_for(dir: &Path, to: &str, subject: &str) -> Mail {
    wait_for_nth(dir, to, subject, 1).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_soft_breaks_and_escapes_are_decoded() {
        assert_eq!(
            decode_quoted_printable("http://x/confirm?token=3Dab=\ncd e=3D1"),
            "http://x/confirm?token=abcd e=1"
        );
    }
}
