//! The attacker suite. Random forces (teams of 1-30 in a unit tree, ranks within staff types,
//! skewed answers, one-person and identical teams) are published, and independent attackers
//! who see only what a viewer sees plus what a colleague knows (every group's headcount, who is
//! where, who changed between two publications) try to learn someone's answer:
//!
//! - an interval (integer-bounds) attacker over every table at once, with every relation a
//!   reader knows, who trusts the noise never to exceed its 99.9% range;
//! - a group-disclosure check on every published row;
//! - a differencing attacker who averages the change over every view containing the person,
//!   for every kind of single change (declare, change, withdraw, join, leave, move).
//!
//! Each attacker is also run against exact publication (no noise), where it must succeed: a
//! test that cannot fail proves nothing.

use std::collections::{BTreeMap, HashMap};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

const ANSWERS: [&str; 3] = ["yes", "no", "prefer_not_to_say"];
const PNTS: &str = "prefer_not_to_say";

fn secret() -> NoiseSecret {
    NoiseSecret::new([42; 32])
}

/// One person: where they are and what they answered (`None`: blank).
#[derive(Debug, Clone, PartialEq)]
struct Person {
    id: String,
    unit: usize,
    staff_type: usize,
    rank: usize,
    answer: Option<usize>,
}

/// A random force: a unit tree whose leaves are teams, staff types with ranks inside them.
#[derive(Debug, Clone)]
struct Force {
    /// (key, parent index)
    units: Vec<(String, Option<usize>)>,
    leaves: Vec<usize>,
    staff_types: Vec<String>,
    /// (rank code, staff type index); the last is `no_rank`, usable by any staff type without
    /// ranks.
    ranks: Vec<(String, Option<usize>)>,
    people: Vec<Person>,
    next_id: usize,
}

impl Force {
    fn random(rng: &mut StdRng, teams: usize) -> Force {
        let mut units = vec![("force".to_owned(), None)];
        let areas = rng.gen_range(2..=4);
        for a in 0..areas {
            units.push((format!("area{a}"), Some(0)));
        }
        let mut leaves = Vec::new();
        for t in 0..teams {
            let area = 1 + t % areas;
            // Some teams sit in a department, some directly under their area.
            let parent = if t % 3 == 0 {
                units.push((format!("dept{t}"), Some(area)));
                units.len() - 1
            } else {
                area
            };
            units.push((format!("team{t}"), Some(parent)));
            leaves.push(units.len() - 1);
        }
        let staff_types = [
            "police_officer",
            "police_staff",
            "pcso",
            "special_constable",
        ]
        .map(String::from)
        .to_vec();
        let ranks = vec![
            ("constable".to_owned(), Some(0)),
            ("sergeant".to_owned(), Some(0)),
            ("inspector".to_owned(), Some(0)),
            ("grade_a".to_owned(), Some(1)),
            ("grade_b".to_owned(), Some(1)),
            ("no_rank".to_owned(), None),
        ];
        let mut force = Force {
            units,
            leaves,
            staff_types,
            ranks,
            people: Vec::new(),
            next_id: 0,
        };
        let twin_size = rng.gen_range(3..=12);
        for (i, &leaf) in force.leaves.clone().iter().enumerate() {
            // One-person teams, identical teams, and a spread of 1-30.
            let size = match i % 7 {
                0 => 1,
                1 | 2 => twin_size,
                _ => rng.gen_range(1..=30),
            };
            for _ in 0..size {
                let p = force.random_person(rng, leaf);
                force.people.push(p);
            }
        }
        force
    }

    fn random_person(&mut self, rng: &mut StdRng, unit: usize) -> Person {
        let staff_type = match rng.gen_range(0..10) {
            0..=5 => 0,
            6..=7 => 1,
            8 => 2,
            _ => 3,
        };
        let rank = match staff_type {
            0 => [0, 0, 0, 1, 2][rng.gen_range(0..5)],
            1 => [3, 4][rng.gen_range(0..2)],
            _ => 5,
        };
        self.next_id += 1;
        Person {
            id: format!("p{}", self.next_id),
            unit,
            staff_type,
            rank,
            answer: skewed_answer(rng),
        }
    }

