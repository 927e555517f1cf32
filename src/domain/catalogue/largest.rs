//! The largest valid answer set a catalogue admits, by the length of its JSON: what the size
//! class of a sealed declaration must hold (decision 0019).

use std::collections::BTreeMap;

use super::answer_set::{Answer, AnswerSet, DetailAnswer};
use super::model::{Catalogue, Characteristic, DetailList, Selection};

/// A character JSON escapes to six bytes (`\u0001`): free text the validation accepts whose
/// encoding is as long as any text of that many characters can be.
const WIDEST_CHAR: char = '\u{1}';

/// Per characteristic, the gateway option whose answer (every list it shows filled with the
/// longest option codes allowed and free text at its limit of the widest character) is
/// longest. Exact for lists shown on the gateway; a nested list counts when the longest
/// selection of its parent happens to show it.
pub fn largest_answers(catalogue: &Catalogue) -> AnswerSet {
    catalogue
        .characteristics
        .iter()
        .filter_map(|characteristic| {
            characteristic
                .gateway
                .options
                .iter()
                .filter(|o| !o.retired)
                .map(|o| filled(characteristic, &o.code))
                .max_by_key(|answer| serde_json::to_vec(answer).map_or(0, |json| json.len()))
                .map(|answer| (characteristic.code.clone(), answer))
        })
        .collect()
}

fn filled(characteristic: &Characteristic, gateway: &str) -> Answer {
    let mut answer = Answer::new(gateway);
    for list in &characteristic.details {
        if answer.shows(characteristic, list) {
            if let Some(given) = longest(list) {
                answer.details.insert(list.code.clone(), given);
            }
        }
    }
    answer
}

fn longest(list: &DetailList) -> Option<DetailAnswer> {
    let room = match list.selection {
        Selection::Single => 1,
        Selection::Multi { max } => max as usize,
    };
    let tied = list.other.as_ref().and_then(|o| o.option.clone());
    let mut codes: Vec<&str> = list
        .options
        .iter()
        .filter(|o| !o.retired && Some(&o.code) != tied.as_ref())
        .map(|o| o.code.as_str())
        .collect();
    codes.sort_by_key(|code| std::cmp::Reverse(code.len()));
    let mut selected: Vec<String> = tied.iter().cloned().collect();
    selected.extend(
        codes
            .into_iter()
            .take(room.saturating_sub(selected.len()))
            .map(str::to_owned),
    );
    let other_text = list.other.as_ref().map(|o| {
        std::iter::repeat(WIDEST_CHAR)
            .take(o.max_len as usize)
            .collect()
    });
    (!selected.is_empty() || other_text.is_some()).then_some(DetailAnswer {
        selected,
        other_text,
    })
}

/// The smallest non-blank answer set: one characteristic, answered "prefer not to say".
pub fn smallest_answers(catalogue: &Catalogue) -> AnswerSet {
    catalogue
        .characteristics
        .iter()
        .min_by_key(|c| c.code.len())
        .map(|c| BTreeMap::from([(c.code.clone(), Answer::new(super::model::PREFER_NOT_TO_SAY))]))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::{national, validate_answers};
    use super::*;

    #[test]
    fn the_largest_national_declaration_is_valid_and_every_list_is_at_its_limit() {
        let catalogue = national().unwrap();
        let largest = largest_answers(&catalogue);
        assert_eq!(validate_answers(&catalogue, &largest), Ok(()));
        assert_eq!(largest.len(), catalogue.characteristics.len());
        let texts = largest
            .values()
            .flat_map(|a| a.details.values())
            .filter(|d| d.other_text.is_some())
            .count();
        assert_eq!(
            texts, 8,
            "every free text the national catalogue can show at once"
        );
        let smallest = smallest_answers(&catalogue);
        assert_eq!(validate_answers(&catalogue, &smallest), Ok(()));
        assert_eq!(smallest.len(), 1);
    }
}
