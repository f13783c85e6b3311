//! What happens to a script's output on its way to the store: sensitive parameter values are
//! masked (also when a value is split across two reads), and at most `cap` bytes are kept per
//! instance; the rest is counted so the reader can be told how much was dropped.

pub const MASK: &str = "******";

/// The longest piece of a line held back waiting for its end: a longer line is released in
/// pieces (still masked across the cut), so a stream without newlines cannot grow memory.
pub const MAX_LINE: usize = 64 * 1024;

/// Turns one stream's chunks, cut anywhere, into whole lines, each masked as a whole. Lines of
/// two streams are assembled apart, so they never splice into one another, and a secret split
/// across reads is still masked.
pub struct Lines {
    secrets: Vec<Vec<u8>>,
    /// The start of a line whose end has not arrived.
    partial: Vec<u8>,
}

impl Lines {
    pub fn new(secrets: &[String]) -> Lines {
        Lines {
            secrets: secrets
                .iter()
                .filter(|s| !s.is_empty())
                .map(|s| s.as_bytes().to_vec())
                .collect(),
            partial: Vec::new(),
        }
    }

    /// Feeds a chunk; returns the whole lines (each with its `\n`) it completed, masked.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.partial.extend_from_slice(chunk);
        let Some(last_nl) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return self.release_long();
        };
        let rest = self.partial.split_off(last_nl + 1);
        let whole = std::mem::replace(&mut self.partial, rest);
        let mut out = Vec::with_capacity(whole.len());
        for line in whole.split_inclusive(|&b| b == b'\n') {
            out.extend(mask_all(line, &self.secrets));
        }
        out
    }

    /// A line past [`MAX_LINE`] without its end: releases all but what may be a secret's start.
    fn release_long(&mut self) -> Vec<u8> {
        if self.partial.len() <= MAX_LINE {
            return Vec::new();
        }
        let hold = self.secrets.iter().map(Vec::len).max().unwrap_or(1) - 1;
        let masked = mask_all(&self.partial, &self.secrets);
        // Any secret starting before `keep_from` ends inside `masked`, so was replaced.
        let keep_from = masked.len().saturating_sub(hold);
        self.partial = masked[keep_from..].to_vec();
        masked[..keep_from].to_vec()
    }

    /// End of stream: the last line, if it had no newline.
    pub fn finish(&mut self) -> Vec<u8> {
        let rest = std::mem::take(&mut self.partial);
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
        let mut m = Lines::new(&secrets);
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

    #[test]
    fn only_whole_lines_leave_before_the_end() {
        let mut m = Lines::new(&["hunter2".to_string()]);
        assert_eq!(m.push(b"step 3 token=hun"), b"");
        assert_eq!(m.push(b"ter2\nnext"), b"step 3 token=******\n");
        assert_eq!(m.finish(), b"next");
    }

    #[test]
    fn a_line_without_end_is_released_in_bounded_pieces_still_masked() {
        let mut m = Lines::new(&["SECRET".to_string()]);
        let mut out = m.push(&vec![b'a'; MAX_LINE]);
        assert!(out.is_empty());
        out.extend(m.push(b"SEC"));
        assert!(!out.is_empty() && out.len() <= MAX_LINE + 3);
        out.extend(m.push(b"RET tail"));
        out.extend(m.finish());
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with(&format!("aaa{MASK} tail")));
        assert!(!text.contains("SECRET"));
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

    /// Interleaved writes of whole lines to stdout and stderr, each cut into arbitrary chunks
    /// (secrets crossing the cuts), leave the two assemblers as exactly the writes, in order,
    /// each line masked: nothing spliced across streams or lines.
    fn writes() -> impl Strategy<Value = Vec<(bool, String, Vec<usize>)>> {
        let line = prop_oneof![
            "[a-z =]{0,12}",
            "[a-z ]{0,6}".prop_map(|p| format!("{p}token=S3CR3T-value")),
            "[a-z ]{0,6}".prop_map(|p| format!("{p}S3CR3T-value and more")),
        ];
        prop::collection::vec(
            (any::<bool>(), line, prop::collection::vec(0usize..40, 0..4)),
            1..12,
        )
    }

    proptest! {
        #[test]
        fn interleaved_streams_keep_their_lines_and_mask_them_whole(ws in writes()) {
            let secret = "S3CR3T-value".to_string();
            let mut out = Lines::new(std::slice::from_ref(&secret));
            let mut err = Lines::new(std::slice::from_ref(&secret));
            let mut stored: Vec<(bool, Vec<u8>)> = vec![];
            for (stderr, text, cuts) in &ws {
                let bytes = format!("{text}\n").into_bytes();
                let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
                cuts.sort_unstable();
                let mut from = 0;
                for cut in cuts.into_iter().chain([bytes.len()]) {
                    let piece = &bytes[from..cut.max(from)];
                    from = cut.max(from);
                    let lines = if *stderr { &mut err } else { &mut out };
                    let released = lines.push(piece);
                    if !released.is_empty() {
                        stored.push((*stderr, released));
                    }
                }
            }
            prop_assert!(out.finish().is_empty() && err.finish().is_empty());
            let got: Vec<(bool, String)> = stored
                .iter()
                .flat_map(|(e, b)| {
                    String::from_utf8(b.clone())
                        .unwrap()
                        .split_inclusive('\n')
                        .map(|l| (*e, l.to_string()))
                        .collect::<Vec<_>>()
                })
                .collect();
            let want: Vec<(bool, String)> = ws
                .iter()
                .map(|(e, t, _)| (*e, format!("{}\n", t.replace("S3CR3T-value", MASK))))
                .collect();
            prop_assert_eq!(got, want);
        }
    }
}
