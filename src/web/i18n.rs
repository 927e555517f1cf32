//! Page text in English and Welsh. The catalogue carries its own Welsh (`Localised`); this
//! table is the pages' own words. A key missing from the table shows as the key itself, and
//! `tests` below checks that every key has both languages.

use crate::domain::catalogue::Localised;

/// The language a page is shown in, from the `declare_lang` cookie (English by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Cy,
}

impl Lang {
    pub fn parse(value: &str) -> Option<Lang> {
        match value {
            "en" => Some(Lang::En),
            "cy" => Some(Lang::Cy),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Cy => "cy",
        }
    }

    /// The other language, which the toggle offers.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Cy,
            Lang::Cy => Lang::En,
        }
    }

    /// The page's words for a service validation problem, by its machine code (`FieldError`
    /// `code`, stable for clients): the service's own `message` is English for the API's
    /// problem+json, so the pages never show it.
    pub fn field_error(self, code: &str) -> &'static str {
        use crate::domain::catalogue::codes;
        let key = match code {
            codes::UNKNOWN_OPTION
            | codes::RETIRED_OPTION
            | codes::UNKNOWN_LIST
            | codes::UNKNOWN_CHARACTERISTIC => "err_unknown_option",
            codes::CONDITION_NOT_MET => "err_condition_not_met",
            codes::EMPTY_SELECTION => "err_empty_selection",
            codes::SINGLE_SELECT_MULTIPLE => "err_single_select",
            codes::TOO_MANY_SELECTIONS => "err_too_many",
            codes::DUPLICATE_SELECTION => "err_duplicate",
            codes::OTHER_TEXT_NOT_ALLOWED => "err_other_text_not_allowed",
            codes::OTHER_TEXT_TOO_LONG => "err_other_text_too_long",
            codes::OTHER_TEXT_EMPTY => "err_other_text_empty",
            _ => "err_invalid",
        };
        self.t(key)
    }

    /// The page text for `key` in this language.
    pub fn t(self, key: &'static str) -> &'static str {
        match TEXT.iter().find(|(k, _, _)| *k == key) {
            Some((_, en, cy)) => match self {
                Lang::En => en,
                Lang::Cy => cy,
            },
            None => key,
        }
    }

    /// A catalogue string in this language (English where the Welsh is empty).
    pub fn pick(self, text: &Localised) -> &str {
        match self {
            Lang::Cy if !text.cy.trim().is_empty() => &text.cy,
            _ => &text.en,
        }
    }
}

