//! One file per pane; each renders from `&State` only.

pub mod editor;
pub mod form;
pub mod lists;
pub mod ops;
pub mod order;
pub mod run;
pub mod triage;

/// Whether `hay` contains `needle`, ignoring ASCII case, without allocating.
pub fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    !matches(hay, needle).is_empty()
}

/// Byte offsets and lengths of `needle` in `hay`, ignoring ASCII case.
pub fn matches(hay: &str, needle: &str) -> Vec<(usize, usize)> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() || n.len() > h.len() {
        return vec![];
    }
    let mut out = vec![];
    let mut i = 0;
    while i + n.len() <= h.len() {
        if h[i..i + n.len()].eq_ignore_ascii_case(n) && hay.is_char_boundary(i) {
            out.push((i, n.len()));
            i += n.len();
        } else {
            i += 1;
        }
    }
    out
}
