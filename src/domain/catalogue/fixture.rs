//! A small catalogue shared by the unit tests of several modules (test builds only).

use super::model::*;

pub fn opt(code: &str, order: u32, group: &str) -> AnswerOption {
    AnswerOption {
        code: code.into(),
        order,
        label: Localised::new(code, format!("{code} (cy)")),
        help: None,
        publication_group: group.into(),
        retired: false,
    }
}

pub fn yes_no_prefer() -> Question {
    Question {
        text: Localised::new("Question?", "Cwestiwn?"),
        kind: QuestionKind::YesNoPrefer,
        options: YES_NO_PREFER
            .iter()
            .zip(1..)
            .map(|(c, i)| opt(c, i, c))
            .collect(),
    }
}

/// disability: yes/no/pnts; impact (single, when yes); conditions (multi max 2, other
/// tied to `other`, when yes; `cancer` retired); kind (single, when conditions has
/// `other`). ethnic_group: single_choice white/asian/pnts with white_background list.
pub fn fixture() -> Catalogue {
    let mut cancer = opt("cancer", 3, "cancer");
    cancer.retired = true;
    let disability = Characteristic {
        code: "disability".into(),
        label: Localised::new("Disability", "Anabledd"),
        why_we_ask: Localised::new("Why", "Pam"),
        help: None,
        gateway: yes_no_prefer(),
        details: vec![
            DetailList {
                code: "impact".into(),
                label: Localised::new("Impact", "Effaith"),
                help: None,
                selection: Selection::Single,
                options: vec![opt("a_lot", 1, "a_lot"), opt("a_little", 2, "a_little")],
                other: None,
                shown_when: Condition::GatewayIn(vec![YES.into()]),
            },
            DetailList {
                code: "conditions".into(),
                label: Localised::new("Conditions", "Cyflyrau"),
                help: None,
                selection: Selection::Multi { max: 2 },
                options: vec![
                    opt("adhd", 1, "adhd"),
                    opt("autism", 2, "autism"),
                    cancer,
                    opt("other", 4, "other"),
                ],
                other: Some(OtherText {
                    max_len: 10,
                    option: Some("other".into()),
                }),
                shown_when: Condition::GatewayIn(vec![YES.into()]),
            },
            DetailList {
                code: "other_kind".into(),
                label: Localised::new("Kind", "Math"),
                help: None,
                selection: Selection::Single,
                options: vec![opt("physical", 1, "physical"), opt("mental", 2, "mental")],
                other: None,
                shown_when: Condition::DetailIn {
                    list: "conditions".into(),
                    options: vec!["other".into()],
                },
            },
        ],
        review_wording: false,
    };
    let mut asian = opt("asian", 2, "asian");
    asian.retired = true;
    let ethnic = Characteristic {
        code: "ethnic_group".into(),
        label: Localised::new("Ethnic group", "Grŵp ethnig"),
        why_we_ask: Localised::new("Why", "Pam"),
        help: None,
        gateway: Question {
            text: Localised::new("What is your ethnic group?", "Beth yw eich grŵp ethnig?"),
            kind: QuestionKind::SingleChoice,
            options: vec![
                opt("white", 1, "white"),
                asian,
                opt(PREFER_NOT_TO_SAY, 3, PREFER_NOT_TO_SAY),
            ],
        },
        details: vec![DetailList {
            code: "white_background".into(),
            label: Localised::new("Background", "Cefndir"),
            help: None,
            selection: Selection::Single,
            options: vec![opt("irish", 1, "white"), opt("roma", 2, "white")],
            other: None,
            shown_when: Condition::GatewayIn(vec!["white".into()]),
        }],
        review_wording: false,
    };
    Catalogue {
        version: "test-1".into(),
        characteristics: vec![disability, ethnic],
    }
}
