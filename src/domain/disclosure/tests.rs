//! Tests of disclosure control. The attackers here are written independently of the
//! suppression code (their own rational elimination, their own brute-force search) and see
//! only what is published plus the constraints.

use proptest::prelude::*;

use super::*;

// ---------------------------------------------------------------------------------------
// Independent attackers
// ---------------------------------------------------------------------------------------

/// Exact rational with i128 parts, always reduced, denominator positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rat(i128, i128);

impl Rat {
    fn int(v: i128) -> Self {
        Rat(v, 1)
    }
    fn new(n: i128, d: i128) -> Self {
        assert!(d != 0);
        let g = gcd(n.unsigned_abs(), d.unsigned_abs()) as i128;
        let s = if d < 0 { -1 } else { 1 };
        Rat(s * n / g, s * d / g)
    }
    fn is_zero(self) -> bool {
        self.0 == 0
    }
    fn sub(self, o: Rat) -> Rat {
        Rat::new(self.0 * o.1 - o.0 * self.1, self.1 * o.1)
    }
    fn mul(self, o: Rat) -> Rat {
        Rat::new(self.0 * o.0, self.1 * o.1)
    }
    fn div(self, o: Rat) -> Rat {
        Rat::new(self.0 * o.1, self.1 * o.0)
    }
}

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 {
        a.max(1)
    } else {
        gcd(b, a % b)
    }
}

/// Every constraint as `sum(coef * cell) = 0` over all cells.
fn equations(problem: &Problem) -> Vec<Vec<(usize, i128)>> {
    problem
        .constraints()
        .iter()
        .map(|c| {
            let mut e = vec![(c.total.0, 1)];
            e.extend(c.parts.iter().map(|p| (p.0, -1)));
            e
        })
        .collect()
}

/// Linear-algebra attacker: Gauss-Jordan over the rationals on ALL constraints, unknowns =
/// suppressed cells, knowns = exact published values. Recovers a cell when a reduced row has
/// one unknown, or when a reduced or original row has all unknown coefficients of one sign
/// and a zero right-hand side (non-negativity forces zeros). Repeats with what it learnt.
/// Returns the cells it recovered, with the value it worked out.
fn linear_attack(problem: &Problem, published: &[Published]) -> Vec<(usize, i128)> {
    let truth: Vec<i128> = problem.cells().iter().map(|c| c.count as i128).collect();
    let mut known: Vec<Option<i128>> = published
        .iter()
        .zip(&truth)
        .map(|(p, &t)| (!p.is_suppressed()).then_some(t))
        .collect();
    let mut recovered = Vec::new();
    let eqs = equations(problem);
    loop {
        let unknowns: Vec<usize> = (0..known.len()).filter(|&i| known[i].is_none()).collect();
        let col = |cell: usize| unknowns.iter().position(|&u| u == cell);
        // Rows: coefficients over unknowns, then the right-hand side.
        let mut rows: Vec<Vec<Rat>> = eqs
            .iter()
            .map(|e| {
                let mut row = vec![Rat::int(0); unknowns.len() + 1];
                let mut rhs = 0i128;
                for &(cell, coef) in e {
                    match known[cell] {
                        Some(v) => rhs -= coef * v,
                        None => {
                            let c = col(cell).unwrap();
                            row[c] = Rat::int(row[c].0 + coef);
                        }
                    }
                }
                row[unknowns.len()] = Rat::int(rhs);
                row
            })
            .collect();
        let originals = rows.clone();
        // Gauss-Jordan.
        let mut rank = 0;
        for c in 0..unknowns.len() {
            let Some(p) = (rank..rows.len()).find(|&r| !rows[r][c].is_zero()) else {
                continue;
            };
            rows.swap(rank, p);
            let pivot = rows[rank][c];
            for v in rows[rank].iter_mut() {
                *v = v.div(pivot);
            }
            for r in 0..rows.len() {
                if r != rank && !rows[r][c].is_zero() {
                    let f = rows[r][c];
                    let prow = rows[rank].clone();
                    for (v, pv) in rows[r].iter_mut().zip(prow) {
                        *v = v.sub(f.mul(pv));
                    }
                }
            }
            rank += 1;
        }
        let mut learnt = Vec::new();
        for row in rows.iter().chain(originals.iter()) {
            let rhs = row[unknowns.len()];
            let nz: Vec<usize> = (0..unknowns.len()).filter(|&c| !row[c].is_zero()).collect();
            if nz.len() == 1 {
                let v = rhs.div(row[nz[0]]);
                assert_eq!(v.1, 1, "non-integral recovery");
                learnt.push((unknowns[nz[0]], v.0));
            } else if !nz.is_empty() && rhs.is_zero() {
                let pos = nz.iter().all(|&c| row[c].0 > 0);
                let neg = nz.iter().all(|&c| row[c].0 < 0);
                if pos || neg {
                    learnt.extend(nz.iter().map(|&c| (unknowns[c], 0)));
                }
            }
        }
        learnt.sort();
        learnt.dedup();
        if learnt.is_empty() {
            return recovered;
        }
        for (cell, v) in learnt {
            assert_eq!(v, truth[cell], "attacker derived a wrong value");
            if known[cell].is_none() {
                known[cell] = Some(v);
                recovered.push((cell, v));
            }
        }
    }
}

