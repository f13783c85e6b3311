//! What happens to a script's output on its way to the store: sensitive parameter values are
//! masked (also when a value is split across two reads), and at most `cap` bytes are kept per
//! instance; the rest is counted so the reader can be told how much was dropped.

pub const MASK: &str = "******";

/// Masks secrets in a byte stream that arrives in arbitrary chunks.
pub struct Masker {
    secrets: Vec<Vec<u8>>,
    /// Bytes held back because they may be the start of a secret.
    pending: Vec<u8>,
    hold: usize,
}

impl Masker {
    pub fn new(secrets: &[String]) -> Masker {
        let secrets: Vec<Vec<u8>> = secrets
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.as_bytes().to_vec())
            .collect();
        let hold = secrets.iter().map(|s| s.len()).max().unwrap_or(1) - 1;
        Masker {
            secrets,
            pending: Vec::new(),
            hold,
        }
    }

    /// Feeds a chunk; returns what can be released now.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        if self.secrets.is_empty() {
            return chunk.to_vec();
        }
        self.pending.extend_from_slice(chunk);
        let masked = mask_all(&self.pending, &self.secrets);
        // Any secret that starts before `keep_from` ends inside `masked`, so was replaced.
        let keep_from = masked.len().saturating_sub(self.hold);
        self.pending = masked[keep_from..].to_vec();
        masked[..keep_from].to_vec()
    }

    /// End of stream: releases what was held back.
    pub fn finish(&mut self) -> Vec<u8> {
        let rest = std::mem::take(&mut self.pending);
        mask_all(&rest, &self.secrets)
    }
}

fn mask_all(data: &[u8], secrets: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    'outer: while i < data.len() {
        for s in secrets {
            if data[i..].starts_with(s) {
                out.extend_from_slice(MASK.as_bytes());
                i += s.len();
                continue 'outer;
            }
        }
        out.push(data[i]);
        i += 1;
    }
    out
}

/// Masks every secret in a finished text (for values shown outside a stream).
pub fn mask_text(text: &str, secrets: &[String]) -> String {
    let secrets: Vec<Vec<u8>> = secrets
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.as_bytes().to_vec())
        .collect();
    String::from_utf8_lossy(&mask_all(text.as_bytes(), &secrets)).into_owned()
}

/// Counts bytes against the per-instance cap.
pub struct Cap {
    pub limit: usize,
    pub kept: usize,
}

impl Cap {
    /// Splits `data` into what is kept and how many bytes are dropped.
    pub fn take<'a>(&mut self, data: &'a [u8]) -> (&'a [u8], u64) {
        let room = self.limit.saturating_sub(self.kept);
        let n = room.min(data.len());
        self.kept += n;
        (&data[..n], (data.len() - n) as u64)
    }
}

/// The marker appended to a truncated output.
pub fn truncation_marker(cap: usize, dropped: i64) -> String {
    format!("\n[cocpit: output truncated at {cap} bytes; {dropped} bytes dropped]\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(secrets: &[&str], chunks: &[&[u8]]) -> String {
        let secrets: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
        let mut m = Masker::new(&secrets);
        let mut out = Vec::new();
        for c in chunks {
            out.extend(m.push(c));
        }
        out.extend(m.finish());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn masks_a_secret_split_across_chunks() {
        assert_eq!(run(&["hunter2"], &[b"pw=hun", b"ter2 ok"]), "pw=****** ok");
    }

    #[test]
    fn without_secrets_passes_through() {
        assert_eq!(run(&[], &[b"a", b"b"]), "ab");
    }

    #[test]
    fn cap_counts_dropped_bytes() {
        let mut c = Cap { limit: 5, kept: 0 };
        assert_eq!(c.take(b"abc"), (&b"abc"[..], 0));
        assert_eq!(c.take(b"defg"), (&b"de"[..], 2));
        assert_eq!(c.take(b"h"), (&b""[..], 1));
    }

    proptest! {
        #[test]
        fn chunking_never_leaks_a_secret(
            prefix in "[a-z ]{0,20}", suffix in "[a-z ]{0,20}", cut in 0usize..40
        ) {
            let secret = "S3CR3T-value";
            let text = format!("{prefix}{secret}{suffix}");
            let cut = cut.min(text.len());
            let out = run(&[secret], &[&text.as_bytes()[..cut], &text.as_bytes()[cut..]]);
            prop_assert!(!out.contains(secret));
            prop_assert_eq!(out, format!("{prefix}{MASK}{suffix}"));
        }
    }
}