/// (key, English, Welsh).
const TEXT: &[(&str, &str, &str)] = &[
    ("service", "Declare", "Datgan"),
    ("skip", "Skip to main content", "Neidio i’r prif gynnwys"),
    ("lang_name", "English", "Cymraeg"),
    ("lang_switch", "Newid yr iaith i’r Gymraeg", "Change the language to English"),
    ("sign_in", "Sign in", "Mewngofnodi"),
    ("sign_out", "Sign out", "Allgofnodi"),
    ("username", "Username", "Enw defnyddiwr"),
    ("password", "Password", "Cyfrinair"),
    ("sign_in_account", "Sign in with your Declare account", "Mewngofnodi gyda’ch cyfrif Datgan"),
    ("sign_in_lead", "Sign in to declare your protected characteristics, or to see your organisation’s figures.", "Mewngofnodi i ddatgan eich nodweddion gwarchodedig, neu i weld ffigurau eich sefydliad."),
    ("sign_in_idp_later", "Single sign-on with your force’s account will be offered here when your force turns it on.", "Bydd mewngofnodi sengl gyda chyfrif eich heddlu ar gael yma pan fydd eich heddlu’n ei droi ymlaen."),
    ("sign_in_idp", "Sign in with your force’s account", "Mewngofnodi gyda chyfrif eich heddlu"),
    ("sso_failed_title", "You could not be signed in", "Nid oedd modd eich mewngofnodi"),
    ("sso_failed_lead", "Signing in with your force’s account did not finish, or took too long. Go back to the sign-in page and try again.", "Ni orffennodd mewngofnodi gyda chyfrif eich heddlu, neu fe gymerodd ormod o amser. Ewch yn ôl i’r dudalen mewngofnodi a rhowch gynnig arall arni."),
    ("sign_in_wrong", "The username or password is not correct", "Nid yw’r enw defnyddiwr neu’r cyfrinair yn gywir"),
    ("sign_in_throttled", "Too many attempts. Wait a few minutes, then try again", "Gormod o ymdrechion. Arhoswch ychydig funudau, yna rhowch gynnig arall arni"),
    ("enter_username", "Enter your username", "Rhowch eich enw defnyddiwr"),
    ("enter_password", "Enter your password", "Rhowch eich cyfrinair"),
    ("problem", "There is a problem", "Mae problem wedi codi"),
    ("continue", "Continue", "Parhau"),
    ("back", "Back", "Yn ôl"),
    ("change", "Change", "Newid"),
    ("remove", "Remove", "Dileu"),
    ("home", "Your declaration", "Eich datganiad"),
    ("home_lead", "Tell your organisation about your protected characteristics. It is voluntary: you can answer, choose ‘Prefer not to say’, or leave any question blank.", "Dywedwch wrth eich sefydliad am eich nodweddion gwarchodedig. Mae’n wirfoddol: gallwch ateb, dewis ‘Gwell gennyf beidio â dweud’, neu adael unrhyw gwestiwn yn wag."),
    ("start", "Start now", "Dechrau nawr"),
    ("update", "Update your answers", "Diweddaru eich atebion"),
    ("history", "Your history", "Eich hanes"),
    ("export", "Download your data", "Lawrlwytho eich data"),
    ("withdraw", "Withdraw your consent", "Tynnu eich caniatâd yn ôl"),
    ("privacy", "Privacy notice and consent", "Hysbysiad preifatrwydd a chaniatâd"),
    ("lawful_basis", "Lawful basis", "Sail gyfreithlon"),
    ("consent_q", "What do you agree to?", "Beth ydych chi’n cytuno iddo?"),
    ("consent_hint", "Select all that apply. If you agree to neither, nothing about you is stored.", "Dewiswch bob un sy’n berthnasol. Os nad ydych yn cytuno i’r naill na’r llall, ni chaiff dim amdanoch ei gadw."),
    ("purpose_equality_monitoring", "Equality monitoring: my answers counted in anonymised figures", "Monitro cydraddoldeb: cyfrif fy atebion mewn ffigurau dienw"),
    ("purpose_equality_monitoring_hint", "Needed before any answer is stored.", "Mae angen hyn cyn cadw unrhyw ateb."),
    ("purpose_workplace_adjustments", "Workplace adjustments: share my disability answer with HR", "Addasiadau yn y gweithle: rhannu fy ateb am anabledd gyda AD"),
    ("purpose_workplace_adjustments_hint", "Optional.", "Dewisol."),
    ("declined", "Nothing has been stored", "Nid oes dim wedi’i gadw"),
    ("declined_lead", "You did not agree to equality monitoring, so none of your answers are stored. You can come back at any time.", "Ni wnaethoch gytuno i fonitro cydraddoldeb, felly nid oes unrhyw un o’ch atebion wedi’u cadw. Gallwch ddod yn ôl unrhyw bryd."),
    ("form_title", "Your protected characteristics", "Eich nodweddion gwarchodedig"),
    ("form_lead", "Answer as many or as few as you like. A question you leave blank stays blank; ‘Prefer not to say’ is an answer.", "Atebwch gymaint neu cyn lleied ag y dymunwch. Mae cwestiwn rydych yn ei adael yn wag yn aros yn wag; mae ‘Gwell gennyf beidio â dweud’ yn ateb."),
    ("why_we_ask", "Why we ask", "Pam rydym yn gofyn"),
    ("choose", "Choose an option", "Dewiswch opsiwn"),
    ("other_text", "Please specify (optional)", "Nodwch (dewisol)"),
    ("select_all", "Select all that apply", "Dewiswch bob un sy’n berthnasol"),
    ("check_title", "Check your answers before saving", "Gwiriwch eich atebion cyn eu cadw"),
    ("not_answered", "Not answered (blank)", "Heb ei ateb (gwag)"),
    ("save", "Save my answers", "Cadw fy atebion"),
    ("saved", "Your answers have been saved", "Mae eich atebion wedi’u cadw"),
    ("saved_lead", "Thank you. You can change them at any time.", "Diolch. Gallwch eu newid unrhyw bryd."),
    ("conflict", "Your answers changed somewhere else", "Newidiodd eich atebion yn rhywle arall"),
    ("conflict_lead", "Your answers were changed (perhaps in another tab) after you started. Nothing you entered has been lost: check them below and save again, or start from what is saved now.", "Cafodd eich atebion eu newid (efallai mewn tab arall) ar ôl i chi ddechrau. Nid oes dim a roesoch wedi’i golli: gwiriwch nhw isod a’u cadw eto, neu dechreuwch o’r hyn sydd wedi’i gadw nawr."),
    ("start_again", "Start again from my saved answers", "Dechrau eto o fy atebion sydd wedi’u cadw"),
    ("withdraw_warning", "Withdrawing erases every answer you have given and its history, for good. It cannot be undone.", "Mae tynnu’n ôl yn dileu pob ateb a roesoch a’i hanes, am byth. Ni ellir ei ddadwneud."),
    ("withdraw_confirm", "Withdraw and erase my answers", "Tynnu’n ôl a dileu fy atebion"),
    ("withdrawn", "Your consent is withdrawn and your answers are erased", "Mae eich caniatâd wedi’i dynnu’n ôl a’ch atebion wedi’u dileu"),
    ("warning", "Warning", "Rhybudd"),
    ("history_lead", "Every change you made, oldest first. Only you can see this.", "Pob newid a wnaethoch, yr hynaf yn gyntaf. Dim ond chi sy’n gallu gweld hyn."),
    ("history_none", "You have no saved changes.", "Nid oes gennych unrhyw newidiadau wedi’u cadw."),
    ("changed_at", "Changed at", "Newidiwyd am"),
    ("answers", "Answers", "Atebion"),
    ("export_lead", "A copy of everything held about you, as a JSON file.", "Copi o bopeth a gedwir amdanoch, fel ffeil JSON."),
    ("dashboard", "Equality figures", "Ffigurau cydraddoldeb"),
    ("dashboard_lead", "Anonymised completion figures. Every count except the headcount has a little noise added, so no person can be identified.", "Ffigurau cwblhau dienw. Mae ychydig o sŵn wedi’i ychwanegu at bob cyfrif ac eithrio’r nifer, fel na ellir adnabod neb."),
    ("organisation", "Organisation", "Sefydliad"),
    ("characteristic", "Characteristic", "Nodwedd"),
    ("breakdown", "Breakdown", "Dadansoddiad"),
    ("by_overall", "Whole organisation", "Y sefydliad cyfan"),
    ("by_org_unit", "Command area", "Ardal reoli"),
    ("by_staff_type", "Staff type", "Math o staff"),
    ("by_rank", "Rank or grade", "Rheng neu radd"),
    ("show", "Show figures", "Dangos ffigurau"),
    ("level", "Level of the unit tree", "Lefel y goeden unedau"),
    ("level_hint", "For command areas: 1 is the units directly under the force; choose a higher level to drill down.", "Ar gyfer ardaloedd rheoli: 1 yw’r unedau yn union o dan yr heddlu; dewiswch lefel uwch i ddrilio i lawr."),
    ("distribution", "Answers given", "Atebion a roddwyd"),
    ("group", "Group", "Grŵp"),
    ("headcount", "Headcount", "Nifer"),
    ("col_declared", "Declared", "Wedi datgan"),
    ("col_prefer_not_to_say", "Prefer not to say", "Gwell gennyf beidio â dweud"),
    ("col_blank", "Blank", "Gwag"),
    ("csv", "Download this table (CSV)", "Lawrlwytho’r tabl hwn (CSV)"),
    ("chart_title", "Completion as a percentage of headcount", "Cwblhau fel canran o’r nifer"),
    ("suppressed_explained", "[c] means confidential: the count is too small to publish without risk of identifying someone", "Mae [c] yn golygu cyfrinachol: mae’r cyfrif yn rhy fach i’w gyhoeddi heb risg o adnabod rhywun"),
    ("drill_hint", "Select a unit’s name to see the units under it.", "Dewiswch enw uned i weld yr unedau oddi tani."),
    ("units_under", "units under", "unedau o dan"),
    ("no_units", "There are no units under this one.", "Nid oes unrhyw unedau o dan yr un hon."),
    ("unit_trail", "Units above this one", "Unedau uwchben yr un hon"),
    ("trend", "Completion over time", "Cwblhau dros amser"),
    ("trend_lead", "The whole organisation at each snapshot, oldest first. Each snapshot’s figures were frozen when it was taken and are protected on their own.", "Y sefydliad cyfan ym mhob ciplun, yr hynaf yn gyntaf. Cafodd ffigurau pob ciplun eu rhewi pan gafodd ei dynnu ac maent wedi’u diogelu ar wahân."),
    ("trend_none", "No snapshots have been taken yet, so there is no trend to show. Snapshots are taken on the organisation’s publication dates and each month.", "Nid oes unrhyw giplun wedi’i dynnu eto, felly nid oes tuedd i’w dangos. Caiff cipluniau eu tynnu ar ddyddiadau cyhoeddi’r sefydliad a phob mis."),
    ("trend_chart_title", "Completion at each snapshot as a percentage of headcount", "Cwblhau ym mhob ciplun fel canran o’r nifer"),
    ("snapshot", "Snapshot", "Ciplun"),
    ("kind_publication", "publication", "cyhoeddi"),
    ("kind_monthly", "monthly", "misol"),
    ("taken_late", "taken late, on", "wedi’i dynnu’n hwyr, ar"),
    ("not_available", "[x] means not available: that snapshot’s catalogue did not have this column", "Mae [x] yn golygu nad yw ar gael: nid oedd y golofn hon yng nghatalog y ciplun hwnnw"),
    ("hr_title", "Who is due to declare", "Pwy sydd i fod i ddatgan"),
    ("hr_lead", "People who have never declared, or whose annual review is due. It never shows what anyone answered.", "Pobl nad ydynt erioed wedi datgan, neu y mae eu hadolygiad blynyddol yn ddyledus. Nid yw byth yn dangos beth atebodd unrhyw un."),
    ("hr_people", "people", "o bobl"),
    ("employee_number", "Employee number", "Rhif cyflogai"),
    ("status", "Status", "Statws"),
    ("never_declared", "Never declared", "Erioed wedi datgan"),
    ("unit", "Unit", "Uned"),
    ("all_units", "All units", "Pob uned"),
    ("filter_unit", "Show people in", "Dangos pobl yn"),
    ("filter", "Show", "Dangos"),
    ("hr_by_unit", "By unit", "Fesul uned"),
    ("hr_people_due", "People due", "Pobl sy’n ddyledus"),
    ("review_due", "Review due", "Adolygiad yn ddyledus"),
    ("no_role", "Your account cannot use these pages", "Ni all eich cyfrif ddefnyddio’r tudalennau hyn"),
    ("no_role_lead", "These pages are for staff declaring for themselves, EDI viewers and HR administrators. Use the API for other roles.", "Mae’r tudalennau hyn ar gyfer staff sy’n datgan drostynt eu hunain, gwylwyr EDI a gweinyddwyr AD. Defnyddiwch yr API ar gyfer rolau eraill."),
    ("error_title", "Sorry, there is a problem", "Mae’n ddrwg gennym, mae problem"),
    ("error_lead", "Try again. If it keeps happening, contact your HR team.", "Rhowch gynnig arall arni. Os yw’n dal i ddigwydd, cysylltwch â’ch tîm AD."),
    ("csrf_title", "Your session expired or the form was out of date", "Daeth eich sesiwn i ben neu roedd y ffurflen wedi dyddio"),
    ("csrf_lead", "Nothing was saved. Go back, reload the page and try again.", "Ni chafodd dim ei gadw. Ewch yn ôl, ail-lwythwch y dudalen a rhowch gynnig arall arni."),
    ("not_found", "Page not found", "Heb ddod o hyd i’r dudalen"),
    ("held", "Your answers were given under another sign-in. Sign in as that identity to see or change them.", "Rhoddwyd eich atebion o dan fewngofnodi arall. Mewngofnodwch fel yr hunaniaeth honno i’w gweld neu eu newid."),
    ("one_at_a_time", "Answer one question at a time instead", "Ateb un cwestiwn ar y tro yn lle hynny"),
    ("step_of", "Question {n} of {total}", "Cwestiwn {n} o {total}"),
    ("signed_out_title", "You have signed out", "Rydych wedi allgofnodi"),
    ("signed_out_lead", "You have signed out of Declare and of your force’s account.", "Rydych wedi allgofnodi o Datgan ac o gyfrif eich heddlu."),
    ("sign_in_again", "Sign in again", "Mewngofnodi eto"),
    ("err_unknown_option", "Select one of the options shown", "Dewiswch un o’r opsiynau a ddangosir"),
    ("err_condition_not_met", "This part is not asked with the answer you chose: change the answer or clear this part", "Ni ofynnir y rhan hon gyda’r ateb a ddewisoch: newidiwch yr ateb neu cliriwch y rhan hon"),
    ("err_empty_selection", "Select at least one option", "Dewiswch o leiaf un opsiwn"),
    ("err_single_select", "Select only one option", "Dewiswch un opsiwn yn unig"),
    ("err_too_many", "You have selected too many options", "Rydych wedi dewis gormod o opsiynau"),
    ("err_duplicate", "An option is selected more than once", "Mae opsiwn wedi’i ddewis fwy nag unwaith"),
    ("err_other_text_not_allowed", "Only describe in your own words when you select ‘Other’", "Dim ond pan fyddwch yn dewis ‘Arall’ y dylech ddisgrifio yn eich geiriau eich hun"),
    ("err_other_text_too_long", "Your description is too long: shorten it", "Mae eich disgrifiad yn rhy hir: byrhewch ef"),
    ("err_other_text_empty", "Enter a description, or clear it", "Rhowch ddisgrifiad, neu cliriwch ef"),
    ("err_invalid", "Check this answer", "Gwiriwch yr ateb hwn"),
    ("err_consent_stale", "The privacy notice has changed since you opened this page: read it again and choose again", "Mae’r hysbysiad preifatrwydd wedi newid ers i chi agor y dudalen hon: darllenwch ef eto a dewiswch eto"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_both_languages_once() {
        let mut keys: Vec<&str> = TEXT.iter().map(|(k, _, _)| *k).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len(), "duplicate keys");
        for (key, en, cy) in TEXT {
            assert!(!en.is_empty() && !cy.is_empty(), "{key} lacks a language");
        }
    }
}