/// Brute-force attacker for tiny families: for each suppressed cell, search the non-negative
/// integer assignments of all suppressed cells (each bounded by what the published totals
/// allow, or by a cap when nothing published bounds it) consistent with every constraint, for
/// one where the cell differs from its true value. Complete search with interval propagation.
/// Returns the cells that cannot differ.
fn brute_force_unique(problem: &Problem, published: &[Published]) -> Vec<usize> {
    let truth: Vec<i64> = problem.cells().iter().map(|c| c.count as i64).collect();
    let n = truth.len();
    let eqs = equations(problem);
    let cap = truth.iter().copied().max().unwrap_or(0) + 3;
    let domains: Vec<(i64, i64)> = (0..n)
        .map(|i| {
            if published[i].is_suppressed() {
                (0, cap)
            } else {
                (truth[i], truth[i])
            }
        })
        .collect();
    let mut nodes = 0u64;
    let mut unique = Vec::new();
    for target in (0..n).filter(|&i| published[i].is_suppressed()) {
        let t = truth[target];
        let below = t > 0 && {
            let mut d = domains.clone();
            d[target] = (0, t - 1);
            solve(&eqs, d, &truth, &mut nodes)
        };
        let above = below || {
            let mut d = domains.clone();
            d[target] = (t + 1, cap);
            solve(&eqs, d, &truth, &mut nodes)
        };
        if !above {
            unique.push(target);
        }
    }
    unique
}

/// Is there an integer point in the box `domains` satisfying every equation?
fn solve(
    eqs: &[Vec<(usize, i128)>],
    mut domains: Vec<(i64, i64)>,
    truth: &[i64],
    nodes: &mut u64,
) -> bool {
    *nodes += 1;
    assert!(*nodes < 2_000_000, "brute force inconclusive");
    // Bound propagation to a fixpoint.
    loop {
        let mut changed = false;
        for e in eqs {
            let (mut lo, mut hi) = (0i64, 0i64);
            for &(c, coef) in e {
                let (a, b) = domains[c];
                if coef > 0 {
                    lo += a;
                    hi += b;
                } else {
                    lo -= b;
                    hi -= a;
                }
            }
            if lo > 0 || hi < 0 {
                return false;
            }
            for &(c, coef) in e {
                let (a, b) = domains[c];
                // Rest of the equation without this cell.
                let (rlo, rhi) = if coef > 0 {
                    (lo - a, hi - b)
                } else {
                    (lo + b, hi + a)
                };
                // coef * x = -rest  =>  x in [-rhi, -rlo] (coef 1) or [rlo, rhi] (coef -1).
                let (na, nb) = if coef > 0 { (-rhi, -rlo) } else { (rlo, rhi) };
                let (na, nb) = (a.max(na), b.min(nb));
                if na > nb {
                    return false;
                }
                if (na, nb) != (a, b) {
                    domains[c] = (na, nb);
                    changed = true;
                }
            }
            if changed {
                break;
            }
        }
        if !changed {
            break;
        }
    }
    let Some(cell) = (0..domains.len())
        .filter(|&c| domains[c].0 < domains[c].1)
        .min_by_key(|&c| (domains[c].1 - domains[c].0, c))
    else {
        return true;
    };
    let (a, b) = domains[cell];
    let mut values: Vec<i64> = (a..=b).collect();
    values.sort_by_key(|v| ((v - truth[cell]).abs(), *v));
    values.into_iter().any(|v| {
        let mut d = domains.clone();
        d[cell] = (v, v);
        solve(eqs, d, truth, nodes)
    })
}

