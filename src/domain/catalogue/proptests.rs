//! Property tests: random valid catalogues, random valid answer sets, and one mutation at a
//! time that must be reported at exactly the right field with the right code.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::answer_set::{Answer, AnswerSet, DetailAnswer};
use super::answers::{validate_answers, validate_answers_for_write, validate_stored_answers};
use super::draft::validate_catalogue;
use super::mapping::{
    apply_mapping, CharacteristicMapping, GatewayRule, ListMapping, Mapping, OptionRule,
};
use super::model::*;
use super::problem::{codes, FieldProblem};

// ---------------------------------------------------------------- catalogue generation

#[derive(Debug, Clone)]
struct ListSpec {
    n_options: usize,
    multi: Option<u32>,
    /// (tied to the last option, max_len)
    other: Option<(bool, u32)>,
    write_in: bool,
    retired_mask: u8,
    nested: bool,
    pick: u8,
}

#[derive(Debug, Clone)]
struct CharSpec {
    yes_no: bool,
    n_options: usize,
    retired_mask: u8,
    lists: Vec<ListSpec>,
}

fn list_spec() -> impl Strategy<Value = ListSpec> {
    (
        1usize..=6,
        prop::option::of(any::<u32>()),
        prop::option::of((any::<bool>(), 1u32..=500)),
        prop::bool::weighted(0.15),
        any::<u8>(),
        any::<bool>(),
        any::<u8>(),
    )
        .prop_map(
            |(n_options, multi, other, write_in, retired_mask, nested, pick)| ListSpec {
                n_options,
                multi,
                other,
                write_in,
                retired_mask,
                nested,
                pick,
            },
        )
}

fn char_spec() -> impl Strategy<Value = CharSpec> {
    (
        any::<bool>(),
        1usize..=4,
        any::<u8>(),
        prop::collection::vec(list_spec(), 0..=3),
    )
        .prop_map(|(yes_no, n_options, retired_mask, lists)| CharSpec {
            yes_no,
            n_options,
            retired_mask,
            lists,
        })
}

fn text(code: &str) -> Localised {
    Localised::new(format!("{code} en"), format!("{code} cy"))
}

fn option(code: &str, order: u32, group: &str, retired: bool) -> AnswerOption {
    AnswerOption {
        code: code.into(),
        order,
        label: text(code),
        help: None,
        publication_group: group.into(),
        retired,
    }
}

/// A non-empty subset of `codes` chosen by the bits of `pick`.
fn subset(codes: &[String], pick: u8) -> Vec<String> {
    let chosen: Vec<String> = codes
        .iter()
        .enumerate()
        .filter(|(i, _)| pick & (1 << (i % 8)) != 0)
        .map(|(_, c)| c.clone())
        .collect();
    if chosen.is_empty() {
        vec![codes[0].clone()]
    } else {
        chosen
    }
}

