//! From generated tokens to the text a client receives: stop sequences end the generation at
//! their first occurrence in the unsent text, and text that could still become a stop sequence
//! or is an incomplete character is held back until it cannot.

/// The largest index `≤ i` at a character boundary of `s`.
pub(super) fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while i > 0 && !s.is_char_boundary(i) {
        i = i.saturating_sub(1);
    }
    i
}

/// The longest stop sequence's length in bytes.
fn longest(stops: &[String]) -> usize {
    stops.iter().map(|s| s.len()).max().unwrap_or(0)
}

/// Where the earliest stop sequence in the unsent tail of `text` (from `sent`) starts.
pub(super) fn find_stop(text: &str, sent: usize, stops: &[String]) -> Option<usize> {
    let search_from = floor_char_boundary(text, sent.saturating_sub(longest(stops)));
    stops
        .iter()
        .filter_map(|s| text.get(search_from..).and_then(|t| t.find(s.as_str())))
        .map(|i| i.saturating_add(search_from))
        .min()
}

/// Where the text that may be sent ends: at a stop sequence, at the end once finished, or else
/// before what could still become a stop sequence or an incomplete character.
pub(super) fn release_end(
    text: &str,
    stops: &[String],
    stop_at: Option<usize>,
    finished: bool,
) -> usize {
    match (stop_at, finished) {
        (Some(i), _) => i,
        (None, true) => text.len(),
        (None, false) => {
            let hold = longest(stops).saturating_sub(1);
            let end = floor_char_boundary(text, text.len().saturating_sub(hold));
            if text.ends_with('\u{FFFD}') {
                floor_char_boundary(text, end.saturating_sub(3))
            } else {
                end
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_sequence_ends_the_text_at_its_first_occurrence_in_the_unsent_tail() {
        let stops = vec!["\n\n".to_string(), "END".to_string()];
        // Already sent up to 10: a stop straddling the sent boundary is still found.
        assert_eq!(find_stop("Paris is t\n\nhe capital", 11, &stops), Some(10));
        assert_eq!(find_stop("no stop here", 0, &stops), None);
        assert_eq!(find_stop("a END b END", 0, &stops), Some(2));
        assert_eq!(release_end("a END b", &stops, Some(2), true), 2);
    }

    #[test]
    fn what_could_still_become_a_stop_or_a_character_is_held_back() {
        let stops = vec!["END".to_string()];
        // Unfinished: the last two bytes could start "END".
        assert_eq!(release_end("Paris EN", &stops, None, false), 6);
        // Finished: everything goes out.
        assert_eq!(release_end("Paris EN", &stops, None, true), 8);
        // An incomplete character (decoded as U+FFFD) is held back with what precedes it.
        let text = "caf\u{FFFD}";
        let end = release_end(text, &[], None, false);
        assert!(end < text.len() && text.is_char_boundary(end));
        assert_eq!(floor_char_boundary("é", 1), 0);
        assert_eq!(floor_char_boundary("ab", 5), 2);
    }
}