/// Checks every test makes of a protected problem.
fn check_protection(problem: &Problem, protection: &Protection, config: &DisclosureConfig) {
    let k = config.min_cell;
    for (i, cell) in problem.cells().iter().enumerate() {
        let id = CellId(i);
        match protection.published(id) {
            Published::Count(v) => {
                let t = cell.count;
                assert!(
                    t >= k || (t == 0 && !config.suppress_zeros),
                    "{} = {t}",
                    cell.label
                );
                // Nearest multiple of the base, halves up.
                let expected = match config.round_to {
                    Some(b) if b > 1 => ((t + b / 2) / b) * b,
                    _ => t,
                };
                assert_eq!(v, expected, "{} published wrongly", cell.label);
            }
            Published::Suppressed => {
                // The certificate must hold, checked here independently.
                let w = protection
                    .witness(id)
                    .expect("suppressed cell without witness");
                let mut delta = vec![0i64; problem.cells().len()];
                for (c, d) in w {
                    assert!(protection.published(c).is_suppressed());
                    assert!(problem.cells()[c.0].count as i64 + d >= 0);
                    delta[c.0] = d;
                }
                assert_ne!(delta[i], 0);
                for c in problem.constraints() {
                    let s: i64 = c.parts.iter().map(|p| delta[p.0]).sum();
                    assert_eq!(delta[c.total.0], s);
                }
            }
        }
    }
    for g in problem.breakdown_groups() {
        if !may_break_down(problem.cells()[g.headcount.0].count, config) {
            for p in &g.parts {
                assert!(protection.published(*p).is_suppressed());
            }
        }
    }
    let recovered = linear_attack(problem, protection.values());
    assert!(
        recovered.is_empty(),
        "linear attacker recovered {recovered:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Builders for unit tests
// ---------------------------------------------------------------------------------------

/// A two-way table with row totals, column totals and a grand total. Returns the problem and
/// the ids of the interior cells by row.
fn table(interior: &[&[u64]]) -> (Problem, Vec<Vec<CellId>>) {
    let mut p = Problem::new();
    let cols = interior[0].len();
    let ids: Vec<Vec<CellId>> = interior
        .iter()
        .enumerate()
        .map(|(r, row)| {
            row.iter()
                .enumerate()
                .map(|(c, &v)| p.add_cell(format!("r{r}c{c}"), v))
                .collect()
        })
        .collect();
    let row_totals: Vec<CellId> = interior
        .iter()
        .enumerate()
        .map(|(r, row)| p.add_cell(format!("r{r}total"), row.iter().sum()))
        .collect();
    let col_totals: Vec<CellId> = (0..cols)
        .map(|c| p.add_cell(format!("total c{c}"), interior.iter().map(|r| r[c]).sum()))
        .collect();
    let grand = p.add_cell("total", interior.iter().flat_map(|r| r.iter()).sum());
    for (r, row) in ids.iter().enumerate() {
        p.add_constraint(row_totals[r], row.clone()).unwrap();
    }
    for c in 0..cols {
        let col = ids.iter().map(|r| r[c]).collect();
        p.add_constraint(col_totals[c], col).unwrap();
    }
    p.add_constraint(grand, row_totals).unwrap();
    p.add_constraint(grand, col_totals).unwrap();
    (p, ids)
}

fn spec(units: &[(&str, Option<&str>)], dims: &[(&str, &[&str])]) -> FamilySpec {
    FamilySpec {
        answers: vec!["yes".into(), "no".into(), "prefer_not_to_say".into()],
        subtotals: vec![Subtotal {
            key: "declared".into(),
            parts: vec!["yes".into(), "no".into()],
        }],
        org_units: units
            .iter()
            .map(|(k, p)| OrgUnit {
                key: k.to_string(),
                parent: p.map(str::to_string),
            })
            .collect(),
        dimensions: dims
            .iter()
            .map(|(k, g)| Dimension {
                key: k.to_string(),
                groups: g.iter().map(|s| s.to_string()).collect(),
            })
            .collect(),
    }
}

fn tally(unit: &str, groups: &[&str], answer: Option<&str>, count: u64) -> Tally {
    Tally {
        org_unit: unit.into(),
        groups: groups.iter().map(|s| s.to_string()).collect(),
        answer: answer.map(str::to_string),
        count,
    }
}

fn row<'a>(p: &'a ProtectedFamily, key: &str) -> &'a ProtectedRow {
    p.rows.iter().find(|r| r.key == key).unwrap()
}

fn cell(r: &ProtectedRow, column: &str) -> Published {
    r.cells.iter().find(|c| c.column == column).unwrap().count
}

// ---------------------------------------------------------------------------------------
// Unit tests
// ---------------------------------------------------------------------------------------