    fn spec(&self) -> FamilySpec {
        FamilySpec {
            characteristic: "disability".into(),
            answers: ANSWERS.map(String::from).to_vec(),
            status_answers: vec![PNTS.into()],
            subtotals: vec![Subtotal {
                key: "declared".into(),
                parts: vec!["yes".into(), "no".into()],
            }],
            org_units: self
                .units
                .iter()
                .map(|(key, parent)| OrgUnit {
                    key: key.clone(),
                    parent: parent.map(|p| self.units[p].0.clone()),
                })
                .collect(),
            dimensions: vec![
                Dimension {
                    key: "staff_type".into(),
                    groups: self.staff_types.clone(),
                },
                Dimension {
                    key: "rank".into(),
                    groups: self.ranks.iter().map(|r| r.0.clone()).collect(),
                },
            ],
        }
    }

    fn cells(&self, contributions: &mut Contributions) -> Vec<Cell> {
        let mut cells: BTreeMap<(usize, usize, usize), Cell> = BTreeMap::new();
        for p in &self.people {
            let cell = cells
                .entry((p.unit, p.staff_type, p.rank))
                .or_insert_with(|| Cell {
                    org_unit: self.units[p.unit].0.clone(),
                    groups: vec![
                        self.staff_types[p.staff_type].clone(),
                        self.ranks[p.rank].0.clone(),
                    ],
                    headcount: 0,
                    answers: BTreeMap::new(),
                    signature: Signature::default(),
                });
            cell.headcount += 1;
            if let Some(a) = p.answer {
                *cell.answers.entry(ANSWERS[a].to_owned()).or_default() += 1;
                cell.signature = cell.signature.plus(contributions.of(&p.id, a));
            }
        }
        cells.into_values().collect()
    }

    fn publish(
        &self,
        config: &DisclosureConfig,
        contributions: &mut Contributions,
    ) -> ProtectedFamily {
        let family = build_family(&self.spec(), &self.cells(contributions)).expect("valid family");
        protect(&family, config, &secret())
    }

    /// The rows containing a person: overall, every unit from their team up, their staff type
    /// and their rank.
    fn views_of(&self, p: &Person) -> Vec<String> {
        let mut views = vec!["overall".to_owned()];
        let mut at = Some(p.unit);
        while let Some(u) = at {
            views.push(self.units[u].0.clone());
            at = self.units[u].1;
        }
        views.push(self.staff_types[p.staff_type].clone());
        views.push(self.ranks[p.rank].0.clone());
        views
    }
}

/// Most say no, some yes, a few prefer not to say, a fifth leave it blank.
fn skewed_answer(rng: &mut StdRng) -> Option<usize> {
    match rng.gen_range(0..100) {
        0..=9 => Some(0),
        10..=74 => Some(1),
        75..=79 => Some(2),
        _ => None,
    }
}

/// Contributions are HMACs; a trial reuses them.
#[derive(Default)]
struct Contributions(HashMap<(String, usize), Signature>);

impl Contributions {
    fn of(&mut self, person: &str, answer: usize) -> Signature {
        *self
            .0
            .entry((person.to_owned(), answer))
            .or_insert_with(|| contribution(&secret(), person, "disability", ANSWERS[answer]))
    }
}

fn row<'a>(p: &'a ProtectedFamily, key: &str) -> &'a ProtectedRow {
    p.rows.iter().find(|r| r.key == key).expect("row exists")
}

fn count(r: &ProtectedRow, column: &str) -> Published {
    r.cells
        .iter()
        .find(|c| c.column == column)
        .expect("column exists")
        .count
}

