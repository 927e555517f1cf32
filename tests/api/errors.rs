//! Every error is RFC 9457 problem+json, whoever produces it.

use crate::helpers::{assert_problem, spawn_app};
use crate::on_both_backends;

on_both_backends! {
    async fn unknown_route_is_a_problem(backend) {
        let app = spawn_app(backend).await;
        let body = assert_problem(app.get("/v1/nothing-here").await, 404).await;
        assert_eq!(body["type"], "urn:declare:problem:unknown-route");
        let wrong_method = app.client.delete(app.url("/healthz")).send().await.unwrap();
        assert_problem(wrong_method, 404).await;
    }
}