#[test]
fn a_single_small_cell_in_a_row_forces_a_second() {
    let mut p = Problem::new();
    let a = p.add_cell("a", 3);
    let b = p.add_cell("b", 20);
    let c = p.add_cell("c", 10);
    let t = p.add_cell("t", 33);
    p.add_constraint(t, vec![a, b, c]).unwrap();
    let config = DisclosureConfig::default();
    let pr = protect_problem(&p, &config).unwrap();
    assert_eq!(pr.status(a), CellStatus::Primary);
    // Smallest published count in the row: c (10), not b (20) nor the total.
    assert_eq!(pr.status(c), CellStatus::Secondary);
    assert_eq!(pr.published(b), Published::Count(20));
    assert_eq!(pr.published(t), Published::Count(33));
    assert_eq!(pr.rules().primary_suppressions, 1);
    assert_eq!(pr.rules().secondary_suppressions, 1);
    check_protection(&p, &pr, &config);
}

#[test]
fn two_way_table_gets_a_rectangle() {
    let (p, ids) = table(&[&[2, 10, 30], &[20, 40, 15], &[25, 35, 50]]);
    let config = DisclosureConfig::default();
    let pr = protect_problem(&p, &config).unwrap();
    let suppressed: Vec<(usize, usize)> = (0..3)
        .flat_map(|r| (0..3).map(move |c| (r, c)))
        .filter(|&(r, c)| pr.published(ids[r][c]).is_suppressed())
        .collect();
    // r0c0 (primary), then r0c1 (the smallest published count in its row or column).
    assert_eq!(suppressed[..2], [(0, 0), (0, 1)]);
    // Each suppressed interior cell needs a partner in its row and in its column.
    assert!(suppressed.len() >= 4);
    check_protection(&p, &pr, &config);
}

#[test]
fn two_per_row_is_not_enough_the_linear_test_catches_a_bridge() {
    // Two 2x2 rectangles of small cells joined by one more small cell (r1, c2): every row and
    // column with a suppressed cell has at least two, yet the bridge cell equals a sum of
    // margins. Primary suppression alone would leave it recoverable.
    let (p, ids) = table(&[
        &[2, 3, 40, 50, 60],
        &[4, 1, 2, 70, 80],
        &[90, 85, 3, 4, 75],
        &[65, 55, 2, 1, 45],
        &[30, 35, 40, 45, 50],
    ]);
    let config = DisclosureConfig::default();
    let pr = protect_problem(&p, &config).unwrap();
    assert_eq!(pr.rules().primary_suppressions, 9);
    assert!(pr.rules().secondary_suppressions >= 1);
    // With only the primary pattern published, the independent attacker recovers the bridge.
    let naive: Vec<Published> = p
        .cells()
        .iter()
        .map(|c| {
            if c.count < 5 {
                Published::Suppressed
            } else {
                Published::Count(c.count)
            }
        })
        .collect();
    let recovered = linear_attack(&p, &naive);
    assert!(recovered.iter().any(|&(c, v)| c == ids[1][2].0 && v == 2));
    // ... and so does the brute-force attacker (it is not vacuous).
    assert!(brute_force_unique(&p, &naive).contains(&ids[1][2].0));
    assert!(brute_force_unique(&p, pr.values()).is_empty());
    check_protection(&p, &pr, &config);
}

#[test]
fn zero_sum_rule_is_defended() {
    // With zeros suppressed: a + b = 0 is known from the published cells, so both are 0.
    let mut p = Problem::new();
    let a = p.add_cell("a", 0);
    let b = p.add_cell("b", 0);
    let c = p.add_cell("c", 10);
    let t = p.add_cell("t", 10);
    p.add_constraint(t, vec![a, b, c]).unwrap();
    let config = DisclosureConfig {
        suppress_zeros: true,
        ..Default::default()
    };
    let pr = protect_problem(&p, &config).unwrap();
    assert!(pr.published(a).is_suppressed() && pr.published(b).is_suppressed());
    assert!(pr.published(c).is_suppressed(), "c must hide the zeros");
    assert!(brute_force_unique(&p, pr.values()).is_empty());
    check_protection(&p, &pr, &config);
}

#[test]
fn zeros_are_published_by_default() {
    let mut p = Problem::new();
    let a = p.add_cell("a", 0);
    let b = p.add_cell("b", 12);
    let t = p.add_cell("t", 12);
    p.add_constraint(t, vec![a, b]).unwrap();
    let config = DisclosureConfig::default();
    let pr = protect_problem(&p, &config).unwrap();
    assert_eq!(
        pr.values(),
        &[
            Published::Count(0),
            Published::Count(12),
            Published::Count(12)
        ]
    );
    let config = DisclosureConfig {
        suppress_zeros: true,
        ..Default::default()
    };
    // A lone suppressed zero is recoverable from t - b, and protecting it means suppressing
    // b, after which b and t = b are pinned to each other, so t goes too.
    let pr = protect_problem(&p, &config).unwrap();
    assert!(pr.published(a).is_suppressed());
    check_protection(&p, &pr, &config);
}

