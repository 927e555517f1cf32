//! A realistic force for benchmarks: 10 command areas x 8 departments x 5 teams, the six
//! national staff types, nine ranks, and a workforce CSV spread over them.

use std::io::Write as _;

use declare::services::structure::{self, NewOrgUnit, NewRank, UnitKind};
use declare::store::Database;

pub const STAFF_TYPES: [&str; 6] = [
    "police_officer",
    "police_staff",
    "pcso",
    "special_constable",
    "police_support_volunteer",
    "designated_officer",
];
pub const RANKS: [&str; 9] = [
    "constable",
    "sergeant",
    "inspector",
    "chief_inspector",
    "superintendent",
    "chief_superintendent",
    "assistant_chief_constable",
    "deputy_chief_constable",
    "chief_constable",
];

/// A realistic force: 10 command areas x 8 departments x 5 teams; returns the team codes.
pub async fn build_structure(db: &Database, org: uuid::Uuid) -> Vec<String> {
    let unit = |code: String, kind, parent| NewOrgUnit {
        name: code.to_uppercase(),
        code,
        kind,
        parent_id: parent,
    };
    let cli = declare::services::audit::Actor::cli_for(org);
    let force = structure::create_unit(
        db,
        org,
        cli.clone(),
        unit("force".into(), UnitKind::Force, None),
    )
    .await
    .unwrap();
    let mut teams = Vec::new();
    for a in 0..10 {
        let area = structure::create_unit(
            db,
            org,
            cli.clone(),
            unit(format!("area-{a}"), UnitKind::CommandArea, Some(force.id)),
        )
        .await
        .unwrap();
        for d in 0..8 {
            let dept = structure::create_unit(
                db,
                org,
                cli.clone(),
                unit(format!("dept-{a}-{d}"), UnitKind::Department, Some(area.id)),
            )
            .await
            .unwrap();
            for t in 0..5 {
                let code = format!("team-{a}-{d}-{t}");
                structure::create_unit(
                    db,
                    org,
                    cli.clone(),
                    unit(code.clone(), UnitKind::Team, Some(dept.id)),
                )
                .await
                .unwrap();
                teams.push(code);
            }
        }
    }
    // Listing staff types seeds the six national ones.
    structure::list_staff_types(db, org).await.unwrap();
    for (order, rank) in RANKS.iter().enumerate() {
        let new = NewRank {
            code: (*rank).into(),
            name: rank.replace('_', " "),
            order: order as i64,
            staff_type_id: None,
        };
        structure::create_rank(db, org, cli.clone(), new)
            .await
            .unwrap();
    }
    teams
}

/// Writes the workforce CSV; `moved` shifts every row whose index is a multiple of it to the
/// next team (a delta of moves), and `only_moved` writes just those rows.
pub fn write_csv(
    path: &std::path::Path,
    employees: usize,
    teams: &[String],
    moved: Option<usize>,
    only_moved: bool,
) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(
        out,
        "employee_number,external_subject,org_unit,staff_type,rank,fte,start_date,leave_date"
    )
    .unwrap();
    for i in 0..employees {
        let shift = match moved {
            Some(every) if i % every == 0 => 1,
            _ if only_moved => continue,
            _ => 0,
        };
        let staff_type = STAFF_TYPES[(i * 7) % 10 % 6];
        let rank = if staff_type == "police_officer" {
            RANKS[(i * 13) % 100 / 12 % 9]
        } else {
            ""
        };
        let fte = if i % 5 == 0 { "0.6" } else { "1.0" };
        let start = format!("20{:02}-{:02}-01", 5 + i % 20, 1 + i % 12);
        writeln!(
            out,
            "E{i:07},sub-{i:07},{},{staff_type},{rank},{fte},{start},",
            teams[(i + shift) % teams.len()]
        )
        .unwrap();
    }
}

/// Syncs a CSV workforce through the real sync service, as the CLI does (no dry run, the
/// default leaver ceiling). Blocking: call it on a blocking thread.
pub fn sync_csv(
    conn: &mut declare::store::Conn,
    sealer: &declare::crypto::Sealer,
    org: uuid::Uuid,
    mode: declare::services::sync::Mode,
    csv: impl std::io::Read,
) -> declare::error::AppResult<declare::services::sync::SyncOutcome> {
    let options = declare::services::sync::SyncOptions {
        mode,
        dry_run: false,
        allow_mass_leavers: false,
        idempotency_key: None,
        max_leaver_fraction: 0.1,
        actor: declare::services::audit::Actor::cli_for(org),
    };
    declare::services::sync::sync_blocking(
        conn,
        sealer,
        org,
        declare::services::rows::Format::Csv,
        csv,
        &options,
        Box::new(|_| {}),
    )
}
