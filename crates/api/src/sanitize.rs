//! Making untrusted text (script output, host names) inert before it reaches a terminal.
//!
//! Output is stored as the host wrote it; every display path passes it through [`for_display`],
//! which removes escape sequences (CSI, OSC such as `ESC ]0;` titles or OSC 52 clipboard writes,
//! DCS/APC/PM/SOS strings, two-byte escapes) and shows any other control character in caret
//! notation (`^H`), so nothing a host prints can move the cursor, retitle the window or touch the
//! clipboard.

/// Returns `text` with escape sequences removed and control characters made visible.
/// Newlines and tabs are kept; a carriage return that ends a line is dropped, any other one
/// becomes a newline.
pub fn for_display(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\u{1b}' => skip_escape(&mut chars),
            // 8-bit CSI / OSC / DCS / SOS / PM / APC introducers.
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push('^');
                out.push(char::from_u32((c as u32) ^ 0x40).unwrap_or('?'));
            }
            c if ('\u{80}'..='\u{9f}').contains(&c) => out.push('\u{fffd}'),
            // Bidirectional overrides and isolates reorder what follows them on screen (a
            // U+202E makes `exe.txt` read `txt.exe`): shown as U+FFFD.
            '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{061c}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_escape(chars: &mut Chars) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']') | Some('P') | Some('X') | Some('^') | Some('_') => skip_string(chars),
        // ESC followed by intermediates then a final byte (e.g. `ESC ( B`).
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            while let Some(&n) = chars.peek() {
                chars.next();
                if !('\u{20}'..='\u{2f}').contains(&n) {
                    break;
                }
            }
        }
        _ => {}
    }
}

/// Parameters and intermediates, then one final byte in `@`..`~`.
fn skip_csi(chars: &mut Chars) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            return;
        }
    }
}

/// A control string ends at BEL, ST (`ESC \`) or the 8-bit ST.
fn skip_string(chars: &mut Chars) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::for_display;
    use proptest::prelude::*;

    #[test]
    fn bidi_overrides_cannot_reorder_the_screen() {
        assert_eq!(
            for_display("report\u{202e}txt.exe and \u{2066}x\u{2069}"),
            "report\u{fffd}txt.exe and \u{fffd}x\u{fffd}"
        );
    }

    #[test]
    fn removes_osc52_clipboard_write() {
        let s = "before\u{1b}]52;c;aGVsbG8=\u{7}after";
        assert_eq!(for_display(s), "beforeafter");
    }

    #[test]
    fn removes_window_title_with_st_terminator() {
        assert_eq!(for_display("a\u{1b}]0;pwned\u{1b}\\b"), "ab");
    }

    #[test]
    fn removes_cursor_movement_and_colours() {
        assert_eq!(
            for_display("\u{1b}[2J\u{1b}[1;1H\u{1b}[31mred\u{1b}[0m"),
            "red"
        );
    }

    #[test]
    fn shows_other_controls_in_caret_notation() {
        assert_eq!(for_display("a\u{8}b\u{7}"), "a^Hb^G");
    }

    #[test]
    fn keeps_text_newlines_tabs_and_unicode() {
        assert_eq!(for_display("a\tb\r\n宽字符 ✓\n"), "a\tb\n宽字符 ✓\n");
    }

    #[test]
    fn eight_bit_csi_is_removed() {
        assert_eq!(for_display("x\u{9b}31my"), "xy");
    }

    proptest! {
        #[test]
        fn output_never_contains_escape_or_c1(s in any::<String>()) {
            let out = for_display(&s);
            let unsafe_char = |c: char| c == '\u{1b}' || c == '\r'
                || ((c as u32) < 0x20 && c != '\n' && c != '\t')
                || ('\u{7f}'..='\u{9f}').contains(&c);
            prop_assert!(!out.chars().any(unsafe_char), "unsafe output {:?}", out);
        }
    }
}