#[test]
fn rounding_is_applied_after_suppression() {
    assert_eq!(suppress::round_to(12, Some(5)), 10);
    assert_eq!(suppress::round_to(13, Some(5)), 15);
    assert_eq!(suppress::round_to(5, Some(5)), 5);
    assert_eq!(suppress::round_to(0, Some(5)), 0);
    assert_eq!(suppress::round_to(15, Some(10)), 20);
    assert_eq!(suppress::round_to(14, Some(10)), 10);
    assert_eq!(suppress::round_to(7, None), 7);
    assert_eq!(suppress::round_to(u64::MAX, Some(5)), u64::MAX);

    let mut p = Problem::new();
    let a = p.add_cell("a", 3);
    let b = p.add_cell("b", 12);
    let c = p.add_cell("c", 23);
    let t = p.add_cell("t", 38);
    p.add_constraint(t, vec![a, b, c]).unwrap();
    let config = DisclosureConfig {
        round_to: Some(5),
        ..Default::default()
    };
    let pr = protect_problem(&p, &config).unwrap();
    assert_eq!(
        pr.values(),
        &[
            Published::Suppressed,
            Published::Suppressed,
            Published::Count(25),
            Published::Count(40)
        ]
    );
    assert_eq!(pr.rules().round_to, Some(5));
    check_protection(&p, &pr, &config);
}

#[test]
fn small_groups_are_not_broken_down() {
    let config = DisclosureConfig::default();
    assert!(!may_break_down(3, &config));
    assert!(may_break_down(5, &config));
    assert!(may_break_down(0, &config));
    assert!(!may_break_down(
        0,
        &DisclosureConfig {
            suppress_zeros: true,
            ..config
        }
    ));

    let s = spec(
        &[("north", None), ("south", None)],
        &[("staff_type", &["officer", "staff"])],
    );
    let tallies = vec![
        // north: 3 people, all answered yes: no zero may be shown for it.
        tally("north", &["officer"], Some("yes"), 3),
        tally("south", &["officer"], Some("yes"), 20),
        tally("south", &["officer"], Some("no"), 15),
        tally("south", &["staff"], Some("prefer_not_to_say"), 8),
        tally("south", &["staff"], None, 9),
        tally("south", &["staff"], Some("yes"), 6),
    ];
    let family = build_family(&s, &tallies).unwrap();
    let out = protect(&family, &config).unwrap();
    let north = row(&out, "north");
    assert!(north.headcount.is_suppressed());
    assert!(north.cells.iter().all(|c| c.count.is_suppressed()));
    assert!(north
        .cells
        .iter()
        .all(|c| c.percent == PublishedRate::Suppressed));
    assert!(out.rules.small_group_suppressions >= 3);
    let pr = protect_problem(family.problem(), &config).unwrap();
    check_protection(family.problem(), &pr, &config);
    assert!(brute_force_unique(family.problem(), pr.values()).is_empty());
}

#[test]
fn parent_and_children_hierarchy() {
    let s = spec(
        &[
            ("east", None),
            ("west", None),
            ("east_a", Some("east")),
            ("east_b", Some("east")),
            ("east_c", Some("east")),
        ],
        &[],
    );
    let tallies = vec![
        tally("east_a", &[], Some("yes"), 2),
        tally("east_a", &[], Some("no"), 30),
        tally("east_a", &[], None, 12),
        tally("east_b", &[], Some("yes"), 25),
        tally("east_b", &[], Some("no"), 20),
        tally("east_b", &[], Some("prefer_not_to_say"), 7),
        tally("east_c", &[], Some("yes"), 40),
        tally("east_c", &[], Some("no"), 41),
        tally("east_c", &[], Some("prefer_not_to_say"), 9),
        tally("east_c", &[], None, 10),
        tally("west", &[], Some("yes"), 50),
        tally("west", &[], Some("no"), 60),
        tally("west", &[], Some("prefer_not_to_say"), 11),
        tally("west", &[], None, 13),
    ];
    let family = build_family(&s, &tallies).unwrap();
    let config = DisclosureConfig::default();
    let out = protect(&family, &config).unwrap();
    // east_a yes = 2 is suppressed; something else in its row and in the "yes" column among
    // east's children must go too.
    assert!(cell(row(&out, "east_a"), "yes").is_suppressed());
    let yes_siblings = ["east_b", "east_c"]
        .iter()
        .filter(|k| cell(row(&out, k), "yes").is_suppressed())
        .count();
    assert!(yes_siblings >= 1 || cell(row(&out, "east"), "yes").is_suppressed());
    assert!(out.rules.secondary_suppressions >= 2);
    // Rates only where both counts are published.
    for r in &out.rows {
        for c in &r.cells {
            let both = !c.count.is_suppressed() && !r.headcount.is_suppressed();
            assert_eq!(both, matches!(c.percent, PublishedRate::Percent(_)));
        }
    }
    assert_eq!(out.rows[0].key, "overall");
    assert_eq!(out.rows[0].headcount, Published::Count(330));
    let pr = protect_problem(family.problem(), &config).unwrap();
    check_protection(family.problem(), &pr, &config);
}

