//! `GET /api/openapi.json`: the document is public, and its routes are exactly the router's
//! and the README's, each with the access the server really enforces.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use crate::{
    run,
    support::{Backend, Env, TestApp},
};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

suite!(openapi_document_matches_the_router);

/// The document, fetched without a token.
async fn document(app: &TestApp) -> Value {
    let answer = app.get("/api/openapi.json", None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("content-type"), "application/json");
    answer.body
}

/// Every `(METHOD, path)` of the document.
fn operations(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|method| item.get(**method).is_some())
                .map(|method| (method.to_ascii_uppercase(), path.clone()))
        })
        .collect()
}

/// Every `(METHOD, path)` of the routes table of examples/crm/README.md.
fn readme_routes() -> BTreeSet<(String, String)> {
    let readme = include_str!("../../README.md");
    let table = readme
        .split("\n## Routes\n")
        .nth(1)
        .and_then(|section| {
            section
                .split("\n\n")
                .find(|part| part.starts_with("| method"))
        })
        .expect("the README's routes table");
    table
        .lines()
        .skip(2)
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(|cell| cell.trim()).collect();
            (
                cells[1].trim_matches('`').to_owned(),
                cells[2].trim_matches('`').to_owned(),
            )
        })
        .collect()
}

/// `path` with its parameters filled in.
fn concrete(path: &str) -> String {
    path.replace("{name}", "app.js")
        .replace("{id}", "no-such-id")
        .replace("{sid}", "no-such-session")
}

async fn openapi_document_matches_the_router(env: Env) {
    let app = env.start(&[]).await;
    let document = document(&app).await;
    assert_eq!(document["openapi"], "3.1.0");
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["refresh_cookie"]["in"], "cookie");
    let request_id = &document["components"]["headers"]["RequestId"];
    assert_eq!(request_id["schema"]["type"], "string");
    assert_eq!(
        schemes["refresh_cookie"]["name"],
        app.state.browser.cookie().cookie_name()
    );

    // The document and the README list the same routes.
    let documented = operations(&document);
    assert_eq!(
        documented,
        readme_routes(),
        "the document and the README differ"
    );

    // The router answers every documented method of every documented path, and 405 for any
    // other method there; a documented route needs the token exactly when its document says so.
    for (path, item) in document["paths"].as_object().unwrap() {
        let url = concrete(path);
        for method in METHODS {
            let verb = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let answer = app.send(verb.clone(), &url, None, None).await;
            let Some(operation) = item.get(method) else {
                assert_eq!(
                    answer.status, 405,
                    "{verb} {path} is routed but not documented"
                );
                continue;
            };
            assert!(
                answer.status != 405 && answer.body["detail"] != "no such route",
                "{verb} {path} is documented but not routed: {}",
                answer.text
            );
            // The token is required when every alternative of `security` has it.
            let bearer = operation["security"]
                .as_array()
                .is_some_and(|alternatives| {
                    alternatives
                        .iter()
                        .all(|alternative| alternative.get("bearer").is_some())
                });
            let refused = answer.status == 401 && answer.body["code"] == "missing_token";
            assert_eq!(refused, bearer, "{verb} {path}: {}", answer.text);
            // Every documented answer of a problem is a problem; every answer has its
            // `x-request-id`, as the real one has.
            assert!(!answer.header("x-request-id").is_empty(), "{verb} {path}");
            for (status, response) in operation["responses"].as_object().unwrap() {
                let reference = response["$ref"].as_str().map(|reference| {
                    let name = reference.rsplit('/').next().unwrap();
                    &document["components"]["responses"][name]
                });
                let response = reference.unwrap_or(response);
                assert_eq!(
                    response["headers"]["x-request-id"]["$ref"], "#/components/headers/RequestId",
                    "{verb} {path} {status}"
                );
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        response["content"]
                            .get("application/problem+json")
                            .is_some(),
                        "{verb} {path} {status} is not a problem"
                    );
                }
            }
            assert!(
                operation["responses"].get("500").is_some(),
                "{verb} {path}: no 500"
            );
        }
    }
    app.stop().await;
}
