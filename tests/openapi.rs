//! `GET /api/v1/openapi.json` (issue 24, item 4): every route the server answers is in
//! the document (and nothing it does not answer), every operation that needs a token
//! says so and names its roles, and the document passes a real OpenAPI 3.1 validator
//! (Python's `openapi-spec-validator`, run where it is installed; the test says when it
//! is not, and `FAULTLINE_REQUIRE_OPENAPI_VALIDATOR=1` makes that a failure).

mod common;
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::collections::BTreeSet;

use helpers::spawn_app;
use serde_json::Value;

/// Every `(method, path)` `build_server` routes, read from `src/api/mod.rs`: top-level
/// `.route("…", web::get()…)` calls, and those inside `web::scope("/api/v1")` with the
/// scope's prefix. actix's `{id}` is OpenAPI's `{id}`.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/api/mod.rs"))
        .expect("src/api/mod.rs");
    let start = text
        .find("fn build_server_with")
        .expect("build_server_with");
    let body = &text[start..];
    let end = body.find("\n}\n").expect("the function's end");
    let body = &body[..end];
    let scope_at = body
        .find("web::scope(\"/api/v1\")")
        .expect("the /api/v1 scope");
    let mut routes = BTreeSet::new();
    let mut rest = body;
    let mut offset = 0;
    while let Some(i) = rest.find(".route(") {
        let at = offset + i;
        let call = &rest[i + ".route(".len()..];
        let path_start = call.find('"').expect("a quoted path") + 1;
        let path_len = call[path_start..].find('"').expect("the path's end");
        let path = &call[path_start..path_start + path_len];
        let after = &call[path_start + path_len..];
        let method_at = after.find("web::").expect("web::METHOD()") + "web::".len();
        let method: String = after[method_at..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        let full = if at > scope_at {
            format!("/api/v1{path}")
        } else {
            path.to_owned()
        };
        routes.insert((method, full));
        offset = at + ".route(".len();
        rest = &body[offset..];
    }
    routes
}

/// Every `(method, path)` the document describes.
fn routes_in_document(doc: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            routes.insert((method.clone(), path.clone()));
        }
    }
    routes
}

#[actix_web::test]
async fn every_route_the_server_answers_is_in_the_openapi_document() {
    let app = spawn_app().await;
    // No token needed to read the document.
    let mut resp = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let doc: Value = serde_json::from_slice(&resp.body().limit(1 << 24).await.unwrap()).unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );

    let served = routes_in_source();
    assert!(
        served.len() >= 30,
        "the source lists {} routes",
        served.len()
    );
    assert!(served.contains(&("post".into(), "/api/v1/events".into())));
    let documented = routes_in_document(&doc);
    let missing: Vec<_> = served.difference(&documented).collect();
    assert!(missing.is_empty(), "served but not documented: {missing:?}");
    let stale: Vec<_> = documented.difference(&served).collect();
    assert!(stale.is_empty(), "documented but not served: {stale:?}");

    // Every operation names its roles; those that need a token say so and list 401.
    let open = |path: &str| {
        path == "/healthz"
            || path == "/api/v1/openapi.json"
            || path.starts_with("/public")
            || !(path.starts_with("/api/") || path == "/metrics")
    };
    for (method, path) in &documented {
        let op = &doc["paths"][path][method];
        let description = op["description"].as_str().unwrap_or_default();
        assert!(description.contains("Roles:"), "{method} {path}: no roles");
        if open(path) {
            assert!(
                op.get("security").is_none(),
                "{method} {path} needs no token"
            );
        } else {
            assert!(op["security"].is_array(), "{method} {path}: no security");
            assert!(
                op["responses"]["401"].is_object(),
                "{method} {path}: no 401"
            );
        }
    }
    // The bodies are described: the events in, the acknowledgement and errors out.
    let post = &doc["paths"]["/api/v1/events"]["post"];
    assert!(post["requestBody"]["content"]["application/x-ndjson"].is_object());
    assert_eq!(
        post["responses"]["202"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Accepted"
    );
    assert_eq!(
        post["responses"]["400"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
    let types = &doc["components"]["schemas"]["EventType"]["enum"];
    assert!(
        types.as_array().unwrap().iter().any(|t| t == "crew_action"),
        "{types}"
    );

    validate_with_python(&serde_json::to_string_pretty(&doc).unwrap());
}

/// Run `openapi-spec-validator` on the document, where Python has it.
fn validate_with_python(doc: &str) {
    let required = std::env::var("FAULTLINE_REQUIRE_OPENAPI_VALIDATOR").is_ok_and(|v| v == "1");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, doc).unwrap();
    let script = "import json, sys\n\
        from openapi_spec_validator import validate\n\
        validate(json.load(open(sys.argv[1])))\n\
        print('valid')\n";
    let run = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .output();
    let out = match run {
        Ok(out) => out,
        Err(e) => {
            assert!(!required, "python3 could not run: {e}");
            eprintln!("skipped: no python3 to run openapi-spec-validator ({e})");
            return;
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named 'openapi_spec_validator'") {
        assert!(!required, "openapi-spec-validator is not installed");
        eprintln!("skipped: pip install openapi-spec-validator to validate the document");
        return;
    }
    assert!(
        out.status.success(),
        "the OpenAPI document is not valid:\n{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "valid");
}