#[test]
fn published_values_serialize_as_number_or_suppressed() {
    let v = serde_json::to_value([Published::Count(7), Published::Suppressed]).unwrap();
    assert_eq!(v, serde_json::json!([7, "suppressed"]));
    let back: Vec<Published> = serde_json::from_value(v).unwrap();
    assert_eq!(back, vec![Published::Count(7), Published::Suppressed]);
    assert!(serde_json::from_str::<Published>("\"zero\"").is_err());
    let r = serde_json::to_value([
        PublishedRate::Percent(12.5),
        PublishedRate::Suppressed,
        PublishedRate::Undefined,
    ])
    .unwrap();
    assert_eq!(r, serde_json::json!([12.5, "suppressed", null]));
    let config: DisclosureConfig = serde_json::from_str("{\"min_cell\": 3}").unwrap();
    assert_eq!(config.min_cell, 3);
    assert_eq!(config.rate_decimals, 1);
}

#[test]
fn family_json_shape() {
    let s = spec(&[("a", None)], &[]);
    let family = build_family(&s, &[tally("a", &[], Some("yes"), 9)]).unwrap();
    let out = protect(&family, &DisclosureConfig::default()).unwrap();
    let v = serde_json::to_value(&out).unwrap();
    assert_eq!(v["rows"][1]["kind"], "org_unit");
    assert_eq!(v["rows"][1]["key"], "a");
    assert_eq!(v["rows"][1]["depth"], 0);
    assert_eq!(v["rows"][1]["headcount"], 9);
    assert_eq!(v["rows"][1]["cells"][0]["column"], "yes");
    assert_eq!(v["rows"][1]["cells"][0]["percent"], 100.0);
    assert_eq!(v["rules"]["min_cell"], 5);
}

#[test]
fn invalid_inputs_are_rejected() {
    let mut p = Problem::new();
    let a = p.add_cell("a", 1);
    let t = p.add_cell("t", 2);
    assert!(p.add_constraint(t, vec![a, a]).is_err());
    assert!(p.add_constraint(t, vec![t]).is_err());
    assert!(p.add_constraint(t, vec![CellId(9)]).is_err());
    p.add_constraint(t, vec![a]).unwrap();
    assert!(matches!(
        protect_problem(&p, &DisclosureConfig::default()),
        Err(DisclosureError::InconsistentCounts { .. })
    ));
    let s = spec(&[("p", None), ("c", Some("p"))], &[]);
    assert!(build_family(&s, &[tally("p", &[], None, 1)]).is_err());
    assert!(build_family(&s, &[tally("x", &[], None, 1)]).is_err());
    assert!(build_family(&s, &[tally("c", &[], Some("maybe"), 1)]).is_err());
    let cyclic = spec(&[("p", Some("c")), ("c", Some("p"))], &[]);
    assert!(build_family(&cyclic, &[]).is_err());
}

#[test]
fn structurally_determined_cells_are_an_error_not_a_leak() {
    // t = a and t = a + b force b = 0 whatever is suppressed: refuse to publish.
    let mut p = Problem::new();
    let a = p.add_cell("a", 7);
    let b = p.add_cell("b", 0);
    let t = p.add_cell("t", 7);
    p.add_constraint(t, vec![a]).unwrap();
    p.add_constraint(t, vec![a, b]).unwrap();
    let config = DisclosureConfig {
        suppress_zeros: true,
        ..Default::default()
    };
    assert!(matches!(
        protect_problem(&p, &config),
        Err(DisclosureError::Unprotectable { .. })
    ));
}

