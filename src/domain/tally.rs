//! Aggregate counts for one cell (an org unit x staff type x rank), kept in step with every
//! declaration and workforce change so figures never read individual answers.
//!
//! A cell's counts are personal data when the cell is small (a lone sergeant in a team is the
//! only person in his cell), so the store keeps them sealed; this module is only the arithmetic.
//! For each characteristic a cell holds the count of each *publication group* (the category an
//! answer is published under, never a detail option) and of prefer-not-to-say; blank is
//! `headcount` minus the rest, so it never needs maintaining separately.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::catalogue::{AnswerSet, Catalogue, PREFER_NOT_TO_SAY};
use super::disclosure::{NoiseSecret, RecordKey, Signature};

/// A person's answers as they count: characteristic -> publication group (or
/// `prefer_not_to_say`). Characteristics left blank are absent.
pub type Groups = BTreeMap<String, String>;

/// Collapses an answer set to what the tallies count. An answer whose option the catalogue no
/// longer knows counts under its own code, so a count is never silently lost.
pub fn groups_of(catalogue: &Catalogue, answers: &AnswerSet) -> Groups {
    answers
        .iter()
        .map(|(code, answer)| {
            let group = if answer.gateway == PREFER_NOT_TO_SAY {
                PREFER_NOT_TO_SAY.to_owned()
            } else {
                answer
                    .publication_group(catalogue, code)
                    .map_or_else(|| answer.gateway.clone(), str::to_owned)
            };
            (code.clone(), group)
        })
        .collect()
}

/// One person as the tallies count them: their groups, and what they add to each
/// characteristic's signature (see `domain::disclosure`: the perturbation is keyed on it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counted {
    pub groups: Groups,
    pub contributions: BTreeMap<String, Signature>,
}

impl Counted {
    /// `person`'s counted answers, with their contributions under the organisation's secret.
    pub fn new(secret: &NoiseSecret, person: &str, groups: Groups) -> Self {
        let record_key = RecordKey::of(secret, person);
        let contributions = groups
            .iter()
            .map(|(characteristic, group)| {
                (
                    characteristic.clone(),
                    record_key.contribution(secret, characteristic, group),
                )
            })
            .collect();
        Counted {
            groups,
            contributions,
        }
    }