fn build_characteristic(i: usize, spec: &CharSpec) -> Characteristic {
    let gateway = if spec.yes_no {
        Question {
            text: text("q"),
            kind: QuestionKind::YesNoPrefer,
            options: YES_NO_PREFER
                .iter()
                .zip(1..)
                .map(|(c, n)| option(c, n, c, false))
                .collect(),
        }
    } else {
        let mut options: Vec<AnswerOption> = (0..spec.n_options)
            .map(|j| {
                let retired = j > 0 && spec.retired_mask & (1 << j) != 0;
                option(
                    &format!("g{j}"),
                    j as u32 * 10 + 1,
                    &format!("grp{}", j % 2),
                    retired,
                )
            })
            .collect();
        options.push(option(PREFER_NOT_TO_SAY, 1000, PREFER_NOT_TO_SAY, false));
        Question {
            text: text("q"),
            kind: QuestionKind::SingleChoice,
            options,
        }
    };
    let gateway_choices: Vec<String> = gateway
        .options
        .iter()
        .map(|o| o.code.clone())
        .filter(|c| c != PREFER_NOT_TO_SAY)
        .collect();

    let mut details: Vec<DetailList> = Vec::new();
    for (k, spec) in spec.lists.iter().enumerate() {
        let code = format!("l{k}");
        let (options, selection, other) = if spec.write_in {
            let max_len = spec.other.map_or(50, |(_, m)| m);
            (
                vec![],
                Selection::Single,
                Some(OtherText {
                    max_len,
                    option: None,
                }),
            )
        } else {
            let options: Vec<AnswerOption> = (0..spec.n_options)
                .map(|j| {
                    // About one option in four retired (never the first).
                    let retired = j > 0
                        && spec.retired_mask & (1 << j) != 0
                        && j % 4 == spec.pick as usize % 4;
                    option(&format!("o{j}"), j as u32 + 1, &format!("o{j}"), retired)
                })
                .collect();
            let selection = match spec.multi {
                Some(raw) => Selection::Multi {
                    // Usually fewer than the options, so "too many" can be tested.
                    max: 1 + raw % (spec.n_options as u32 - 1).max(1),
                },
                None => Selection::Single,
            };
            let other = spec.other.map(|(tied, max_len)| OtherText {
                max_len,
                option: tied.then(|| format!("o{}", spec.n_options - 1)),
            });
            (options, selection, other)
        };
        // Nest under an earlier list shown on the gateway, when there is one with options.
        let parents: Vec<&DetailList> = details
            .iter()
            .filter(|d| matches!(d.shown_when, Condition::GatewayIn(_)) && !d.options.is_empty())
            .collect();
        let parent = (!parents.is_empty()).then(|| parents[spec.pick as usize % parents.len()]);
        let shown_when = match parent {
            Some(parent) if spec.nested => Condition::DetailIn {
                list: parent.code.clone(),
                options: subset(
                    &parent
                        .options
                        .iter()
                        .map(|o| o.code.clone())
                        .collect::<Vec<_>>(),
                    spec.pick,
                ),
            },
            _ => Condition::GatewayIn(subset(&gateway_choices, spec.pick)),
        };
        details.push(DetailList {
            code,
            label: text("list"),
            help: None,
            selection,
            options,
            other,
            shown_when,
        });
    }
    Characteristic {
        code: format!("c{i}"),
        label: text("label"),
        why_we_ask: text("why"),
        help: None,
        gateway,
        details,
        review_wording: false,
    }
}

fn catalogue() -> impl Strategy<Value = Catalogue> {
    prop::collection::vec(char_spec(), 1..=4).prop_map(|specs| Catalogue {
        version: "prop".into(),
        characteristics: specs
            .iter()
            .enumerate()
            .map(|(i, s)| build_characteristic(i, s))
            .collect(),
    })
}

// ---------------------------------------------------------------- answer generation

/// Deterministic choices drawn from a proptest-generated vector (so cases shrink).
struct Dice<'a> {
    values: &'a [u32],
    i: usize,
}

impl Dice<'_> {
    fn pick(&mut self, n: usize) -> usize {
        let round = (self.i / self.values.len()) as u32;
        let v = self.values[self.i % self.values.len()].rotate_left(round * 7) ^ round;
        self.i += 1;
        v as usize % n.max(1)
    }
}

fn active(options: &[AnswerOption]) -> Vec<String> {
    options
        .iter()
        .filter(|o| !o.retired)
        .map(|o| o.code.clone())
        .collect()
}

fn other_text(dice: &mut Dice<'_>, max_len: u32) -> String {
    let len = if dice.pick(4) == 0 {
        max_len as usize
    } else {
        1 + dice.pick(max_len.min(30) as usize)
    };
    // Multi-byte characters check that lengths count characters, not bytes.
    let alphabet = ['x', 'ŵ', 'é', ' ', 'a'];
    std::iter::once('x')
        .chain((1..len).map(|_| alphabet[dice.pick(alphabet.len())]))
        .collect()
}