#[test]
fn everything_suppressed_when_the_whole_family_is_small() {
    let s = spec(&[("a", None), ("b", None)], &[]);
    let tallies = vec![tally("a", &[], Some("yes"), 1), tally("b", &[], None, 2)];
    let family = build_family(&s, &tallies).unwrap();
    let config = DisclosureConfig::default();
    let out = protect(&family, &config).unwrap();
    assert!(out.rows.iter().all(|r| r.headcount.is_suppressed()));
    let pr = protect_problem(family.problem(), &config).unwrap();
    check_protection(family.problem(), &pr, &config);
    assert!(brute_force_unique(family.problem(), pr.values()).is_empty());
}

// ---------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------

/// A random family: org forest (parent index < own index, or none), dimensions, counts
/// skewed small, and a config.
#[derive(Debug, Clone)]
struct RandomFamily {
    parents: Vec<Option<usize>>,
    dims: Vec<usize>,
    answers: usize,
    subtotal: bool,
    counts: Vec<u64>,
    config: DisclosureConfig,
}

fn small_count() -> impl Strategy<Value = u64> {
    prop_oneof![4 => Just(0u64), 6 => 1u64..5, 3 => 5u64..15, 1 => 15u64..60]
}

fn random_family(
    max_units: usize,
    max_dims: usize,
    max_groups: usize,
) -> impl Strategy<Value = RandomFamily> {
    (
        prop::collection::vec(any::<prop::sample::Index>(), 1..=max_units),
        prop::collection::vec(any::<bool>(), max_units),
        prop::collection::vec(1..=max_groups, 0..=max_dims),
        2usize..=3,
        any::<bool>(),
        prop::collection::vec(small_count(), 400),
        (
            2u64..=6,
            any::<bool>(),
            prop_oneof![Just(None), Just(Some(5u64))],
        ),
    )
        .prop_map(
            |(parent_idx, roots, dims, answers, subtotal, counts, (k, sz, round))| {
                let parents = parent_idx
                    .iter()
                    .enumerate()
                    .map(|(i, ix)| (i > 0 && !roots[i]).then(|| ix.index(i)))
                    .collect();
                RandomFamily {
                    parents,
                    dims,
                    answers,
                    subtotal,
                    counts,
                    config: DisclosureConfig {
                        min_cell: k,
                        suppress_zeros: sz,
                        round_to: round,
                        rate_decimals: 1,
                    },
                }
            },
        )
}

