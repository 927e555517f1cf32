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

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellCounts {
    /// People in post in the cell.
    pub headcount: u64,
    /// characteristic -> group -> count.
    pub answers: BTreeMap<String, BTreeMap<String, u64>>,
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
    pub fn replace(&mut self, before: &Groups, after: &Groups) -> Result<(), TallyError> {
        self.subtract(before)?;
        self.add(after);
        self.check()
    }

    /// A person joins the cell, with whatever they have declared.
    pub fn join(&mut self, groups: &Groups) -> Result<(), TallyError> {
        self.headcount += 1;
        self.add(groups);
        self.check()
    }

    /// A person leaves the cell (moved, left the force, or erased).
    pub fn leave(&mut self, groups: &Groups) -> Result<(), TallyError> {
        self.headcount = self
            .headcount
            .checked_sub(1)
            .ok_or(TallyError::NegativeHeadcount)?;
        self.subtract(groups)?;
        self.check()
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

    fn add(&mut self, groups: &Groups) {
        for (characteristic, group) in groups {
            *self
                .answers
                .entry(characteristic.clone())
                .or_default()
                .entry(group.clone())
                .or_default() += 1;
        }
    }

    fn subtract(&mut self, groups: &Groups) -> Result<(), TallyError> {
        for (characteristic, group) in groups {
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn groups(pairs: &[(&str, &str)]) -> Groups {
        pairs
            .iter()
            .map(|(c, g)| (c.to_string(), g.to_string()))
            .collect()
    }

    #[test]
    fn a_declaration_moves_counts_between_groups() {
        let mut cell = CellCounts::default();
        cell.join(&Groups::new()).unwrap();
        cell.join(&groups(&[("disability", "no")])).unwrap();
        assert_eq!(cell.blank("disability"), 1);
        cell.replace(
            &Groups::new(),
            &groups(&[("disability", "prefer_not_to_say")]),
        )
        .unwrap();
        cell.replace(
            &groups(&[("disability", "no")]),
            &groups(&[("disability", "yes")]),
        )
        .unwrap();
        assert_eq!(cell.count("disability", "yes"), 1);
        assert_eq!(cell.count("disability", "no"), 0);
        assert_eq!(cell.count("disability", "prefer_not_to_say"), 1);
        assert_eq!(cell.blank("disability"), 0);
    }

    #[test]
    fn removing_what_was_never_counted_is_an_error() {
        let mut cell = CellCounts::default();
        cell.join(&Groups::new()).unwrap();
        assert!(cell
            .replace(&groups(&[("sex", "female")]), &Groups::new())
            .is_err());
        assert!(CellCounts::default().leave(&Groups::new()).is_err());
    }

    proptest! {
        /// However people join, declare and leave, the cell equals a recount of who is in it.
        #[test]
        fn counts_equal_a_recount(ops in proptest::collection::vec((0usize..6, 0usize..4, 0usize..3), 1..60)) {
            let options = ["yes", "no", "prefer_not_to_say"];
            let mut people: Vec<Option<Groups>> = vec![None; 6]; // None: not in the cell
            let mut cell = CellCounts::default();
            for (person, action, option) in ops {
                let answer = groups(&[("disability", options[option])]);
                match (action, people[person].clone()) {
                    (0, None) => { cell.join(&Groups::new()).unwrap(); people[person] = Some(Groups::new()); }
                    (1, Some(before)) => { cell.replace(&before, &answer).unwrap(); people[person] = Some(answer); }
                    (2, Some(before)) => { cell.leave(&before).unwrap(); people[person] = None; }
                    (3, Some(before)) => { cell.replace(&before, &Groups::new()).unwrap(); people[person] = Some(Groups::new()); }
                    _ => {}
                }
            }
            let mut recount = CellCounts::default();
            for person in people.iter().flatten() {
                recount.join(person).unwrap();
            }
            recount.answers.retain(|_, g| { g.retain(|_, n| *n > 0); !g.is_empty() });
            cell.answers.retain(|_, g| { g.retain(|_, n| *n > 0); !g.is_empty() });
            prop_assert_eq!(cell, recount);
        }
    }
}