/// A valid answer set: only active options, conditions respected, counts within limits.
fn valid_answers(catalogue: &Catalogue, dice: &mut Dice<'_>, answer_all: bool) -> AnswerSet {
    let mut answers = AnswerSet::new();
    for c in &catalogue.characteristics {
        if !answer_all && dice.pick(3) == 0 {
            continue;
        }
        let gateway = active(&c.gateway.options);
        let mut answer = Answer::new(gateway[dice.pick(gateway.len())].clone());
        for list in &c.details {
            if !answer.shows(c, list) || dice.pick(4) == 0 {
                continue;
            }
            let mut choices = active(&list.options);
            let count = match list.selection {
                _ if choices.is_empty() => 0,
                Selection::Single => 1,
                Selection::Multi { max } => 1 + dice.pick((max as usize).min(choices.len())),
            };
            let selected: Vec<String> = (0..count)
                .map(|_| choices.remove(dice.pick(choices.len())))
                .collect();
            let other_text = match &list.other {
                Some(other) if other.option.as_ref().map_or(true, |o| selected.contains(o)) => {
                    (selected.is_empty() || dice.pick(2) == 0)
                        .then(|| other_text(dice, other.max_len))
                }
                _ => None,
            };
            answer.details.insert(
                list.code.clone(),
                DetailAnswer {
                    selected,
                    other_text,
                },
            );
        }
        answers.insert(c.code.clone(), answer);
    }
    answers
}

fn catalogue_and_answers() -> impl Strategy<Value = (Catalogue, Vec<u32>)> {
    (catalogue(), prop::collection::vec(any::<u32>(), 16..64))
}

fn found(result: Result<(), Vec<FieldProblem>>) -> Vec<(String, &'static str)> {
    result
        .err()
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.field, p.code))
        .collect()
}

/// Lists of `c` shown for `answer`, with their index.
fn shown<'c>(c: &'c Characteristic, answer: &Answer) -> Vec<&'c DetailList> {
    c.details.iter().filter(|l| answer.shows(c, l)).collect()
}

/// Adds active options not already chosen until `selected` has `count` entries.
fn grow(selected: &mut Vec<String>, list: &DetailList, count: usize) {
    for code in active(&list.options) {
        if selected.len() >= count {
            break;
        }
        if !selected.contains(&code) {
            selected.push(code);
        }
    }
}

/// A characteristic, its answer, and one of its shown lists satisfying `wanted`, chosen by
/// the dice. The answer set answers every characteristic.
fn pick_list<'c>(
    catalogue: &'c Catalogue,
    answers: &AnswerSet,
    dice: &mut Dice<'_>,
    wanted: impl Fn(&DetailList) -> bool,
) -> Option<(&'c Characteristic, &'c DetailList)> {
    let candidates: Vec<(&Characteristic, &DetailList)> = catalogue
        .characteristics
        .iter()
        .flat_map(|c| shown(c, &answers[&c.code]).into_iter().map(move |l| (c, l)))
        .filter(|(_, l)| wanted(l))
        .collect();
    (!candidates.is_empty()).then(|| candidates[dice.pick(candidates.len())])
}

