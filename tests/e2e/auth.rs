//! Auth: API keys and scopes, sessions (cookie, CSRF, sign-out, expiry),
//! the sign-in limit, the open-until-configured default, the CLI, and that
//! no secret leaks into logs or error bodies.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use serde_json::{json, Value};
use vectadb::auth::session::{Claims, SessionSigner, ISSUER};
use vectadb_tests::process::{self, http_request, ChildServer};
use vectadb_tests::TestApp;

const SECRET: &str = "a-test-jwt-secret-of-at-least-32-bytes";
const PASSWORD: &str = "correct horse battery staple";

/// A request with optional JSON body and extra headers.
fn request(
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .expect("request")
}

async fn send(
    t: &TestApp,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, HeaderMap, Value) {
    t.exchange(request(method, uri, headers, body)).await
}

async fn create_key(t: &TestApp, auth: &[(&str, &str)], scopes: &[&str]) -> (String, String) {
    let (status, _, body) = send(
        t,
        Method::POST,
        "/api/v1/keys",
        auth,
        Some(json!({ "name": format!("{scopes:?} key"), "scopes": scopes })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (
        body["id"].as_str().unwrap().to_string(),
        body["key"].as_str().unwrap().to_string(),
    )
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

async fn agents_count(t: &TestApp) -> u64 {
    t.state.service.list_agents(None, 1, 0).await.unwrap().total
}

#[tokio::test]
async fn the_api_is_open_until_a_key_exists_then_every_api_route_needs_one() {
    let t = TestApp::new().await;
    let (status, me) = t.get("/api/v1/auth/me").await;
    assert_eq!(
        (status, me["auth"].as_str()),
        (StatusCode::OK, Some("open"))
    );
    // A stale session cookie (from another server on this host) does not
    // lock a browser out of an open one.
    let stale = [("cookie", "vectadb_session=eyJhbGciOiJIUzI1NiJ9.e30.x")];
    let (status, _, me) = send(&t, Method::GET, "/api/v1/auth/me", &stale, None).await;
    assert_eq!(
        (status, me["auth"].as_str()),
        (StatusCode::OK, Some("open"))
    );
    assert_eq!(
        send(&t, Method::GET, "/api/v1/agents", &stale, None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(t.get("/api/v1/agents").await.0, StatusCode::OK);

    // The first key, created while open (what a local user does first).
    let (id, key) = create_key(&t, &[], &["read", "write"]).await;
    assert!(key.starts_with(&format!("vdb_{id}_")), "{key}");

    for (method, uri) in [
        (Method::GET, "/api/v1/agents"),
        (Method::POST, "/api/v1/agents"),
        (Method::GET, "/api/v1/traces/x"),
        (Method::POST, "/api/v1/similar/agents"),
        (Method::POST, "/api/v1/rpc/agents"),
        (Method::GET, "/api/v1/keys"),
        (Method::GET, "/api/v1/anomalies"),
        (Method::POST, "/v1/traces"),
        (Method::GET, "/api/v1/no-such-route"),
    ] {
        let (status, headers, body) = send(&t, method.clone(), uri, &[], None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized");
        assert_eq!(
            headers[header::WWW_AUTHENTICATE],
            "Bearer realm=\"vectadb\""
        );
    }
    // Open: health, metrics, the UI and its files, sign-in, the API document.
    for uri in [
        "/health",
        "/metrics",
        "/",
        "/ui/agents",
        "/ui/assets/app.js",
    ] {
        assert_eq!(
            send(&t, Method::GET, uri, &[], None).await.0,
            StatusCode::OK,
            "{uri}"
        );
    }

    // Wrong credentials of every shape.
    let wrong_secret = format!("vdb_{id}_{}", "A".repeat(43));
    let unknown_id = key.replacen(&id, "zzzzzzzz", 1);
    for token in [
        wrong_secret.as_str(),
        unknown_id.as_str(),
        "garbage",
        "a.b.c",
    ] {
        let (status, _, body) = send(
            &t,
            Method::GET,
            "/api/v1/agents",
            &[("authorization", &bearer(token))],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}: {body}");
        assert!(!body.to_string().contains(token), "the token is not echoed");
    }
    let (status, _, _) = send(
        &t,
        Method::GET,
        "/api/v1/agents",
        &[("authorization", "Basic abc")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The key, either way it is sent.
    let (status, _, _) = send(
        &t,
        Method::GET,
        "/api/v1/agents",
        &[("authorization", &bearer(&key))],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, created) = send(
        &t,
        Method::POST,
        "/api/v1/agents",
        &[("x-api-key", &key)],
        Some(json!({ "role": "r", "goal": "g" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, _, me) = send(
        &t,
        Method::GET,
        "/api/v1/auth/me",
        &[("x-api-key", &key)],
        None,
    )
    .await;
    assert_eq!(me["auth"], "key");
    assert_eq!(me["key"]["id"], id.as_str());
}

#[tokio::test]
async fn scopes_limit_what_a_key_may_do_and_revoked_keys_stop_working() {
    let t = TestApp::new().await;
    let (_, admin) = create_key(&t, &[], &["admin"]).await;
    let admin_auth = bearer(&admin);
    let admin_h = [("authorization", admin_auth.as_str())];
    let (read_id, read) = create_key(&t, &admin_h, &["read"]).await;
    let (_, write) = create_key(&t, &admin_h, &["write"]).await;
    let (_, delete) = create_key(&t, &admin_h, &["delete"]).await;
    let read_h = [("x-api-key", read.as_str())];
    let write_h = [("x-api-key", write.as_str())];
    let delete_h = [("x-api-key", delete.as_str())];

    // Admin can do everything.
    let (status, _, agent) = send(
        &t,
        Method::POST,
        "/api/v1/agents",
        &admin_h,
        Some(json!({ "id": "a1", "role": "data analyst", "goal": "find patterns" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{agent}");

    // read: reads and searches, no writes.
    assert_eq!(
        send(&t, Method::GET, "/api/v1/agents/a1", &read_h, None)
            .await
            .0,
        StatusCode::OK
    );
    let (status, _, _) = send(
        &t,
        Method::POST,
        "/api/v1/similar/agents",
        &read_h,
        Some(json!({ "query": "analyst" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let before = agents_count(&t).await;
    let (status, _, body) = send(
        &t,
        Method::POST,
        "/api/v1/agents",
        &read_h,
        Some(json!({ "role": "x", "goal": "y" })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`write`"),
        "{body}"
    );
    assert_eq!(agents_count(&t).await, before, "nothing written");
    for (method, uri) in [
        (Method::DELETE, "/api/v1/agents/a1"),
        (Method::POST, "/v1/traces"),
    ] {
        assert_eq!(
            send(&t, method, uri, &read_h, None).await.0,
            StatusCode::FORBIDDEN,
            "{uri}"
        );
    }
    // JSON-RPC: reads with read, `create` needs write.
    let (status, _, answer) = send(&t, Method::POST, "/api/v1/rpc/agents", &read_h, Some(json!([
        { "jsonrpc": "2.0", "method": "get", "params": { "id": "a1" }, "id": 1 },
        { "jsonrpc": "2.0", "method": "create", "params": { "role": "x", "goal": "y" }, "id": 2 },
    ]))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer[0]["result"]["id"], "a1", "{answer}");
    assert_eq!(answer[1]["error"]["code"], -32006, "{answer}");
    assert_eq!(answer[1]["error"]["data"]["code"], "forbidden");
    assert_eq!(agents_count(&t).await, before);

    // write: writes, no reads (an ingest-only key).
    let (status, _, _) = send(
        &t,
        Method::POST,
        "/api/v1/logs",
        &write_h,
        Some(json!({ "agent_id": "a1", "message": "hello" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        send(&t, Method::GET, "/api/v1/logs", &write_h, None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    // An ingest key cannot destroy data: deleting needs `delete`.
    let (status, _, body) = send(&t, Method::DELETE, "/api/v1/agents/a1", &write_h, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`delete`"),
        "{body}"
    );
    assert_eq!(
        send(
            &t,
            Method::POST,
            "/api/v1/agents",
            &delete_h,
            Some(json!({ "role": "x", "goal": "y" }))
        )
        .await
        .0,
        StatusCode::FORBIDDEN,
        "delete grants only deleting"
    );
    let (status, _, body) = send(&t, Method::DELETE, "/api/v1/agents/a1", &delete_h, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        send(&t, Method::GET, "/api/v1/agents/a1", &admin_h, None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // Key management needs admin.
    for h in [&read_h, &write_h] {
        assert_eq!(
            send(&t, Method::GET, "/api/v1/keys", h, None).await.0,
            StatusCode::FORBIDDEN
        );
        let (status, _, _) = send(
            &t,
            Method::POST,
            "/api/v1/keys",
            h,
            Some(json!({ "name": "mine", "scopes": ["admin"] })),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _, listed) = send(&t, Method::GET, "/api/v1/keys", &admin_h, None).await;
    assert_eq!(status, StatusCode::OK);
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    let text = listed.to_string();
    assert!(
        !text.contains(&read) && !text.contains("argon2"),
        "no key or hash listed: {text}"
    );
    let read_info = items.iter().find(|k| k["id"] == read_id.as_str()).unwrap();
    assert_eq!(read_info["scopes"], json!(["read"]));
    assert_eq!(read_info["prefix"], format!("vdb_{read_id}_"));
    assert!(read_info["revoked_at"].is_null());

    // Bad key requests name the field.
    for (body, field) in [
        (json!({ "name": "x", "scopes": ["root"] }), "scopes[0]"),
        (json!({ "name": "x", "scopes": [] }), "scopes"),
        (json!({ "name": " ", "scopes": ["read"] }), "name"),
    ] {
        let (status, _, error) = send(&t, Method::POST, "/api/v1/keys", &admin_h, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
        assert_eq!(error["error"]["field"], field);
    }

    // Revocation is immediate.
    let (status, _, _) = send(
        &t,
        Method::DELETE,
        &format!("/api/v1/keys/{read_id}"),
        &admin_h,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, body) = send(&t, Method::GET, "/api/v1/agents/a1", &read_h, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{body}"
    );
    let (_, _, listed) = send(&t, Method::GET, "/api/v1/keys", &admin_h, None).await;
    let read_info = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == read_id.as_str())
        .cloned()
        .unwrap();
    assert!(read_info["revoked_at"].is_string());
    let (status, _, _) = send(&t, Method::DELETE, "/api/v1/keys/nosuchid", &admin_h, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Each documented operation names the scope it needs (its security
/// requirement), and the gate declared with the route enforces exactly that:
/// without credentials it answers 401, with a key lacking the scope 403,
/// with a key holding only that scope it lets the request through. Public
/// operations need nothing.
#[tokio::test]
async fn every_documented_operation_needs_the_scope_its_document_names() {
    let t = TestApp::new().await;
    let (_, admin) = create_key(&t, &[], &["admin"]).await;
    let admin_auth = bearer(&admin);
    let admin_h = [("authorization", admin_auth.as_str())];
    let mut only = std::collections::HashMap::new();
    let mut all_but = std::collections::HashMap::new();
    for scope in ["read", "write", "delete"] {
        only.insert(scope, create_key(&t, &admin_h, &[scope]).await.1);
        let others: Vec<&str> = ["read", "write", "delete"]
            .into_iter()
            .filter(|s| *s != scope)
            .collect();
        all_but.insert(scope, create_key(&t, &admin_h, &others).await.1);
    }
    all_but.insert(
        "admin",
        create_key(&t, &admin_h, &["read", "write", "delete"])
            .await
            .1,
    );
    only.insert("admin", admin.clone());

    let (status, _, doc) = send(&t, Method::GET, "/api/v1/openapi.json", &[], None).await;
    assert_eq!(status, StatusCode::OK);
    let mut checked = 0;
    let app = &t;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            let Some(op) = item.get(method) else { continue };
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let uri = path
                .replace("{id}", "no-such-id")
                .replace("{agent_id}", "no-such-id");
            let requirements = op["security"]
                .as_array()
                .expect("every operation's security");
            let call = |headers: Vec<(&'static str, String)>| {
                let (method, uri) = (method.clone(), uri.clone());
                async move {
                    let headers: Vec<(&str, &str)> =
                        headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
                    send(app, method, &uri, &headers, None).await.0
                }
            };
            let denied = [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN];
            if requirements
                .iter()
                .any(|r| r.as_object().is_some_and(|r| r.is_empty()))
            {
                let status = call(vec![]).await;
                assert!(
                    !denied.contains(&status),
                    "{method} {path} is public: {status}"
                );
                checked += 1;
                continue;
            }
            assert_eq!(
                call(vec![]).await,
                StatusCode::UNAUTHORIZED,
                "{method} {path}"
            );
            let scopes: Vec<&str> = requirements[0]["api_key"]
                .as_array()
                .expect("the api_key requirement")
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect();
            assert_eq!(
                requirements[1]["session"], requirements[0]["api_key"],
                "{method} {path}: both credentials need the same scope"
            );
            match scopes.as_slice() {
                [] => {
                    let status = call(vec![("x-api-key", only["read"].clone())]).await;
                    assert!(
                        !denied.contains(&status),
                        "{method} {path}: any key: {status}"
                    );
                }
                [scope] => {
                    let status = call(vec![("x-api-key", all_but[scope].clone())]).await;
                    assert_eq!(
                        status,
                        StatusCode::FORBIDDEN,
                        "{method} {path} without {scope}"
                    );
                    let status = call(vec![("x-api-key", only[scope].clone())]).await;
                    assert!(
                        !denied.contains(&status),
                        "{method} {path} with {scope}: {status}"
                    );
                }
                more => panic!("{method} {path} names several scopes: {more:?}"),
            }
            checked += 1;
        }
    }
    assert!(checked >= 30, "{checked} operations");
    // What the document says of a few, spelled out.
    let scope_of = |path: &str, method: &str| doc["paths"][path][method]["security"].clone();
    assert_eq!(
        scope_of("/api/v1/agents", "get")[0]["api_key"],
        json!(["read"])
    );
    assert_eq!(
        scope_of("/api/v1/agents", "post")[0]["api_key"],
        json!(["write"])
    );
    assert_eq!(
        scope_of("/api/v1/agents/{id}", "delete")[0]["api_key"],
        json!(["delete"])
    );
    assert_eq!(
        scope_of("/api/v1/keys", "get")[0]["api_key"],
        json!(["admin"])
    );
    assert_eq!(
        scope_of("/api/v1/similar/logs", "post")[0]["api_key"],
        json!(["read"])
    );
    assert_eq!(
        scope_of("/v1/traces", "post")[0]["api_key"],
        json!(["write"])
    );
    assert_eq!(scope_of("/health", "get"), json!([{}]));
}

fn cookie_of(headers: &HeaderMap) -> String {
    headers[header::SET_COOKIE].to_str().unwrap().to_string()
}

async fn login(
    t: &TestApp,
    headers: &[(&str, &str)],
    password: &str,
) -> (StatusCode, HeaderMap, Value) {
    send(
        t,
        Method::POST,
        "/api/v1/auth/login",
        headers,
        Some(json!({ "username": "admin", "password": password })),
    )
    .await
}

#[tokio::test]
async fn sessions_use_an_httponly_cookie_with_csrf_and_end_at_sign_out_or_expiry() {
    let t = TestApp::with(|mut c| {
        c.jwt_secret = Some(SECRET.into());
        c
    })
    .await;
    assert!(t.state.auth.put_user("admin", PASSWORD).await.unwrap());

    let (status, headers, body) = login(&t, &[], "wrong password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!headers.contains_key(header::SET_COOKIE));
    assert_eq!(body["error"]["message"], "invalid username or password");
    let (status, _, body) = send(
        &t,
        Method::POST,
        "/api/v1/auth/login",
        &[],
        Some(json!({ "username": "nobody", "password": PASSWORD })),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "same answer for an unknown user"
    );
    assert_eq!(body["error"]["message"], "invalid username or password");
    let (status, _, body) = send(
        &t,
        Method::POST,
        "/api/v1/auth/login",
        &[],
        Some(json!({ "username": "admin" })),
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("password"))
    );

    let (status, headers, session) = login(&t, &[], PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let token = session["token"].as_str().unwrap().to_string();
    let csrf = session["csrf_token"].as_str().unwrap().to_string();
    assert_eq!(session["user"]["username"], "admin");
    let set_cookie = cookie_of(&headers);
    assert!(
        set_cookie.starts_with(&format!("vectadb_session={token};")),
        "{set_cookie}"
    );
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43"] {
        assert!(set_cookie.contains(flag), "{flag} in {set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain HTTP by default: {set_cookie}"
    );
    let (_, headers, _) = login(&t, &[("x-forwarded-proto", "https")], PASSWORD).await;
    assert!(cookie_of(&headers).contains("; Secure"), "behind TLS");

    // The JWT: HS256 with our secret, expiry and a jti.
    let signer = SessionSigner::new(SECRET.as_bytes());
    let verified = signer.verify(&token).expect("signed with JWT_SECRET");
    assert_eq!(verified.username, "admin");
    assert!(!verified.jti.is_empty());

    let cookie = format!("vectadb_session={token}");
    let with_cookie = [("cookie", cookie.as_str())];
    assert_eq!(
        send(&t, Method::GET, "/api/v1/agents", &with_cookie, None)
            .await
            .0,
        StatusCode::OK
    );
    let (_, _, me) = send(&t, Method::GET, "/api/v1/auth/me", &with_cookie, None).await;
    assert_eq!(
        (me["auth"].as_str(), me["csrf_token"].as_str()),
        (Some("session"), Some(csrf.as_str()))
    );

    // CSRF: a change the cookie authenticates needs the token.
    let agent = json!({ "role": "planner", "goal": "plan trips" });
    let before = agents_count(&t).await;
    for headers in [
        vec![("cookie", cookie.as_str())],
        vec![("cookie", cookie.as_str()), ("x-csrf-token", "forged")],
    ] {
        let (status, _, body) = send(
            &t,
            Method::POST,
            "/api/v1/agents",
            &headers,
            Some(agent.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"]["code"], "csrf");
    }
    assert_eq!(agents_count(&t).await, before, "nothing written");
    let (status, _, _) = send(
        &t,
        Method::POST,
        "/api/v1/agents",
        &[("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())],
        Some(agent.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // The same token as a bearer header cannot be forged by a page: no CSRF token needed.
    let auth = bearer(&token);
    let (status, _, _) = send(
        &t,
        Method::POST,
        "/api/v1/agents",
        &[("authorization", auth.as_str())],
        Some(agent),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // Forged, expired and foreign tokens.
    let now = chrono::Utc::now().timestamp();
    let expired = signer.sign(&Claims {
        sub: "admin".into(),
        iss: ISSUER.into(),
        iat: now - 7200,
        exp: now - 3600,
        jti: "old".into(),
        pwd: None,
    });
    let foreign = SessionSigner::new(b"some other secret of 32 bytes or more").sign(&Claims {
        sub: "admin".into(),
        iss: ISSUER.into(),
        iat: now,
        exp: now + 3600,
        jti: "x".into(),
        pwd: None,
    });
    let unsigned = format!("eyJhbGciOiJub25lIn0.{}.", token.split('.').nth(1).unwrap());
    for token in [&expired.token, &foreign.token, &unsigned] {
        let cookie = format!("vectadb_session={token}");
        let (status, _, _) = send(
            &t,
            Method::GET,
            "/api/v1/agents",
            &[("cookie", cookie.as_str())],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}");
    }

    // Sign-out: CSRF-protected, revokes the token, clears the cookie.
    let (status, _, _) = send(&t, Method::POST, "/api/v1/auth/logout", &with_cookie, None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "sign-out needs the CSRF token too"
    );
    let (status, headers, _) = send(
        &t,
        Method::POST,
        "/api/v1/auth/logout",
        &[("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        cookie_of(&headers).contains("vectadb_session=;")
            && cookie_of(&headers).contains("Max-Age=0")
    );
    let (status, _, body) = send(&t, Method::GET, "/api/v1/agents", &with_cookie, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("ended"),
        "{body}"
    );
    let (status, _, _) = send(
        &t,
        Method::GET,
        "/api/v1/agents",
        &[("authorization", auth.as_str())],
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "revoked as a bearer token too"
    );
    assert_eq!(
        send(&t, Method::GET, "/api/v1/auth/me", &with_cookie, None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
}

fn from(t: &TestApp, client: [u8; 4], password: &str) -> Request<Body> {
    let _ = t;
    let mut request = request(
        Method::POST,
        "/api/v1/auth/login",
        &[],
        Some(json!({ "username": "admin", "password": password })),
    );
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((client, 40000))));
    request
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_client() {
    let t = TestApp::with(|mut c| {
        c.login_max_failures = 3;
        c
    })
    .await;
    t.state.auth.put_user("admin", PASSWORD).await.unwrap();
    let attacker = [10, 0, 0, 7];
    for _ in 0..3 {
        assert_eq!(
            t.send(from(&t, attacker, "guess")).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    // Locked out: even the right password is refused now.
    let (status, headers, body) = t.exchange(from(&t, attacker, PASSWORD)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    let retry: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 300, "{retry}");
    // Another client is not affected.
    assert_eq!(
        t.send(from(&t, [10, 0, 0, 8], PASSWORD)).await.0,
        StatusCode::OK
    );
}

/// `vectadb` run to its end with these env and stdin.
fn cli(dir: &std::path::Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = process::vectadb_command(dir, &[])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run vectadb");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn serve(
    dir: tempfile::TempDir,
    port: u16,
    host: &'static str,
    env: Vec<(&'static str, String)>,
) -> ChildServer {
    ChildServer::spawn(dir, move |dir| {
        let mut command = process::vectadb_command(dir, &env);
        command
            .arg("serve")
            .env("SERVER_HOST", host)
            .env("SERVER_PORT", port.to_string())
            .env(
                "RUST_LOG",
                "debug,surrealdb=warn,surrealkv=warn,qdrant_edge=warn,h2=warn,hyper=warn",
            );
        command
    })
}

#[tokio::test]
async fn the_cli_manages_keys_and_users_for_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, key, err) = cli(
        dir.path(),
        &["keys", "create", "--name", "ingest", "--scope", "write"],
        "",
    );
    assert!(ok, "{err}");
    let key = key.trim().to_string();
    assert!(
        key.starts_with("vdb_") && err.contains("shown only this once"),
        "{key} {err}"
    );
    let id = key[4..12].to_string();
    let (ok, listed, _) = cli(dir.path(), &["keys", "list"], "");
    assert!(
        ok && listed.contains(&id) && listed.contains("write") && listed.contains("ingest"),
        "{listed}"
    );
    assert!(!listed.contains(&key), "the key is not listed");
    let (ok, _, err) = cli(
        dir.path(),
        &["users", "create", "--username", "alice"],
        "short\n",
    );
    assert!(!ok && err.contains("at least 8"), "{err}");
    let (ok, out, err) = cli(
        dir.path(),
        &["users", "create", "--username", "alice"],
        "alice's long password\n",
    );
    assert!(ok && out.contains("user alice saved"), "{out} {err}");
    let (ok, _, err) = cli(
        dir.path(),
        &["keys", "create", "--name", "x", "--scope", "root"],
        "",
    );
    assert!(!ok && err.contains("root"), "{err}");

    // Credentials exist, so a server asked to listen everywhere does, and
    // requires them.
    let port = process::free_port();
    let data = tempfile::tempdir().unwrap();
    std::fs::remove_dir(data.path()).unwrap();
    std::fs::rename(dir.path(), data.path()).unwrap();
    std::mem::forget(dir);
    let mut server = serve(data, port, "0.0.0.0", vec![]);
    server.wait_healthy(port).await;
    assert!(
        server.log().contains(&format!("address=0.0.0.0:{port}")),
        "{}",
        server.log()
    );
    let (status, _) = http_request(port, "GET", "/api/v1/logs", "", None)
        .await
        .unwrap();
    assert_eq!(status, 401);
    let header = format!("Authorization: Bearer {key}\r\n");
    let (status, _) = http_request(
        port,
        "POST",
        "/api/v1/agents",
        &header,
        Some(&json!({ "role": "r", "goal": "g" })),
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "the CLI's key works");
    let (status, _) = http_request(port, "GET", "/api/v1/agents", &header, None)
        .await
        .unwrap();
    assert_eq!(status, 403, "write scope only");
    let (status, body) = http_request(
        port,
        "POST",
        "/api/v1/auth/login",
        "",
        Some(&json!({ "username": "alice", "password": "alice's long password" })),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    server.kill();
    let (ok, out, err) = cli(server.dir(), &["keys", "revoke", &id], "");
    assert!(ok && out.contains("revoked"), "{out} {err}");
    server.respawn();
    server.wait_healthy(port).await;
    let (status, _) = http_request(
        port,
        "POST",
        "/api/v1/agents",
        &header,
        Some(&json!({ "role": "r", "goal": "g" })),
    )
    .await
    .unwrap();
    assert_eq!(status, 401, "revoked by the CLI");
}

#[tokio::test]
async fn without_credentials_the_server_listens_on_loopback_only() {
    let port = process::free_port();
    let mut server = serve(tempfile::tempdir().unwrap(), port, "0.0.0.0", vec![]);
    server.wait_healthy(port).await;
    let log = server.log();
    assert!(log.contains("listening on 127.0.0.1 only"), "{log}");
    assert!(
        log.contains(&format!("address=127.0.0.1:{port}")) && !log.contains("address=0.0.0.0"),
        "{log}"
    );
    // Open to this machine.
    let (status, _) = http_request(port, "GET", "/api/v1/agents", "", None)
        .await
        .unwrap();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn no_secret_reaches_the_log_or_an_error_body() {
    let port = process::free_port();
    let admin_password = "admin-password-7f3a9c";
    let mut server = serve(
        tempfile::tempdir().unwrap(),
        port,
        "127.0.0.1",
        vec![
            ("ADMIN_PASSWORD", admin_password.to_string()),
            ("JWT_SECRET", SECRET.to_string()),
        ],
    );
    server.wait_healthy(port).await;
    let mut bodies = Vec::new();
    let wrong_password = "wrong-password-51be07";
    let (status, body) = http_request(
        port,
        "POST",
        "/api/v1/auth/login",
        "",
        Some(&json!({ "username": "admin", "password": wrong_password })),
    )
    .await
    .unwrap();
    assert_eq!(status, 401);
    bodies.push(body);
    let (status, session) = http_request(
        port,
        "POST",
        "/api/v1/auth/login",
        "",
        Some(&json!({ "username": "admin", "password": admin_password })),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{session}");
    let token = session["token"].as_str().unwrap().to_string();
    let auth = format!("Authorization: Bearer {token}\r\n");
    let (status, created) = http_request(
        port,
        "POST",
        "/api/v1/keys",
        &auth,
        Some(&json!({ "name": "ci", "scopes": ["read"] })),
    )
    .await
    .unwrap();
    assert_eq!(status, 201);
    let key = created["key"].as_str().unwrap().to_string();
    let wrong_key = format!("{}XYZ", &key[..key.len() - 3]);
    for header in [
        format!("X-API-Key: {wrong_key}\r\n"),
        format!("Authorization: Bearer {token}x\r\n"),
        format!("X-API-Key: {key}\r\n"),
    ] {
        let (_, body) = http_request(
            port,
            "POST",
            "/api/v1/agents",
            &header,
            Some(&json!({ "role": "r", "goal": "g" })),
        )
        .await
        .unwrap();
        bodies.push(body);
    }
    let (_, listed) = http_request(port, "GET", "/api/v1/keys", &auth, None)
        .await
        .unwrap();
    bodies.push(listed);
    let (status, _) = http_request(port, "POST", "/api/v1/auth/logout", &auth, None)
        .await
        .unwrap();
    assert_eq!(status, 204);
    let log = server.log();
    assert!(
        log.contains("signed in") && log.contains("failed sign-in"),
        "the events are logged: {log}"
    );
    for secret in [
        admin_password,
        wrong_password,
        &key,
        &wrong_key,
        &token,
        SECRET,
    ] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
        for body in &bodies {
            assert!(!body.to_string().contains(secret), "{secret} in {body}");
        }
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_limit_follows_the_address_the_proxy_saw() {
    let t = TestApp::with(|mut c| {
        c.login_max_failures = 2;
        c.trust_forwarded_for = true;
        c
    })
    .await;
    t.state.auth.put_user("admin", PASSWORD).await.unwrap();
    let attempt = |spoofed: &str, password: &str| {
        request(
            Method::POST,
            "/api/v1/auth/login",
            // The client's own header first, the proxy's entry last.
            &[("x-forwarded-for", &format!("{spoofed}, 203.0.113.9"))],
            Some(json!({ "username": "admin", "password": password })),
        )
    };
    assert_eq!(
        t.send(attempt("1.1.1.1", "guess")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.send(attempt("2.2.2.2", "guess")).await.0,
        StatusCode::UNAUTHORIZED
    );
    // A third spoofed first hop does not make a new client.
    assert_eq!(
        t.send(attempt("3.3.3.3", PASSWORD)).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    let other = request(
        Method::POST,
        "/api/v1/auth/login",
        &[("x-forwarded-for", "203.0.113.10")],
        Some(json!({ "username": "admin", "password": PASSWORD })),
    );
    assert_eq!(t.send(other).await.0, StatusCode::OK);
}

#[tokio::test]
async fn wrong_secrets_are_limited_per_key_id_and_never_lock_out_the_key() {
    let t = TestApp::with(|mut c| {
        c.login_max_failures = 2;
        c
    })
    .await;
    let (id, key) = create_key(&t, &[], &["read"]).await;
    let from = |client: [u8; 4], token: &str| {
        let mut request = request(
            Method::GET,
            "/api/v1/agents",
            &[("authorization", &bearer(token))],
            None,
        );
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((client, 1234))));
        request
    };
    let guess = format!("vdb_{id}_{}", "B".repeat(43));
    let attacker = [10, 9, 9, 9];
    for _ in 0..2 {
        assert_eq!(
            t.send(from(attacker, &guess)).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    // Past the limit, guesses for that key id are answered 429...
    let (status, _, body) = t.exchange(from([10, 9, 9, 10], &guess)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    // ...but the key itself still works, from any address, the attacker's
    // too (a shared NAT), and its success clears the count.
    assert_eq!(t.send(from(attacker, &key)).await.0, StatusCode::OK);
    assert_eq!(
        t.send(from(attacker, &guess)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // An unknown key id is answered like a wrong secret.
    let unknown = format!("vdb_{}_{}", "z".repeat(id.len()), "B".repeat(43));
    let (status, _, body) = t.exchange(from(attacker, &unknown)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["message"], "invalid or expired credentials");
}

#[tokio::test]
async fn a_password_change_ends_that_users_sessions() {
    let t = TestApp::new().await;
    t.state.auth.put_user("admin", PASSWORD).await.unwrap();
    t.state.auth.put_user("alice", PASSWORD).await.unwrap();
    let token_of = |user: &'static str| {
        let t = &t;
        async move {
            let (status, _, body) = send(
                t,
                Method::POST,
                "/api/v1/auth/login",
                &[],
                Some(json!({ "username": user, "password": PASSWORD })),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            bearer(body["token"].as_str().unwrap())
        }
    };
    let (admin, alice) = (token_of("admin").await, token_of("alice").await);
    let me = |token: String| {
        let t = &t;
        async move {
            send(
                t,
                Method::GET,
                "/api/v1/auth/me",
                &[("authorization", &token)],
                None,
            )
            .await
        }
    };
    assert_eq!(me(admin.clone()).await.0, StatusCode::OK);
    // Setting the same password again changes nothing.
    assert!(!t.state.auth.put_user("admin", PASSWORD).await.unwrap());
    assert_eq!(me(admin.clone()).await.0, StatusCode::OK);
    assert!(t
        .state
        .auth
        .put_user("admin", "a new password")
        .await
        .unwrap());
    let (status, _, body) = me(admin).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("password changed"),
        "{body}"
    );
    assert_eq!(me(alice).await.0, StatusCode::OK, "other users keep theirs");
}