fn materialise(r: &RandomFamily) -> Family {
    let answers: Vec<String> = ["yes", "no", "prefer_not_to_say"][..r.answers]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let spec = FamilySpec {
        subtotals: if r.subtotal {
            vec![Subtotal {
                key: "declared".into(),
                parts: answers[..2].to_vec(),
            }]
        } else {
            vec![]
        },
        answers: answers.clone(),
        org_units: r
            .parents
            .iter()
            .enumerate()
            .map(|(i, p)| OrgUnit {
                key: format!("u{i}"),
                parent: p.map(|p| format!("u{p}")),
            })
            .collect(),
        dimensions: r
            .dims
            .iter()
            .enumerate()
            .map(|(d, &n)| Dimension {
                key: format!("d{d}"),
                groups: (0..n).map(|g| format!("g{g}")).collect(),
            })
            .collect(),
    };
    let leaves: Vec<usize> = (0..r.parents.len())
        .filter(|&u| !r.parents.contains(&Some(u)))
        .collect();
    let mut columns: Vec<Option<String>> = answers.into_iter().map(Some).collect();
    columns.push(None);
    // One tally per (leaf, group of each dimension, column), counts taken in turn.
    let mut combos: Vec<Vec<usize>> = vec![vec![]];
    for &n in &r.dims {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                (0..n).map(move |g| {
                    let mut c = c.clone();
                    c.push(g);
                    c
                })
            })
            .collect();
    }
    let mut next = r.counts.iter().cycle();
    let mut tallies = Vec::new();
    for &leaf in &leaves {
        for combo in &combos {
            for col in &columns {
                tallies.push(Tally {
                    org_unit: format!("u{leaf}"),
                    groups: combo.iter().map(|g| format!("g{g}")).collect(),
                    answer: col.clone(),
                    count: *next.next().unwrap(),
                });
            }
        }
    }
    build_family(&spec, &tallies).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random families of moderate size: the independent linear attacker (all constraints,
    /// plus zero-sum reasoning on original and reduced rows) recovers nothing; published
    /// counts are >= k or 0 and equal the truth (or the truth rounded); witnesses check out.
    #[test]
    fn linear_attacker_recovers_nothing(r in random_family(6, 2, 3)) {
        let family = materialise(&r);
        let pr = protect_problem(family.problem(), &r.config).unwrap();
        check_protection(family.problem(), &pr, &r.config);
        let out = protect(&family, &r.config).unwrap();
        prop_assert_eq!(out.rules, *pr.rules());
        for row in &out.rows {
            for c in &row.cells {
                let both = !c.count.is_suppressed() && !row.headcount.is_suppressed();
                prop_assert_eq!(both, !matches!(c.percent, PublishedRate::Suppressed));
            }
        }
    }

    /// Generic problems (random two-way tables with margins).
    #[test]
    fn tables_resist_the_linear_attacker(
        rows in 1usize..5,
        cols in 1usize..5,
        cells in prop::collection::vec(small_count(), 16),
        k in 2u64..=6,
        suppress_zeros in any::<bool>(),
    ) {
        let interior: Vec<Vec<u64>> =
            (0..rows).map(|r| cells[r * cols..(r + 1) * cols].to_vec()).collect();
        let refs: Vec<&[u64]> = interior.iter().map(Vec::as_slice).collect();
        let (p, _) = table(&refs);
        let config = DisclosureConfig { min_cell: k, suppress_zeros, ..Default::default() };
        let pr = protect_problem(&p, &config).unwrap();
        check_protection(&p, &pr, &config);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Tiny families: the brute-force attacker (all non-negative integer tables consistent
    /// with what is published) finds every suppressed cell able to take two values.
    #[test]
    fn brute_force_attacker_cannot_pin_any_cell(r in random_family(4, 2, 2)) {
        let mut r = r;
        r.answers = 2;
        r.subtotal = false;
        for c in r.counts.iter_mut() {
            *c = (*c).min(6);
        }
        r.config.round_to = None;
        let family = materialise(&r);
        let pr = protect_problem(family.problem(), &r.config).unwrap();
        let unique = brute_force_unique(family.problem(), pr.values());

        let labels: Vec<&str> =
            unique.iter().map(|&c| family.problem().cells()[c].label.as_str()).collect();
        prop_assert!(unique.is_empty(), "brute force pinned {:?}", labels);
    }
}

/// A force-sized family: 4 command areas x 6 departments x 3 teams (96 org unit rows),
/// 6 staff types, 8 rank bands, 3 answers + blank + declared. Deterministic pseudo-random
/// counts with many small cells. Checks the guarantee and that it stays usable.
#[test]
fn force_sized_family() {
    let mut units = Vec::new();
    for a in 0..4 {
        units.push((format!("a{a}"), None));
        for d in 0..6 {
            units.push((format!("a{a}d{d}"), Some(format!("a{a}"))));
            for t in 0..3 {
                units.push((format!("a{a}d{d}t{t}"), Some(format!("a{a}d{d}"))));
            }
        }
    }
    let unit_refs: Vec<(&str, Option<&str>)> = units
        .iter()
        .map(|(k, p)| (k.as_str(), p.as_deref()))
        .collect();
    let staff: Vec<String> = (0..6).map(|i| format!("s{i}")).collect();
    let ranks: Vec<String> = (0..8).map(|i| format!("r{i}")).collect();
    let staff_refs: Vec<&str> = staff.iter().map(String::as_str).collect();
    let rank_refs: Vec<&str> = ranks.iter().map(String::as_str).collect();
    let s = spec(
        &unit_refs,
        &[("staff_type", &staff_refs), ("rank_band", &rank_refs)],
    );
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut tallies = Vec::new();
    for (k, _) in units.iter().filter(|(k, _)| k.contains('t')) {
        for answer in [Some("yes"), Some("no"), Some("prefer_not_to_say"), None] {
            // A team has a few people spread over a few staff types and ranks.
            for _ in 0..2 {
                let st = staff_refs[(next() % 6) as usize];
                let rb = rank_refs[(next() % 8) as usize];
                let count = match next() % 10 {
                    0..=5 => next() % 3,
                    6..=8 => 1 + next() % 4,
                    _ => 5 + next() % 10,
                };
                tallies.push(tally(k, &[st, rb], answer, count));
            }
        }
    }
    let family = build_family(&s, &tallies).unwrap();
    let config = DisclosureConfig::default();
    let started = std::time::Instant::now();
    let pr = protect_problem(family.problem(), &config).unwrap();
    let elapsed = started.elapsed();
    let r = pr.rules();
    eprintln!(
        "cells {} constraints {} primary {} small_group {} secondary {} in {elapsed:?}",
        family.problem().cells().len(),
        family.problem().constraints().len(),
        r.primary_suppressions,
        r.small_group_suppressions,
        r.secondary_suppressions
    );
    check_protection(family.problem(), &pr, &config);
}