fn one(field: String, code: &'static str) -> Vec<(String, &'static str)> {
    vec![(field, code)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_catalogues_are_valid_and_round_trip(cat in catalogue()) {
        prop_assert_eq!(validate_catalogue(&cat), Ok(()));
        let json = serde_json::to_string(&cat).unwrap();
        prop_assert_eq!(serde_json::from_str::<Catalogue>(&json).unwrap(), cat);
    }

    #[test]
    fn valid_answers_always_pass((cat, entropy) in catalogue_and_answers(), all in any::<bool>()) {
        let answers = valid_answers(&cat, &mut Dice { values: &entropy, i: 0 }, all);
        prop_assert_eq!(validate_answers(&cat, &answers), Ok(()));
        prop_assert_eq!(validate_stored_answers(&cat, &answers), Ok(()));
        prop_assert_eq!(validate_answers_for_write(&cat, &answers, &AnswerSet::new()), Ok(()));
        let json = serde_json::to_string(&answers).unwrap();
        prop_assert_eq!(serde_json::from_str::<AnswerSet>(&json).unwrap(), answers);
    }

    #[test]
    fn unknown_characteristic((cat, entropy) in catalogue_and_answers()) {
        let mut answers = valid_answers(&cat, &mut Dice { values: &entropy, i: 0 }, false);
        answers.insert("zz".into(), Answer::new(PREFER_NOT_TO_SAY));
        prop_assert_eq!(found(validate_answers(&cat, &answers)), one("answers.zz".into(), codes::UNKNOWN_CHARACTERISTIC));
    }

    #[test]
    fn unknown_gateway_option((cat, entropy) in catalogue_and_answers()) {
        let dice = &mut Dice { values: &entropy, i: 0 };
        let mut answers = valid_answers(&cat, dice, true);
        let c = &cat.characteristics[dice.pick(cat.characteristics.len())];
        answers.insert(c.code.clone(), Answer::new("zz"));
        prop_assert_eq!(
            found(validate_answers(&cat, &answers)),
            one(format!("answers.{}.gateway", c.code), codes::UNKNOWN_OPTION)
        );
    }

    #[test]
    fn retired_gateway_option_refused_on_write_only((cat, entropy) in catalogue_and_answers()) {
        let dice = &mut Dice { values: &entropy, i: 0 };
        let mut answers = valid_answers(&cat, dice, true);
        let retired: Vec<(&str, &str)> = cat.characteristics.iter()
            .flat_map(|c| c.gateway.options.iter().filter(|o| o.retired).map(move |o| (c.code.as_str(), o.code.as_str())))
            .collect();
        prop_assume!(!retired.is_empty());
        let (c, option) = retired[dice.pick(retired.len())];
        answers.insert(c.into(), Answer::new(option));
        prop_assert_eq!(
            found(validate_answers(&cat, &answers)),
            one(format!("answers.{c}.gateway"), codes::RETIRED_OPTION)
        );
        prop_assert_eq!(validate_stored_answers(&cat, &answers), Ok(()));
        // Carried over from the stored answers: accepted; chosen afresh: refused.
        prop_assert_eq!(validate_answers_for_write(&cat, &answers, &answers), Ok(()));
        let mut previous = answers.clone();
        previous.remove(c);
        prop_assert_eq!(found(validate_answers_for_write(&cat, &answers, &previous)).len(), 1);
    }

    #[test]
    fn retired_detail_option_refused_on_write((cat, entropy) in catalogue_and_answers()) {
        let dice = &mut Dice { values: &entropy, i: 0 };
        let mut answers = valid_answers(&cat, dice, true);
        let picked = pick_list(&cat, &answers, dice, |l| l.options.iter().any(|o| o.retired));
        prop_assume!(picked.is_some());
        let (c, list) = picked.unwrap();
        let retired = list.options.iter().find(|o| o.retired).unwrap().code.clone();
        let detail = answers.get_mut(&c.code).unwrap().details.entry(list.code.clone())
            .or_insert_with(|| DetailAnswer { selected: vec![], other_text: None });
        let index = detail.selected.len();
        detail.selected.push(retired);
        let problems = found(validate_answers(&cat, &answers));
        let field = format!("answers.{}.details.{}.selected[{index}]", c.code, list.code);
        prop_assert!(problems.contains(&(field, codes::RETIRED_OPTION)), "{:?}", problems);
        prop_assert!(!found(validate_stored_answers(&cat, &answers)).iter().any(|p| p.1 == codes::RETIRED_OPTION));
    }

    #[test]
    fn unknown_list((cat, entropy) in catalogue_and_answers()) {
        let dice = &mut Dice { values: &entropy, i: 0 };
        let mut answers = valid_answers(&cat, dice, true);
        let c = &cat.characteristics[dice.pick(cat.characteristics.len())];
        answers.get_mut(&c.code).unwrap().details.insert("zz".into(), DetailAnswer { selected: vec!["o0".into()], other_text: None });
        prop_assert_eq!(
            found(validate_answers(&cat, &answers)),
            one(format!("answers.{}.details.zz", c.code), codes::UNKNOWN_LIST)
        );
    }

    #[test]
    fn unknown_detail_option((cat, entropy) in catalogue_and_answers()) {
        let dice = &mut Dice { values: &entropy, i: 0 };
        let mut answers = valid_answers(&cat, dice, true);
        let picked = pick_list(&cat, &answers, dice, |l| !l.options.is_empty());
        prop_assume!(picked.is_some());
        let (c, list) = picked.unwrap();
        let detail = answers.get_mut(&c.code).unwrap().details.entry(list.code.clone())
            .or_insert_with(|| DetailAnswer { selected: vec!["o0".into()], other_text: None });
        let index = dice.pick(detail.selected.len());
        detail.selected[index] = "zz".into();
        let problems = found(validate_answers(&cat, &answers));
        let field = format!("answers.{}.details.{}.selected[{index}]", c.code, list.code);
        prop_assert!(problems.contains(&(field, codes::UNKNOWN_OPTION)), "{:?}", problems);
    }

    #[test]
    fn condition_not_met((cat, entropy) in catalogue_and_answers()) {
        let dice = &mut Dice { values: &entropy, i: 0 };
        let mut answers = valid_answers(&cat, dice, true);
        let with_lists: Vec<&Characteristic> = cat.characteristics.iter().filter(|c| !c.details.is_empty()).collect();
        prop_assume!(!with_lists.is_empty());
        let c = with_lists[dice.pick(with_lists.len())];
        let list = &c.details[dice.pick(c.details.len())];
        // No condition ever names prefer_not_to_say, so nothing is shown after it.
        let mut answer = Answer::new(PREFER_NOT_TO_SAY);
        let detail = match list.options.first() {
            Some(o) => DetailAnswer { selected: vec![o.code.clone()], other_text: None },
            None => DetailAnswer { selected: vec![], other_text: Some("x".into()) },
        };
        answer.details.insert(list.code.clone(), detail);
        answers.insert(c.code.clone(), answer);
        prop_assert_eq!(
            found(validate_answers(&cat, &answers)),
            one(format!("answers.{}.details.{}", c.code, list.code), codes::CONDITION_NOT_MET)
        );
    }

    #[test]
    fn too_many_selections((cat, entropy) in catalogue_and_answers()) {
        let dice = &mut Dice { values: &entropy, i: 0 };
        let mut answers = valid_answers(&cat, dice, true);
        let picked = pick_list(&cat, &answers, dice, |l| matches!(l.selection, Selection::Multi { max } if active(&l.options).len() > max as usize));
        prop_assume!(picked.is_some());
        let (c, list) = picked.unwrap();
        let Selection::Multi { max } = list.selection else { unreachable!() };
        let detail = answers.get_mut(&c.code).unwrap().details.entry(list.code.clone())
            .or_insert_with(|| DetailAnswer { selected: vec![], other_text: None });
        // A superset of the valid selection, so nested lists and free text stay valid.
        grow(&mut detail.selected, list, max as usize + 1);
        prop_assert_eq!(
            found(validate_answers(&cat, &answers)),
            one(format!("answers.{}.details.{}.selected", c.code, list.code), codes::TOO_MANY_SELECTIONS)
        );
    }

    #[test]
    fn single_select_multiple((cat, entropy) in catalogue_and_answers()) {
        let dice = &mut Dice { values: &entropy, i: 0 };
        let mut answers = valid_answers(&cat, dice, true);
        let picked = pick_list(&cat, &answers, dice, |l| l.selection == Selection::Single && active(&l.options).len() >= 2);
        prop_assume!(picked.is_some());
        let (c, list) = picked.unwrap();
        let detail = answers.get_mut(&c.code).unwrap().details.entry(list.code.clone())
            .or_insert_with(|| DetailAnswer { selected: vec![], other_text: None });
        grow(&mut detail.selected, list, 2);
        prop_assert_eq!(
            found(validate_answers(&cat, &answers)),
            one(format!("answers.{}.details.{}.selected", c.code, list.code), codes::SINGLE_SELECT_MULTIPLE)
        );
    }

    #[test]
    fn duplicate_selection((cat, entropy) in catalogue_and_answers()) {
        let dice = &mut Dice { values: &entropy, i: 0 };
        let mut answers = valid_answers(&cat, dice, true);
        let picked = pick_list(&cat, &answers, dice, |l| !l.options.is_empty());
        prop_assume!(picked.is_some());
        let (c, list) = picked.unwrap();
        let detail = answers.get_mut(&c.code).unwrap().details.entry(list.code.clone())
            .or_insert_with(|| DetailAnswer { selected: vec![], other_text: None });
        grow(&mut detail.selected, list, 1);
        let index = detail.selected.len();
        let again = detail.selected[dice.pick(index)].clone();
        detail.selected.push(again);
        let problems = found(validate_answers(&cat, &answers));
        let field = format!("answers.{}.details.{}.selected[{index}]", c.code, list.code);
        prop_assert!(problems.contains(&(field, codes::DUPLICATE_SELECTION)), "{:?}", problems);
    }

    #[test]
    fn other_text_too_long((cat, entropy) in catalogue_and_answers(), welsh in any::<bool>()) {
        let dice = &mut Dice { values: &entropy, i: 0 };
        let mut answers = valid_answers(&cat, dice, true);
        let picked = pick_list(&cat, &answers, dice, |l| l.other.is_some());
        prop_assume!(picked.is_some());
        let (c, list) = picked.unwrap();
        let other = list.other.as_ref().unwrap();
        let detail = answers.get_mut(&c.code).unwrap().details.entry(list.code.clone())
            .or_insert_with(|| DetailAnswer { selected: vec![], other_text: None });
        if let Some(tied) = other.option.as_ref().filter(|t| !detail.selected.contains(t)) {
            detail.selected.push(tied.clone());
        }
        let letter = if welsh { "ŵ" } else { "x" };
        detail.other_text = Some(letter.repeat(other.max_len as usize + 1));
        let problems = found(validate_answers(&cat, &answers));
        let field = format!("answers.{}.details.{}.other_text", c.code, list.code);
        prop_assert!(problems.contains(&(field, codes::OTHER_TEXT_TOO_LONG)), "{:?}", problems);
    }

    #[test]
    fn other_text_not_allowed((cat, entropy) in catalogue_and_answers()) {
        let dice = &mut Dice { values: &entropy, i: 0 };
        let mut answers = valid_answers(&cat, dice, true);
        let picked = pick_list(&cat, &answers, dice, |l| l.other.is_none());
        prop_assume!(picked.is_some());
        let (c, list) = picked.unwrap();
        let detail = answers.get_mut(&c.code).unwrap().details.entry(list.code.clone())
            .or_insert_with(|| DetailAnswer { selected: vec![], other_text: None });
        grow(&mut detail.selected, list, 1);
        detail.other_text = Some("x".into());
        prop_assert_eq!(
            found(validate_answers(&cat, &answers)),
            one(format!("answers.{}.details.{}.other_text", c.code, list.code), codes::OTHER_TEXT_NOT_ALLOWED)
        );
    }

    #[test]
    fn empty_selection((cat, entropy) in catalogue_and_answers()) {
        let dice = &mut Dice { values: &entropy, i: 0 };
        let mut answers = valid_answers(&cat, dice, true);
        let picked = pick_list(&cat, &answers, dice, |_| true);
        prop_assume!(picked.is_some());
        let (c, list) = picked.unwrap();
        let answer = answers.get_mut(&c.code).unwrap();
        // Lists nested under this one are no longer shown: take them out.
        answer.details.retain(|code, _| {
            !matches!(&c.detail(code).unwrap().shown_when, Condition::DetailIn { list: parent, .. } if *parent == list.code)
        });
        answer.details.insert(list.code.clone(), DetailAnswer { selected: vec![], other_text: None });
        prop_assert_eq!(
            found(validate_answers(&cat, &answers)),
            one(format!("answers.{}.details.{}.selected", c.code, list.code), codes::EMPTY_SELECTION)
        );
    }

    #[test]
    fn every_mapping_yields_answers_valid_under_the_target(
        (cat, entropy) in catalogue_and_answers(),
        rules in prop::collection::vec((any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>()), 0..8),
    ) {
        let dice = &mut Dice { values: &entropy, i: 0 };
        let answers = valid_answers(&cat, dice, false);
        // Random rules, some pointing at codes that do not exist.
        let mut mapping = Mapping::default();
        for (c, from, to, kind) in rules {
            let characteristic = &cat.characteristics[c as usize % cat.characteristics.len()];
            let rules: &mut CharacteristicMapping = mapping.characteristics.entry(characteristic.code.clone()).or_default();
            let gateway = &characteristic.gateway.options;
            let target = if to % 5 == 0 { "zz".to_string() } else { gateway[to as usize % gateway.len()].code.clone() };
            match (kind % 3, characteristic.details.first()) {
                (0, _) => { rules.gateway.insert(gateway[from as usize % gateway.len()].code.clone(), GatewayRule::NeedsReasking); }
                (1, _) | (_, None) => {
                    rules.gateway.insert(
                        gateway[from as usize % gateway.len()].code.clone(),
                        GatewayRule::MapTo { option: target, set_details: BTreeMap::new() },
                    );
                }
                (_, Some(list)) => {
                    let list_rules: &mut ListMapping = rules.details.entry(list.code.clone()).or_default();
                    let rule = if to % 2 == 0 { OptionRule::Drop } else { OptionRule::MapTo(format!("o{}", to % 6)) };
                    list_rules.options.insert(format!("o{}", from % 6), rule);
                }
            }
        }
        let out = apply_mapping(&mapping, &cat, &answers);
        prop_assert_eq!(validate_stored_answers(&cat, &out.answers), Ok(()));
        let (mut carried, mut total) = (0, 0);
        for report in out.report.characteristics.values() {
            carried += report.mapped + report.unchanged;
            total += report.mapped + report.unchanged + report.needs_reasking;
            prop_assert!(report.invalid_after_mapping <= report.needs_reasking);
        }
        prop_assert_eq!(total, answers.len() as u64);
        prop_assert_eq!(carried, out.answers.len() as u64);

        // The empty mapping changes nothing and counts everything unchanged.
        let same = apply_mapping(&Mapping::default(), &cat, &answers);
        prop_assert_eq!(&same.answers, &answers);
        prop_assert!(same.report.characteristics.values().all(|r| r.unchanged == 1 && r.mapped == 0));
    }
}

/// Guards against the mutation properties above passing vacuously: each kind of target they
/// `prop_assume!` must turn up in at least one generated case in ten.
#[test]
fn mutation_targets_are_common() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    type Wanted = fn(&DetailList) -> bool;
    let kinds: [(&str, Wanted); 6] = [
        ("retired", |l| l.options.iter().any(|o| o.retired)),
        (
            "too_many",
            |l| matches!(l.selection, Selection::Multi { max } if active(&l.options).len() > max as usize),
        ),
        ("single_multiple", |l| {
            l.selection == Selection::Single && active(&l.options).len() >= 2
        }),
        ("other", |l| l.other.is_some()),
        ("no_other", |l| l.other.is_none()),
        ("nested", |l| {
            matches!(l.shown_when, Condition::DetailIn { .. })
        }),
    ];
    let mut runner = TestRunner::deterministic();
    let samples = 400;
    let mut hits = [0; 6];
    for _ in 0..samples {
        let (cat, entropy) = catalogue_and_answers()
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let dice = &mut Dice {
            values: &entropy,
            i: 0,
        };
        let answers = valid_answers(&cat, dice, true);
        for (hit, (_, wanted)) in hits.iter_mut().zip(&kinds) {
            if pick_list(&cat, &answers, dice, wanted).is_some() {
                *hit += 1;
            }
        }
    }
    for (hit, (name, _)) in hits.iter().zip(&kinds) {
        assert!(
            *hit * 10 >= samples,
            "{name}: only {hit} of {samples} cases have a target"
        );
    }
}
