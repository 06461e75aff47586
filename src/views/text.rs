//! Display-width aware text fitting (wide CJK, Thai combining marks, emoji).

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Display width in terminal cells.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Cuts `s` to at most `max` cells, ending in `…` when cut. Never splits a
/// grapheme (a Thai consonant keeps its vowel and tone marks).
pub fn truncate(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for g in s.graphemes(true) {
        let w = width(g);
        if used + w > max - 1 {
            break;
        }
        out.push_str(g);
        used += w;
    }
    out.push('…');
    out
}

/// `truncate`, then pad with spaces to exactly `cells` wide.
pub fn fit(s: &str, cells: usize) -> String {
    let mut t = truncate(s, cells);
    let w = width(&t);
    if w < cells {
        t.extend(std::iter::repeat_n(' ', cells - w));
    }
    t
}

/// Wraps text to `cells` wide lines on spaces (hard-cutting words longer than a line).
pub fn wrap(s: &str, cells: usize) -> Vec<String> {
    let cells = cells.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in s.split_whitespace() {
        let w = width(word);
        if used > 0 && used + 1 + w > cells {
            lines.push(std::mem::take(&mut line));
            used = 0;
        }
        if w > cells {
            // Hard-cut a long token (an ARN, a URL) across lines.
            for g in word.graphemes(true) {
                let gw = width(g);
                if used + gw > cells {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                line.push_str(g);
                used += gw;
            }
            continue;
        }
        if used > 0 {
            line.push(' ');
            used += 1;
        }
        line.push_str(word);
        used += w;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_and_combining_text_fits_exactly() {
        // Thai: combining vowels/tones take no cell of their own.
        let thai = "บริการตะกร้าสินค้า";
        assert_eq!(width(&fit(thai, 10)), 10);
        assert!(fit(thai, 10).ends_with('…'));
        // CJK: two cells each; a cut never leaves half a character.
        let cjk = "支付服务-支付服务";
        let f = fit(cjk, 8);
        assert_eq!(width(&f), 8, "{f:?}");
        assert_eq!(fit("cart", 6), "cart  ");
        assert_eq!(truncate("cart-7d9f8", 5), "cart…");
        assert_eq!(truncate("x", 0), "");
    }

    #[test]
    fn wrapping() {
        assert_eq!(wrap("a bb ccc dddd", 6), vec!["a bb", "ccc", "dddd"]);
        let arn = "arn:aws:ecs:us-east-1:123456789012:task/orders";
        assert!(wrap(arn, 10).iter().all(|l| width(l) <= 10));
        assert_eq!(wrap("", 5), vec![""]);
    }
}