    /// Someone who has answered nothing (they still count in the headcount).
    pub fn blank() -> Self {
        Counted::default()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellCounts {
    /// People in post in the cell.
    pub headcount: u64,
    /// characteristic -> group -> count.
    pub answers: BTreeMap<String, BTreeMap<String, u64>>,
    /// characteristic -> the sum of the contributions of the people who answered it.
    #[serde(default)]
    pub signatures: BTreeMap<String, Signature>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TallyError {
    #[error("tally for `{characteristic}`/`{group}` would go below zero")]
    Negative {
        characteristic: String,
        group: String,
    },
    #[error("cell headcount would go below zero")]
    NegativeHeadcount,
    #[error("`{0}` has more answers than people in the cell")]
    MoreAnswersThanPeople(String),
}

impl CellCounts {
    /// Replaces one person's counted answers `before` with `after` (a declaration written).
    pub fn replace(&mut self, before: &Counted, after: &Counted) -> Result<(), TallyError> {
        self.subtract(before)?;
        self.add(after);
        self.check()
    }

    /// A person joins the cell, with whatever they have declared.
    pub fn join(&mut self, person: &Counted) -> Result<(), TallyError> {
        self.headcount += 1;
        self.add(person);
        self.check()
    }

    /// A person leaves the cell (moved, left the force, or erased).
    pub fn leave(&mut self, person: &Counted) -> Result<(), TallyError> {
        self.headcount = self
            .headcount
            .checked_sub(1)
            .ok_or(TallyError::NegativeHeadcount)?;
        self.subtract(person)?;
        self.check()
    }

    /// The sum of the contributions of the people in the cell who answered `characteristic`.
    pub fn signature(&self, characteristic: &str) -> Signature {
        self.signatures
            .get(characteristic)
            .copied()
            .unwrap_or_default()
    }

    /// People in the cell who left `characteristic` blank.
    pub fn blank(&self, characteristic: &str) -> u64 {
        let answered: u64 = self
            .answers
            .get(characteristic)
            .map_or(0, |g| g.values().sum());
        self.headcount.saturating_sub(answered)
    }

    pub fn count(&self, characteristic: &str, group: &str) -> u64 {
        self.answers
            .get(characteristic)
            .and_then(|g| g.get(group))
            .copied()
            .unwrap_or(0)
    }

    fn add(&mut self, person: &Counted) {
        for (characteristic, group) in &person.groups {
            *self
                .answers
                .entry(characteristic.clone())
                .or_default()
                .entry(group.clone())
                .or_default() += 1;
        }
        for (characteristic, c) in &person.contributions {
            let slot = self.signatures.entry(characteristic.clone()).or_default();
            *slot = slot.plus(*c);
        }
    }

    fn subtract(&mut self, person: &Counted) -> Result<(), TallyError> {
        for (characteristic, c) in &person.contributions {
            let slot = self.signatures.entry(characteristic.clone()).or_default();
            *slot = slot.minus(*c);
        }
        for (characteristic, group) in &person.groups {
            let slot = self
                .answers
                .get_mut(characteristic)
                .and_then(|g| g.get_mut(group))
                .filter(|n| **n > 0)
                .ok_or_else(|| TallyError::Negative {
                    characteristic: characteristic.clone(),
                    group: group.clone(),
                })?;
            *slot -= 1;
        }
        Ok(())
    }

    fn check(&self) -> Result<(), TallyError> {
        match self
            .answers
            .iter()
            .find(|(_, groups)| groups.values().sum::<u64>() > self.headcount)
        {
            Some((characteristic, _)) => {
                Err(TallyError::MoreAnswersThanPeople(characteristic.clone()))
            }
            None => Ok(()),
        }
    }
}

/// What a tally row's plaintext lists, in this order: every characteristic of the catalogue
/// with every publication group it publishes under (prefer not to say included). A tally is
/// encoded densely over its shape, every count and signature at full width, so its length
/// depends on the catalogue alone: never on which answers a cell holds, nor on how many.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TallyShape(pub Vec<(String, Vec<String>)>);

impl TallyShape {
    pub fn of(catalogue: &Catalogue) -> Self {
        TallyShape(
            catalogue
                .characteristics
                .iter()
                .map(|c| (c.code.clone(), publication_groups(c)))
                .collect(),
        )
    }
}

/// The groups a characteristic publishes under, in catalogue order, prefer not to say last.
pub fn publication_groups(characteristic: &super::catalogue::Characteristic) -> Vec<String> {
    let mut groups: Vec<String> = Vec::new();
    for option in &characteristic.gateway.options {
        if option.publication_group != PREFER_NOT_TO_SAY
            && !groups.contains(&option.publication_group)
        {
            groups.push(option.publication_group.clone());
        }
    }
    groups.push(PREFER_NOT_TO_SAY.to_owned());
    groups
}

const TALLY_MAGIC: &[u8; 4] = b"TLY2";

/// Encodes a cell densely over `shape`. A count under a group or characteristic the shape does
/// not list (an answer kept from a retired option) is appended after it, so nothing is lost.
pub fn encode(counts: &CellCounts, shape: &TallyShape) -> Vec<u8> {
    let mut entries: Vec<(&str, Vec<&str>)> = shape
        .0
        .iter()
        .map(|(c, groups)| (c.as_str(), groups.iter().map(String::as_str).collect()))
        .collect();
    for (characteristic, groups) in &counts.answers {
        let at = match entries.iter().position(|(c, _)| c == characteristic) {
            Some(at) => at,
            None => {
                entries.push((characteristic, Vec::new()));
                entries.len() - 1
            }
        };
        for (group, &n) in groups {
            if n > 0 && !entries[at].1.contains(&group.as_str()) {
                entries[at].1.push(group);
            }
        }
    }
    let mut out = Vec::with_capacity(16 + entries.len() * 64);
    out.extend_from_slice(TALLY_MAGIC);
    out.extend_from_slice(&counts.headcount.to_be_bytes());
    out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    for (characteristic, groups) in entries {
        put_text(&mut out, characteristic);
        out.extend_from_slice(&counts.signature(characteristic).0.to_be_bytes());
        out.extend_from_slice(&(groups.len() as u32).to_be_bytes());
        for group in groups {
            put_text(&mut out, group);
            out.extend_from_slice(&counts.count(characteristic, group).to_be_bytes());
        }
    }
    out
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u32).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// Reads what [`encode`] wrote, or a tally written before it (JSON, with no signatures).
pub fn decode(bytes: &[u8]) -> Option<CellCounts> {
    let Some(mut rest) = bytes.strip_prefix(TALLY_MAGIC.as_slice()) else {
        return serde_json::from_slice(bytes).ok();
    };
    let mut counts = CellCounts {
        headcount: take_u64(&mut rest)?,
        ..CellCounts::default()
    };
    for _ in 0..take_u32(&mut rest)? {
        let characteristic = take_text(&mut rest)?;
        let signature = Signature(take_u64(&mut rest)?);
        if signature != Signature::default() {
            counts.signatures.insert(characteristic.clone(), signature);
        }
        for _ in 0..take_u32(&mut rest)? {
            let group = take_text(&mut rest)?;
            let n = take_u64(&mut rest)?;
            if n > 0 {
                counts
                    .answers
                    .entry(characteristic.clone())
                    .or_default()
                    .insert(group, n);
            }
        }
    }
    rest.is_empty().then_some(counts)
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if rest.len() < n {
        return None;
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Some(head)
}

fn take_u64(rest: &mut &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(take(rest, 8)?.try_into().ok()?))
}

fn take_u32(rest: &mut &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(take(rest, 4)?.try_into().ok()?))
}

fn take_text(rest: &mut &[u8]) -> Option<String> {
    let n = take_u32(rest)? as usize;
    String::from_utf8(take(rest, n)?.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn secret() -> NoiseSecret {
        NoiseSecret::new([3; 32])
    }

    fn person(id: &str, pairs: &[(&str, &str)]) -> Counted {
        let groups = pairs
            .iter()
            .map(|(c, g)| (c.to_string(), g.to_string()))
            .collect();
        Counted::new(&secret(), id, groups)
    }

    #[test]
    fn a_declaration_moves_counts_between_groups() {
        let mut cell = CellCounts::default();
        cell.join(&Counted::blank()).unwrap();
        cell.join(&person("b", &[("disability", "no")])).unwrap();
        assert_eq!(cell.blank("disability"), 1);
        cell.replace(
            &Counted::blank(),
            &person("a", &[("disability", "prefer_not_to_say")]),
        )
        .unwrap();
        cell.replace(
            &person("b", &[("disability", "no")]),
            &person("b", &[("disability", "yes")]),
        )
        .unwrap();
        assert_eq!(cell.count("disability", "yes"), 1);
        assert_eq!(cell.count("disability", "no"), 0);
        assert_eq!(cell.count("disability", "prefer_not_to_say"), 1);
        assert_eq!(cell.blank("disability"), 0);
        let expected = person("a", &[("disability", "prefer_not_to_say")]).contributions
            ["disability"]
            .plus(person("b", &[("disability", "yes")]).contributions["disability"]);
        assert_eq!(cell.signature("disability"), expected);
    }

    #[test]
    fn removing_what_was_never_counted_is_an_error() {
        let mut cell = CellCounts::default();
        cell.join(&Counted::blank()).unwrap();
        assert!(cell
            .replace(&person("a", &[("sex", "female")]), &Counted::blank())
            .is_err());
        assert!(CellCounts::default().leave(&Counted::blank()).is_err());
    }

    fn shape() -> TallyShape {
        TallyShape(vec![
            (
                "disability".into(),
                vec!["yes".into(), "no".into(), PREFER_NOT_TO_SAY.into()],
            ),
            (
                "race".into(),
                vec!["white".into(), "black".into(), PREFER_NOT_TO_SAY.into()],
            ),
        ])
    }

    #[test]
    fn a_tally_encodes_to_a_length_fixed_by_its_shape() {
        let empty = CellCounts::default();
        let mut full = CellCounts::default();
        for i in 0..5000 {
            full.join(&person(
                &format!("p{i}"),
                &[("disability", "prefer_not_to_say"), ("race", "black")],
            ))
            .unwrap();
        }
        let mut one = CellCounts::default();
        one.join(&person("x", &[("disability", "yes")])).unwrap();
        let lengths = [&empty, &full, &one].map(|c| encode(c, &shape()).len());
        assert_eq!(lengths[0], lengths[1]);
        assert_eq!(lengths[0], lengths[2]);
        for c in [empty, full, one] {
            assert_eq!(decode(&encode(&c, &shape())), Some(c));
        }
    }

    #[test]
    fn answers_outside_the_shape_are_kept_and_old_tallies_still_read() {
        let mut cell = CellCounts::default();
        cell.join(&person(
            "a",
            &[("disability", "retired_code"), ("welsh", "yes")],
        ))
        .unwrap();
        assert_eq!(decode(&encode(&cell, &shape())), Some(cell.clone()));
        let legacy = serde_json::json!({"headcount": 2, "answers": {"disability": {"no": 1}}});
        let read = decode(&serde_json::to_vec(&legacy).unwrap()).unwrap();
        assert_eq!(read.headcount, 2);
        assert_eq!(read.count("disability", "no"), 1);
        assert!(decode(b"TLY2garbage").is_none());
    }

    proptest! {
        /// However people join, declare and leave, the cell equals a recount of who is in it,
        /// signatures included.
        #[test]
        fn counts_equal_a_recount(ops in proptest::collection::vec((0usize..6, 0usize..4, 0usize..3), 1..60)) {
            let options = ["yes", "no", "prefer_not_to_say"];
            let mut people: Vec<Option<Counted>> = vec![None; 6]; // None: not in the cell
            let mut cell = CellCounts::default();
            for (who, action, option) in ops {
                let id = format!("p{who}");
                let answer = person(&id, &[("disability", options[option])]);
                match (action, people[who].clone()) {
                    (0, None) => { cell.join(&Counted::blank()).unwrap(); people[who] = Some(Counted::blank()); }
                    (1, Some(before)) => { cell.replace(&before, &answer).unwrap(); people[who] = Some(answer); }
                    (2, Some(before)) => { cell.leave(&before).unwrap(); people[who] = None; }
                    (3, Some(before)) => { cell.replace(&before, &Counted::blank()).unwrap(); people[who] = Some(Counted::blank()); }
                    _ => {}
                }
            }
            let mut recount = CellCounts::default();
            for p in people.iter().flatten() {
                recount.join(p).unwrap();
            }
            for c in [&mut recount, &mut cell] {
                c.answers.retain(|_, g| { g.retain(|_, n| *n > 0); !g.is_empty() });
                c.signatures.retain(|_, s| *s != Signature::default());
            }
            prop_assert_eq!(decode(&encode(&cell, &shape())), Some(recount.clone()));
            prop_assert_eq!(cell, recount);
        }
    }
}