fn exact() -> DisclosureConfig {
    DisclosureConfig {
        noise_sd_centi: 0,
        ..DisclosureConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// The interval attacker
// ---------------------------------------------------------------------------------------

/// `sum(x[cell][column] for each variable) in [lo, hi]`.
type Constraint = (Vec<(usize, usize)>, i64, i64);

/// Integer bounds on every (cell, answer) count from every table at once: each leaf cell's
/// answers add up to its known headcount, and each published count `p` of a row is taken to be
/// within `width` of the truth (a suppressed small count within `width` of 1..k-1).
/// Propagates `sum(x) in [lo, hi]` constraints to a fixed point. Returns, per cell, per answer
/// (blank last), (lower, upper).
fn interval_attack(
    force: &Force,
    published: &ProtectedFamily,
    config: &DisclosureConfig,
    width: i64,
) -> Vec<(Vec<(i64, i64)>, i64)> {
    let spec = force.spec();
    let mut cells: Vec<((usize, usize, usize), i64)> = Vec::new();
    let mut index: BTreeMap<(usize, usize, usize), usize> = BTreeMap::new();
    for p in &force.people {
        let key = (p.unit, p.staff_type, p.rank);
        let i = *index.entry(key).or_insert_with(|| {
            cells.push((key, 0));
            cells.len() - 1
        });
        cells[i].1 += 1;
    }
    let columns = ANSWERS.len() + 1; // answers, blank
    let mut bounds: Vec<Vec<(i64, i64)>> =
        cells.iter().map(|&(_, h)| vec![(0, h); columns]).collect();
    // Constraints: (variables as (cell, column), lo, hi).
    let mut constraints: Vec<Constraint> = Vec::new();
    for (i, &(_, h)) in cells.iter().enumerate() {
        constraints.push(((0..columns).map(|c| (i, c)).collect(), h, h));
    }
    let members = |row: &ProtectedRow| -> Vec<usize> {
        cells
            .iter()
            .enumerate()
            .filter(|(_, ((unit, st, rank), _))| match &row.kind {
                RowKind::Overall => true,
                RowKind::OrgUnit { .. } => {
                    let mut at = Some(*unit);
                    while let Some(u) = at {
                        if force.units[u].0 == row.key {
                            return true;
                        }
                        at = force.units[u].1;
                    }
                    false
                }
                RowKind::Group { dimension } if dimension == "staff_type" => {
                    force.staff_types[*st] == row.key
                }
                RowKind::Group { .. } => force.ranks[*rank].0 == row.key,
            })
            .map(|(i, _)| i)
            .collect()
    };
    for r in &published.rows {
        let inside = members(r);
        for cell in &r.cells {
            let parts: Vec<usize> = match cell.column.as_str() {
                "declared" => vec![0, 1],
                BLANK => vec![ANSWERS.len()],
                a => vec![ANSWERS.iter().position(|x| *x == a).expect("known answer")],
            };
            let (lo, hi) = match cell.count {
                Published::Count(p) => (p as i64 - width, p as i64 + width),
                Published::Suppressed if r.headcount >= config.min_group => {
                    (1 - width, config.min_cell as i64 - 1 + width)
                }
                Published::Suppressed => continue,
            };
            let vars = inside
                .iter()
                .flat_map(|&i| parts.iter().map(move |&c| (i, c)))
                .collect();
            constraints.push((vars, lo.max(0), hi));
        }
        let _ = &spec;
    }
    for _ in 0..200 {
        let mut changed = false;
        for (vars, lo, hi) in &constraints {
            let sum_lo: i64 = vars.iter().map(|&(i, c)| bounds[i][c].0).sum();
            let sum_hi: i64 = vars.iter().map(|&(i, c)| bounds[i][c].1).sum();
            for &(i, c) in vars {
                let (l, u) = bounds[i][c];
                let new_l = l.max(lo - (sum_hi - u));
                let new_u = u.min(hi - (sum_lo - l));
                if (new_l, new_u) != (l, u) {
                    bounds[i][c] = (new_l, new_u.max(new_l));
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    bounds.into_iter().zip(cells.iter().map(|c| c.1)).collect()
}

/// People whose answer the bounds pin: everyone in their cell must have given one answer
/// (its lower bound is the cell's headcount).
fn pinned(bounds: &[(Vec<(i64, i64)>, i64)]) -> usize {
    bounds
        .iter()
        .filter(|(b, h)| *h > 0 && b.iter().any(|&(lo, _)| lo == *h))
        .map(|(_, h)| *h as usize)
        .sum()
}

/// The noise a careful attacker trusts: its 99.9% range.
fn width_999(sd: f64) -> i64 {
    let alpha = super::noise::alpha_for(sd);
    // P(|e| > w) = 2 α^(w+1) / (1 + α)
    let mut w = 0i64;
    while 2.0 * alpha.powi(w as i32 + 1) / (1.0 + alpha) > 0.001 {
        w += 1;
    }
    w
}

#[test]
fn the_interval_attacker_pins_no_one_across_every_table() {
    let config = DisclosureConfig::default();
    let width = width_999(config.noise_sd());
    let mut exact_pinned = 0;
    for seed in 0..12 {
        let mut rng = StdRng::seed_from_u64(seed);
        let force = Force::random(&mut rng, 24);
        let mut contributions = Contributions::default();
        let published = force.publish(&config, &mut contributions);
        let bounds = interval_attack(&force, &published, &config, width);
        assert_eq!(
            pinned(&bounds),
            0,
            "seed {seed}: someone's answer is pinned"
        );
        // Against exact publication the same attacker pins people: it is a real attacker.
        let naked = force.publish(&exact(), &mut contributions);
        exact_pinned += pinned(&interval_attack(&force, &naked, &exact(), 0));
    }
    assert!(
        exact_pinned > 0,
        "the attacker found nothing even in exact tables"
    );
    println!("interval attacker: 0 people pinned under perturbation (trusting |noise| <= {width}); {exact_pinned} pinned in exact tables");
}

// ---------------------------------------------------------------------------------------
// Group attribute disclosure
// ---------------------------------------------------------------------------------------

/// No published row under G shows any split at all, and no split is shown where fewer than G
/// answered as the published answers add up.
fn assert_no_group_disclosure(published: &ProtectedFamily, config: &DisclosureConfig) {
    for r in &published.rows {
        let shown: Vec<&PublishedCell> = r
            .cells
            .iter()
            .filter(|c| !c.count.is_suppressed())
            .collect();
        if r.headcount > 0 && r.headcount < config.min_group {
            assert!(
                shown.is_empty(),
                "row {} of {} shows {shown:?}",
                r.key,
                r.headcount
            );
        }
        let split_shown = ["yes", "no"].iter().any(|a| !count(r, a).is_suppressed());
        if split_shown && r.headcount > 0 {
            let answered: u64 = ANSWERS.iter().filter_map(|a| count(r, a).count()).sum();
            assert!(
                answered >= config.min_group,
                "row {} shows the answers of {answered} people",
                r.key
            );
        }
    }
}

#[test]
fn no_group_under_g_shows_its_answers() {
    let config = DisclosureConfig::default();
    let mut concentrated_small = 0;
    for seed in 0..20 {
        let mut rng = StdRng::seed_from_u64(100 + seed);
        let mut force = Force::random(&mut rng, 20);
        // A team of 6 all "yes" and teams of 5-8 all "no", as the audit found.
        for (leaf, (size, answer)) in force.leaves.clone().iter().zip([(6, 0), (5, 1), (8, 1)]) {
            force.people.retain(|p| p.unit != *leaf);
            for _ in 0..size {
                let mut p = force.random_person(&mut rng, *leaf);
                p.answer = Some(answer);
                force.people.push(p);
            }
            concentrated_small += 1;
        }
        let mut contributions = Contributions::default();
        assert_no_group_disclosure(&force.publish(&config, &mut contributions), &config);
    }
    // The check itself catches exact publication without the group rule.
    let mut rng = StdRng::seed_from_u64(7);
    let force = Force::random(&mut rng, 20);
    let loose = DisclosureConfig {
        min_group: 1,
        ..exact()
    };
    let caught = std::panic::catch_unwind(|| {
        let mut contributions = Contributions::default();
        assert_no_group_disclosure(
            &force.publish(&loose, &mut contributions),
            &DisclosureConfig::default(),
        );
    });
    assert!(
        caught.is_err(),
        "the group check passes tables that break the rule"
    );
    assert!(concentrated_small > 0);
}

// ---------------------------------------------------------------------------------------
// Differencing
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Declare,
    Modify,
    Withdraw,
    Join,
    Leave,
    Move,
}

const CHANGES: [Change; 6] = [
    Change::Declare,
    Change::Modify,
    Change::Withdraw,
    Change::Join,
    Change::Leave,
    Change::Move,
];

/// Applies one random change of `kind` to someone; returns the person's index (in the state
/// where they are present with their answer) and the answer the attacker must guess.
fn apply(kind: Change, force: &mut Force, rng: &mut StdRng) -> (Person, usize) {
    let answer = rng.gen_range(0..ANSWERS.len());
    match kind {
        Change::Declare => {
            let i = rng.gen_range(0..force.people.len());
            force.people[i].answer = None;
            let before = force.people[i].clone();
            force.people[i].answer = Some(answer);
            (before, answer)
        }
        Change::Modify => {
            let i = rng.gen_range(0..force.people.len());
            let old = (answer + rng.gen_range(1..ANSWERS.len())) % ANSWERS.len();
            force.people[i].answer = Some(old);
            let before = force.people[i].clone();
            force.people[i].answer = Some(answer);
            (before, answer)
        }
        Change::Withdraw | Change::Leave | Change::Move => {
            let i = rng.gen_range(0..force.people.len());
            force.people[i].answer = Some(answer);
            (force.people[i].clone(), answer)
        }
        Change::Join => {
            let unit = force.leaves[rng.gen_range(0..force.leaves.len())];
            let mut p = force.random_person(rng, unit);
            p.answer = Some(answer);
            (p, answer)
        }
    }
}

/// Publishes the state before and after one change and lets the attacker average, over every
/// view containing the person, the change of each answer column (the sign of the change
/// tells them which way to read it). Returns whether they guessed the answer.
fn difference_once(
    kind: Change,
    base: &Force,
    rng: &mut StdRng,
    config: &DisclosureConfig,
    contributions: &mut Contributions,
) -> bool {
    let mut before = base.clone();
    let (person, answer) = apply(kind, &mut before, rng);
    let mut after = before.clone();
    // `before` holds the state ahead of the change (fix it up for the kinds apply() mutates in
    // place), `after` the state after it.
    let sign: f64 = match kind {
        Change::Declare | Change::Modify => {
            let i = before
                .people
                .iter()
                .position(|p| p.id == person.id)
                .expect("present");
            before.people[i] = person.clone();
            1.0
        }
        Change::Withdraw => {
            let i = after
                .people
                .iter()
                .position(|p| p.id == person.id)
                .expect("present");
            after.people[i].answer = None;
            -1.0
        }
        Change::Join => {
            after.people.push(person.clone());
            1.0
        }
        Change::Leave => {
            after.people.retain(|p| p.id != person.id);
            -1.0
        }
        Change::Move => {
            let i = after
                .people
                .iter()
                .position(|p| p.id == person.id)
                .expect("present");
            let mut to = person.unit;
            while to == person.unit {
                to = after.leaves[rng.gen_range(0..after.leaves.len())];
            }
            after.people[i].unit = to;
            -1.0 // read from the team they left; the team they joined is read with +1 below
        }
    };
    let a = before.publish(config, contributions);
    let b = after.publish(config, contributions);
    let mut score = [0.0f64; ANSWERS.len()];
    let mut views: Vec<(String, f64)> = before
        .views_of(&person)
        .into_iter()
        .map(|v| (v, sign))
        .collect();
    if kind == Change::Move {
        let moved = after
            .people
            .iter()
            .find(|p| p.id == person.id)
            .expect("present")
            .clone();
        views.retain(|(v, _)| !after.views_of(&moved).contains(v));
        views.extend(
            after
                .views_of(&moved)
                .into_iter()
                .filter(|v| !before.views_of(&person).contains(v))
                .map(|v| (v, 1.0)),
        );
    }
    for (view, sign) in &views {
        let (ra, rb) = (row(&a, view), row(&b, view));
        for (j, column) in ANSWERS.iter().enumerate() {
            if let (Some(x), Some(y)) = (count(ra, column).count(), count(rb, column).count()) {
                let delta = y as f64 - x as f64;
                // A modification also lowers the old answer; reading only increases keeps the
                // attacker's job the same for every kind.
                score[j] += sign * delta;
            }
        }
    }
    let best = (0..ANSWERS.len())
        .max_by(|&x, &y| {
            score[x]
                .total_cmp(&score[y])
                .then_with(|| rng.gen::<u32>().cmp(&rng.gen::<u32>()))
        })
        .unwrap_or(0);
    best == answer
}

fn differencing_rate(kind: Change, config: &DisclosureConfig, trials: usize, seed: u64) -> f64 {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut right = 0usize;
    let mut contributions = Contributions::default();
    let mut base = Force::random(&mut rng, 30);
    for t in 0..trials {
        if t % 25 == 0 {
            base = Force::random(&mut rng, 30);
            contributions = Contributions::default();
        }
        if difference_once(kind, &base, &mut rng, config, &mut contributions) {
            right += 1;
        }
    }
    right as f64 / trials as f64
}

#[test]
fn a_single_change_between_two_publications_is_not_given_away() {
    let config = DisclosureConfig::default();
    let chance = 1.0 / ANSWERS.len() as f64;
    let trials = 600;
    for (i, kind) in CHANGES.into_iter().enumerate() {
        let rate = differencing_rate(kind, &config, trials, 1000 + i as u64);
        let naked = differencing_rate(kind, &exact(), 60, 2000 + i as u64);
        println!("differencing {kind:?}: attacker right {:.1}% over {trials} trials (chance {:.1}%); against exact figures {:.1}%", rate * 100.0, chance * 100.0, naked * 100.0);
        assert!(
            rate <= chance + 0.20,
            "{kind:?}: the attacker guessed {rate:.3}, chance {chance:.3}"
        );
        assert!(
            naked > chance + 0.35,
            "{kind:?}: the attacker is no threat even to exact figures ({naked:.3})"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Determinism, totality, bounded cost
// ---------------------------------------------------------------------------------------

#[test]
fn the_same_population_always_gives_the_same_figures() {
    let mut rng = StdRng::seed_from_u64(5);
    let force = Force::random(&mut rng, 12);
    let config = DisclosureConfig::default();
    let mut contributions = Contributions::default();
    let first = force.publish(&config, &mut contributions);
    let mut shuffled = force.clone();
    shuffled.people.reverse();
    assert_eq!(
        first,
        shuffled.publish(&config, &mut Contributions::default())
    );
    // Overall and the top unit hold the same people, so they publish the same.
    let (overall, top) = (row(&first, "overall"), row(&first, "force"));
    assert_eq!(overall.cells, top.cells);
}

#[test]
fn headcounts_are_exact_and_everything_else_is_perturbed() {
    let mut rng = StdRng::seed_from_u64(9);
    let force = Force::random(&mut rng, 40);
    let config = DisclosureConfig::default();
    let mut contributions = Contributions::default();
    let published = force.publish(&config, &mut contributions);
    let truth = force.publish(
        &DisclosureConfig {
            min_group: 0,
            min_cell: 0,
            ..exact()
        },
        &mut contributions,
    );
    let (mut same, mut total) = (0, 0);
    for (p, t) in published.rows.iter().zip(&truth.rows) {
        assert_eq!(p.headcount, t.headcount);
        for (pc, tc) in p.cells.iter().zip(&t.cells) {
            if let Published::Count(n) = pc.count {
                total += 1;
                same += usize::from(Published::Count(n) == tc.count);
            }
        }
    }
    // A two-sided geometric with sd 5 is 0 about 14% of the time.
    assert!(
        total > 50 && (same as f64) < 0.4 * total as f64,
        "{same} of {total} published counts are exact"
    );
    assert_eq!(published.rules.method, METHOD);
}

#[test]
fn adversarial_forces_protect_in_one_pass() {
    // Thousands of one-person teams, a deep chain of units, and a huge answer list.
    let mut units = vec![OrgUnit {
        key: "root".into(),
        parent: None,
    }];
    for i in 0..300 {
        units.push(OrgUnit {
            key: format!("chain{i}"),
            parent: Some(if i == 0 {
                "root".into()
            } else {
                format!("chain{}", i - 1)
            }),
        });
    }
    for i in 0..5000 {
        units.push(OrgUnit {
            key: format!("solo{i}"),
            parent: Some("root".into()),
        });
    }
    let answers: Vec<String> = (0..40).map(|i| format!("a{i}")).collect();
    let spec = FamilySpec {
        characteristic: "religion".into(),
        answers: answers.clone(),
        status_answers: vec![],
        subtotals: vec![],
        org_units: units,
        dimensions: vec![Dimension {
            key: "rank".into(),
            groups: (0..50).map(|i| format!("r{i}")).collect(),
        }],
    };
    let mut cells: Vec<Cell> = (0..5000)
        .map(|i| Cell {
            org_unit: format!("solo{i}"),
            groups: vec![format!("r{}", i % 50)],
            headcount: 1,
            answers: BTreeMap::from([(answers[i % 40].clone(), 1)]),
            signature: Signature(i as u64),
        })
        .collect();
    cells.push(Cell {
        org_unit: "chain299".into(),
        groups: vec!["r0".into()],
        headcount: 7,
        answers: BTreeMap::new(),
        signature: Signature(1),
    });
    let started = std::time::Instant::now();
    let family = build_family(&spec, &cells).expect("valid");
    let protected = protect(&family, &DisclosureConfig::default(), &secret());
    assert_eq!(protected.rows.len(), 1 + 5301 + 50);
    // One pass, no search: far inside the 1 s budget even unoptimised.
    assert!(
        started.elapsed().as_secs_f64() < 1.0,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn invalid_families_are_refused() {
    let base = FamilySpec {
        characteristic: "x".into(),
        answers: vec!["yes".into()],
        ..FamilySpec::default()
    };
    assert!(build_family(
        &FamilySpec {
            answers: vec![],
            ..base.clone()
        },
        &[]
    )
    .is_err());
    let cell = |unit: &str, answers: &[(&str, u64)], headcount| Cell {
        org_unit: unit.into(),
        groups: vec![],
        headcount,
        answers: answers.iter().map(|(a, n)| (a.to_string(), *n)).collect(),
        signature: Signature(0),
    };
    let units = FamilySpec {
        org_units: vec![OrgUnit {
            key: "u".into(),
            parent: None,
        }],
        ..base.clone()
    };
    assert!(build_family(&units, &[cell("nowhere", &[], 1)]).is_err());
    assert!(build_family(&units, &[cell("u", &[("maybe", 1)], 1)]).is_err());
    assert!(
        build_family(&units, &[cell("u", &[("yes", 2)], 1)]).is_err(),
        "more answers than people"
    );
    let cycle = FamilySpec {
        org_units: vec![
            OrgUnit {
                key: "a".into(),
                parent: Some("b".into()),
            },
            OrgUnit {
                key: "b".into(),
                parent: Some("a".into()),
            },
        ],
        ..base
    };
    assert!(build_family(&cycle, &[]).is_err());
}

#[test]
fn published_values_serialize_as_number_or_suppressed() {
    assert_eq!(serde_json::to_string(&Published::Count(3)).unwrap(), "3");
    assert_eq!(
        serde_json::to_string(&Published::Suppressed).unwrap(),
        "\"suppressed\""
    );
    assert_eq!(
        serde_json::from_str::<Published>("\"suppressed\"").unwrap(),
        Published::Suppressed
    );
    assert_eq!(
        serde_json::to_string(&PublishedRate::Undefined).unwrap(),
        "null"
    );
}

#[test]
fn rounding_applies_after_perturbation() {
    let mut rng = StdRng::seed_from_u64(3);
    let force = Force::random(&mut rng, 30);
    let config = DisclosureConfig {
        round_to: Some(5),
        ..DisclosureConfig::default()
    };
    let published = force.publish(&config, &mut Contributions::default());
    for r in &published.rows {
        for c in &r.cells {
            if let Published::Count(n) = c.count {
                assert_eq!(n % 5, 0, "{} {} = {n}", r.key, c.column);
            }
        }
    }
}
