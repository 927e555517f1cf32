//! Checks on the shipped national catalogue (`catalogue/national.json` at the repository root,
//! embedded as [`super::NATIONAL_JSON`]).
//!
//! Socio-economic background ships as three characteristics (`parental_occupation`,
//! `school_type`, `free_school_meals`) rather than three lists under one Yes / No / Prefer
//! not to say gateway: no meaningful yes/no question sits above them, each Social Mobility
//! Commission question has its own answers including prefer not to say, and each needs its
//! own completion and prefer-not-to-say rate in published figures.

use super::answer_set::AnswerSet;
use super::answers::validate_answers;
use super::draft::validate_catalogue;
use super::model::{Catalogue, Condition, QuestionKind, PREFER_NOT_TO_SAY};
use super::parse_catalogue;

use super::NATIONAL_JSON;

fn national() -> Catalogue {
    parse_catalogue(NATIONAL_JSON).unwrap()
}

#[test]
fn national_catalogue_is_publishable() {
    assert_eq!(validate_catalogue(&national()), Ok(()));
}

#[test]
fn national_catalogue_round_trips_without_loss() {
    let original: serde_json::Value = serde_json::from_str(NATIONAL_JSON).unwrap();
    assert_eq!(serde_json::to_value(national()).unwrap(), original);
}

#[test]
fn covers_the_nine_characteristics_and_the_additions() {
    let cat = national();
    let codes: Vec<&str> = cat
        .characteristics
        .iter()
        .map(|c| c.code.as_str())
        .collect();
    for code in [
        "age",
        "disability",
        "gender_reassignment",
        "marriage_civil_partnership",
        "pregnancy_maternity",
        "race",
        "religion_belief",
        "sex",
        "sexual_orientation",
        "welsh_language",
        "caring_responsibilities",
        "neurodivergence",
        "parental_occupation",
        "school_type",
        "free_school_meals",
    ] {
        assert!(codes.contains(&code), "{code} missing");
    }
    for c in &cat.characteristics {
        assert!(c.gateway.option(PREFER_NOT_TO_SAY).is_some(), "{}", c.code);
    }
    // Where no official wording was found, the force is told to review.
    for code in ["age", "pregnancy_maternity", "neurodivergence"] {
        assert!(cat.characteristic(code).unwrap().review_wording, "{code}");
    }
}

#[test]
fn ethnic_group_has_five_groups_and_nineteen_backgrounds() {
    let cat = national();
    let race = cat.characteristic("race").unwrap();
    assert_eq!(race.gateway.kind, QuestionKind::SingleChoice);
    assert_eq!(race.gateway.text.cy, "Beth yw eich grŵp ethnig?");
    let groups: Vec<&str> = race
        .gateway
        .options
        .iter()
        .map(|o| o.code.as_str())
        .filter(|c| *c != PREFER_NOT_TO_SAY)
        .collect();
    assert_eq!(groups.len(), 5);
    let mut backgrounds = 0;
    for list in &race.details {
        let Condition::GatewayIn(shown) = &list.shown_when else {
            panic!("{} is not shown on a group", list.code)
        };
        assert_eq!(shown.len(), 1);
        for option in &list.options {
            assert_eq!(option.publication_group, shown[0], "{}", option.code);
            backgrounds += 1;
        }
    }
    assert_eq!(backgrounds, 19);
}

#[test]
fn disability_lists_follow_the_standard() {
    let cat = national();
    let disability = cat.characteristic("disability").unwrap();
    assert_eq!(disability.gateway.kind, QuestionKind::YesNoPrefer);
    let nd = disability.detail("neurodivergent_conditions").unwrap();
    let codes: Vec<&str> = nd.options.iter().map(|o| o.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "adhd",
            "autism",
            "dyspraxia",
            "dyslexia",
            "dyscalculia",
            "tourette_syndrome",
            "other"
        ]
    );
    assert_eq!(
        disability.detail("impairment_areas").unwrap().options.len(),
        10
    );
    assert_eq!(
        disability
            .detail("day_to_day_impact")
            .unwrap()
            .options
            .len(),
        3
    );
}

#[test]
fn realistic_answers_validate() {
    let answers: AnswerSet = serde_json::from_str(
        r#"{
            "age": {"gateway": "age_26_40"},
            "disability": {"gateway": "yes", "details": {
                "day_to_day_impact": {"selected": ["yes_a_little"]},
                "impairment_areas": {"selected": ["learning_understanding_concentrating", "other"], "other_text": "Migraine"},
                "neurodivergent_conditions": {"selected": ["dyslexia", "adhd"]}
            }},
            "gender_reassignment": {"gateway": "prefer_not_to_say"},
            "race": {"gateway": "asian", "details": {"asian_background": {"selected": ["other_asian"], "other_text": "Nepali"}}},
            "religion_belief": {"gateway": "other_religion", "details": {"other_religion": {"other_text": "Pagan"}}},
            "sex": {"gateway": "female"},
            "welsh_language": {"gateway": "yes", "details": {"welsh_skills": {"selected": ["understand_spoken", "read"]}}},
            "caring_responsibilities": {"gateway": "yes_10_to_19_hours"},
            "free_school_meals": {"gateway": "dont_know"}
        }"#,
    )
    .unwrap();
    let cat = national();
    assert_eq!(validate_answers(&cat, &answers), Ok(()));
    let caring = &answers["caring_responsibilities"];
    assert_eq!(
        caring.publication_group(&cat, "caring_responsibilities"),
        Some("yes")
    );
    assert_eq!(
        answers["race"].publication_group(&cat, "race"),
        Some("asian")
    );
}
