//! Lengths reveal nothing (issue 13 item 5): a snapshot's stored length does not move when
//! one count in it does. Declarations and history: `declarations::every_declaration_*`.

use serde_json::json;

use crate::helpers::{raw_sealed, spawn_app};
use crate::on_both_backends;
use crate::snapshots::{first_of_month, take_at};
use crate::stats::{force_named, sync_and_answer, workforce};

on_both_backends! {
    async fn a_snapshot_keeps_its_length_when_one_count_changes(backend) {
        let app = spawn_app(backend).await;
        let (hr, _edi, org) = force_named(&app, "padder").await;
        sync_and_answer(&app, &hr, org, &workforce()).await;
        let (token, _) = app.consenting_employee(org, "pc-pad").await;
        take_at(&app, org, first_of_month(1)).await;
        // A group no one in the force had answered: one count goes from nothing to one.
        app.declare_answers(&token, json!({"free_school_meals": {"gateway": "prefer_not_to_say"}})).await;
        take_at(&app, org, first_of_month(2)).await;
        let mut conn = app.raw_connection();
        let blobs = raw_sealed(&mut conn, "SELECT sealed FROM stats_snapshots ORDER BY period");
        assert_eq!(blobs.len(), 2);
        assert_eq!(blobs[0].len(), blobs[1].len());
    }
}
