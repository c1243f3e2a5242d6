//! Table-driven tests of policies, driven through `ServiceBuilder` and `service_fn`.

use std::convert::Infallible;

use bytes::Bytes;
use http::{
    HeaderValue, Request, Response, StatusCode,
    header::{CONTENT_TYPE, WWW_AUTHENTICATE},
    request::Parts,
};
use http_body_util::{BodyExt, Full};
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

use super::{layer::RequirePolicyLayer, *};
use crate::{
    claims::{Claims, StandardClaims},
    error::{AuthError, AuthErrorKind, ConfigError},
};

/// Two-policy shorthands for the tables below: `a.and(b)` is `all_of([a, b])`, `a.or(b)`
/// is `any_of([a, b])`.
trait Combine {
    fn and(self, other: Policy) -> Policy;
    fn or(self, other: Policy) -> Policy;
}

impl Combine for Policy {
    fn and(self, other: Policy) -> Policy {
        Policy::all_of([self, other]).unwrap()
    }

    fn or(self, other: Policy) -> Policy {
        Policy::any_of([self, other]).unwrap()
    }
}

/// The default authorizer's check: permissions from the `perms` claim only.
fn check(
    policy: &Policy,
    claims: &StandardClaims,
    parts: &http::request::Parts,
) -> Result<(), AuthError> {
    Authorizer::default().check(policy, claims, parts)
}

/// The default authorizer's check without a request head.
fn check_claims(policy: &Policy, claims: &StandardClaims) -> Result<(), AuthError> {
    Authorizer::default().check_claims(policy, claims)
}

/// A token's claims, written compactly.
#[derive(Default, Clone)]
struct Token {
    perms: &'static [&'static str],
    roles: &'static [&'static str],
    scope: Option<&'static str>,
    org: Option<&'static str>,
    sub: Option<&'static str>,
}

impl Token {
    fn claims(&self) -> StandardClaims {
        StandardClaims {
            perms: self.perms.iter().map(|&p| p.into()).collect(),
            roles: self.roles.iter().map(|&r| r.into()).collect(),
            scope: self.scope.map(Into::into),
            org: self.org.map(Into::into),
            sub: self.sub.map(Into::into),
            ..StandardClaims::default()
        }
    }
}

fn perms(perms: &'static [&'static str]) -> Token {
    Token {
        perms,
        ..Token::default()
    }
}

fn roles(roles: &'static [&'static str]) -> Token {
    Token {
        roles,
        ..Token::default()
    }
}

/// What came back from the service.
struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    error: Option<AuthError>,
    body: Bytes,
}

async fn send_request<R: crate::response::Responder>(
    layer: RequirePolicyLayer<R>,
    request: Request<Full<Bytes>>,
) -> Answer {
    let service =
        ServiceBuilder::new()
            .layer(layer)
            .service(service_fn(|_: Request<Full<Bytes>>| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"handler"))))
            }));
    let response = service.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        challenge: parts
            .headers
            .get(WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_owned()),
        error: parts.extensions.get::<AuthError>().cloned(),
        body: body.collect().await.unwrap().to_bytes(),
    }
}

fn request(token: Option<&Token>, uri: &str, headers: &[(&str, &str)]) -> Request<Full<Bytes>> {
    let mut request = Request::get(uri).body(Full::default()).unwrap();
    for (name, value) in headers {
        request.headers_mut().append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    if let Some(token) = token {
        request.extensions_mut().insert(Claims::new(token.claims()));
    }
    request
}

async fn status(layer: RequirePolicyLayer, token: &Token) -> StatusCode {
    send_request(layer, request(Some(token), "/", &[]))
        .await
        .status
}

/// The role table of the CRM specification.
fn crm_roles() -> RoleMap {
    RoleMap::new()
        .add_role("admin", ["*:*"])
        .unwrap()
        .add_role("manager", ["customer:*", "user:read"])
        .unwrap()
        .add_role(
            "sales",
            ["customer:read", "customer:create", "customer:update"],
        )
        .unwrap()
        .add_role("viewer", ["customer:read"])
        .unwrap()
}

#[tokio::test]
async fn roles_by_routes() {
    let authorizer = Authorizer::new().role_map(crm_roles());
    let routes = [
        "customer:read",
        "customer:create",
        "customer:update",
        "customer:delete",
        "user:read",
        "user:create",
        "role:assign",
        "user:suspend",
    ];
    // One row per role: allowed (true) or 403 (false) on each route, in order.
    let table: [(&'static [&'static str], [bool; 8]); 7] = [
        (&["admin"], [true; 8]),
        (
            &["manager"],
            [true, true, true, true, true, false, false, false],
        ),
        (
            &["sales"],
            [true, true, true, false, false, false, false, false],
        ),
        (
            &["viewer"],
            [true, false, false, false, false, false, false, false],
        ),
        (&["intern"], [false; 8]),
        (&[], [false; 8]),
        // Roles add up.
        (
            &["viewer", "sales", "nobody"],
            [true, true, true, false, false, false, false, false],
        ),
    ];
    for (held, expected) in table {
        for (route, allowed) in routes.iter().zip(expected) {
            let layer = RequirePolicyLayer::new(&authorizer, Policy::permission(route).unwrap());
            let answer = send_request(layer, request(Some(&roles(held)), "/", &[])).await;
            let want = if allowed {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(answer.status, want, "roles {held:?} on {route}");
            if !allowed {
                assert_eq!(
                    answer.challenge.as_deref(),
                    Some(format!(r#"Bearer error="insufficient_scope", scope="{route}""#).as_str())
                );
            }
        }
    }
}

#[tokio::test]
async fn every_wildcard_form_in_the_perms_claim() {
    // (held, required, allowed)
    let table: [(&'static [&'static str], &str, bool); 14] = [
        (&["customer:read"], "customer:read", true),
        (&["customer:read"], "customer:delete", false),
        (&["customer:*"], "customer:delete", true),
        (&["customer:*"], "user:read", false),
        (&["*:read"], "user:read", true),
        (&["*:read"], "user:create", false),
        (&["*:*"], "role:assign", true),
        (&["*:*"], "customer:*", true),
        (&["customer:read", "customer:update"], "customer:*", false),
        (&["customer:*"], "customer:*", true),
        (&["*:read"], "*:read", true),
        (&["customer:read"], "*:read", false),
        (&["user:read", "customer:*"], "customer:update", true),
        (&[], "customer:read", false),
    ];
    for (held, required, allowed) in table {
        let layer = RequirePolicyLayer::new(
            &Authorizer::default(),
            Policy::permission(required).unwrap(),
        );
        let want = if allowed {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(
            status(layer, &perms(held)).await,
            want,
            "{held:?} for {required}"
        );
    }
}

#[tokio::test]
async fn combinators() {
    let p = |s: &str| Policy::permission(s).unwrap();
    let r = |s: &str| Policy::role(s).unwrap();
    let policies = [
        // 0: any_of
        Policy::any_of([p("customer:read"), r("auditor")]).unwrap(),
        // 1: all_of
        Policy::all_of([p("customer:read"), r("auditor")]).unwrap(),
        // 2: not
        p("customer:read").and(Policy::not(r("suspended"))),
        // 3: nested: (a and b) or (c and not d)
        p("customer:delete")
            .and(r("manager"))
            .or(p("customer:read").and(Policy::not(r("auditor")))),
        // 4: authenticated
        Policy::authenticated(),
        // 5: double negation
        Policy::not(Policy::not(r("auditor"))),
    ];
    let tokens = [
        Token {
            perms: &["customer:read"],
            ..Token::default()
        },
        Token {
            roles: &["auditor"],
            ..Token::default()
        },
        Token {
            perms: &["customer:read"],
            roles: &["auditor"],
            ..Token::default()
        },
        Token {
            perms: &["customer:read"],
            roles: &["suspended"],
            ..Token::default()
        },
        Token {
            perms: &["customer:*"],
            roles: &["manager", "auditor"],
            ..Token::default()
        },
        Token::default(),
    ];
    // Rows: tokens; columns: policies.
    let table = [
        [true, false, true, true, true, false],
        [true, false, false, false, true, true],
        [true, true, true, false, true, true],
        [true, false, false, true, true, false],
        [true, true, true, true, true, true],
        [false, false, false, false, true, false],
    ];
    for (t, (token, row)) in tokens.iter().zip(table).enumerate() {
        for (i, (policy, allowed)) in policies.iter().zip(row).enumerate() {
            let want = if allowed {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            let got = status(
                RequirePolicyLayer::new(&Authorizer::default(), policy.clone()),
                token,
            )
            .await;
            assert_eq!(got, want, "token {t} on policy {i}: {policy:?}");
        }
    }
}

#[test]
fn combinators_flatten_and_name_their_scope() {
    let p = |s: &str| Policy::permission(s).unwrap();
    let r = |s: &str| Policy::role(s).unwrap();
    let table = [
        (p("a:b"), Some("a:b")),
        (r("admin"), None),
        (p("a:b").and(p("c:d")).and(p("a:b")), Some("a:b c:d")),
        (p("a:b").or(p("c:d")), Some("a:b")),
        (r("admin").or(p("c:d")), Some("c:d")),
        (r("admin").and(p("c:d")).and(p("e:f")), Some("c:d e:f")),
        (Policy::not(p("a:b")), None),
        (Policy::org_from_path(0), None),
        (Policy::predicate(|_| true), None),
        (r("admin").challenge_scope("admin").unwrap(), Some("admin")),
    ];
    for (policy, scope) in table {
        assert_eq!(policy.required_scope(), scope, "{policy:?}");
    }
    let nested = p("a:b").and(p("c:d")).and(r("x").and(r("y")));
    assert_eq!(
        format!("{nested:?}"),
        r#"all_of(permission("a:b"), permission("c:d"), role("x"), role("y"))"#
    );
    // A combinator with a scope of its own is not flattened into its parent.
    let custom = p("a:b").or(p("c:d")).challenge_scope("ab-or-cd").unwrap();
    let outer = custom.or(p("e:f"));
    assert_eq!(
        format!("{outer:?}"),
        r#"any_of(any_of(permission("a:b"), permission("c:d")), permission("e:f"))"#
    );
    assert_eq!(outer.required_scope(), Some("ab-or-cd"));
    assert_eq!(
        format!(
            "{:?}",
            Policy::not(Policy::org_from_header("x-org").unwrap())
                .or(Policy::request_predicate(|_, _| true))
        ),
        r#"any_of(not(org_from_header("x-org")), request_predicate(<fn>))"#
    );
}

#[tokio::test]
async fn predicates_over_claims_and_request() {
    let numeric_subject = Policy::predicate(|claims: &StandardClaims| {
        claims
            .sub
            .as_deref()
            .is_some_and(|s| s.bytes().all(|b| b.is_ascii_digit()))
    });
    let own_account = Policy::request_predicate(|claims: &StandardClaims, request: &Parts| {
        let id = request.uri.path().split('/').nth(2);
        id.is_some() && id == claims.sub.as_deref()
    });
    let subject = |sub| Token {
        sub: Some(sub),
        ..Token::default()
    };
    // (policy, token, uri, allowed)
    let table = [
        (&numeric_subject, subject("42"), "/", true),
        (&numeric_subject, subject("4x2"), "/", false),
        (&numeric_subject, Token::default(), "/", false),
        (&own_account, subject("42"), "/users/42/profile", true),
        (&own_account, subject("42"), "/users/43/profile", false),
        (&own_account, subject("42"), "/users", false),
        (&own_account, Token::default(), "/users/42", false),
    ];
    for (policy, token, uri, allowed) in table {
        let answer = send_request(
            RequirePolicyLayer::new(&Authorizer::default(), policy.clone()),
            request(Some(&token), uri, &[]),
        )
        .await;
        let want = if allowed {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(answer.status, want, "{policy:?} on {uri}");
        if !allowed {
            // No scope to name: the challenge has none.
            assert_eq!(
                answer.challenge.as_deref(),
                Some(r#"Bearer error="insufficient_scope""#)
            );
        }
    }
}

#[tokio::test]
async fn tenant_scope_from_header_path_or_function() {
    let header = Policy::org_from_header("X-Org-Id").unwrap();
    let path = Policy::org_from_path(1);
    let host = Policy::org_from(|request: &Parts| {
        request
            .headers
            .get("host")?
            .to_str()
            .ok()?
            .split('.')
            .next()
    });
    let acme = Token {
        org: Some("acme"),
        ..Token::default()
    };
    let no_org = Token::default();
    let empty_org = Token {
        org: Some(""),
        ..Token::default()
    };
    // (policy, token, uri, headers, allowed)
    type Headers = &'static [(&'static str, &'static str)];
    let table: [(&Policy, &Token, &str, Headers, bool); 18] = [
        (&header, &acme, "/", &[("x-org-id", "acme")], true),
        (&header, &acme, "/", &[("X-ORG-ID", "acme")], true),
        (&header, &acme, "/", &[("x-org-id", "globex")], false),
        (&header, &acme, "/", &[("x-org-id", "ACME")], false),
        (&header, &acme, "/", &[], false),
        (&header, &acme, "/", &[("x-org-id", "")], false),
        (
            &header,
            &acme,
            "/",
            &[("x-org-id", "acme"), ("x-org-id", "acme")],
            false,
        ),
        (&header, &no_org, "/", &[("x-org-id", "acme")], false),
        (&header, &empty_org, "/", &[("x-org-id", "")], false),
        (&path, &acme, "/orgs/acme/customers", &[], true),
        (&path, &acme, "/orgs/acme", &[], true),
        (&path, &acme, "/orgs/globex/customers", &[], false),
        (&path, &acme, "/orgs", &[], false),
        (&path, &acme, "/orgs//acme", &[], false),
        (&path, &no_org, "/orgs/acme", &[], false),
        (&host, &acme, "/", &[("host", "acme.crm.example")], true),
        (&host, &acme, "/", &[("host", "globex.crm.example")], false),
        (&host, &acme, "/", &[], false),
    ];
    for (policy, token, uri, headers, allowed) in table {
        let answer = send_request(
            RequirePolicyLayer::new(&Authorizer::default(), policy.clone()),
            request(Some(token), uri, headers),
        )
        .await;
        let want = if allowed {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(answer.status, want, "{policy:?} {uri} {headers:?}");
    }

    // A header value that is not visible ASCII never matches.
    let mut opaque = request(Some(&acme), "/", &[]);
    opaque
        .headers_mut()
        .insert("x-org-id", HeaderValue::from_bytes(b"acme\xff").unwrap());
    assert_eq!(
        send_request(
            RequirePolicyLayer::new(&Authorizer::default(), header.clone()),
            opaque
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn superuser_bypasses_everything_when_configured() {
    let strict = Policy::permission("role:assign")
        .unwrap()
        .and(Policy::org_from_path(1))
        .and(Policy::not(Policy::role("superuser").unwrap()));
    let root = roles(&["superuser"]);
    let staff = Token {
        sub: Some("0"),
        ..Token::default()
    };

    // Not configured: a role named `superuser` is just a role.
    assert_eq!(
        status(
            RequirePolicyLayer::new(&Authorizer::default(), strict.clone()),
            &root
        )
        .await,
        StatusCode::FORBIDDEN
    );

    // (authorizer, token, allowed)
    let by_role = Authorizer::new().superuser_role("superuser").unwrap();
    let by_predicate = Authorizer::new()
        .superuser_predicate(|claims: &StandardClaims| claims.sub.as_deref() == Some("0"));
    let table = [
        (&by_role, &root, true),
        (&by_role, &staff, false),
        (&by_role, &roles(&["admin"]), false),
        (&by_predicate, &staff, true),
        (&by_predicate, &root, false),
    ];
    for (authorizer, token, allowed) in table {
        let want = if allowed {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        let answer = send_request(
            RequirePolicyLayer::new(authorizer, strict.clone()),
            request(Some(token), "/orgs/elsewhere", &[]),
        )
        .await;
        assert_eq!(answer.status, want, "{authorizer:?}");
        assert_eq!(authorizer.is_superuser(&token.claims()), allowed);
    }

    // The bypass still needs claims.
    let answer = send_request(
        RequirePolicyLayer::new(&by_role, strict),
        request(None, "/", &[]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);

    // Setting a superuser replaces the previous setting.
    let replaced = by_role.superuser_predicate(|_| false);
    assert!(!replaced.is_superuser(&root.claims()));
}

#[tokio::test]
async fn scope_string_claims() {
    let oauth = Authorizer::new().perms_claim(false).scope_claim(true);
    let scoped = |scope| Token {
        scope: Some(scope),
        ..Token::default()
    };
    // (token, allowed for customer:read)
    let table = [
        (scoped("customer:read"), true),
        (scoped("openid profile customer:read"), true),
        (scoped("openid customer:*"), true),
        (scoped("*:read"), true),
        (scoped("openid profile"), false),
        (scoped("customer:readwrite"), false),
        (scoped("customer:read:all"), false),
        (scoped(""), false),
        // The `perms` claim is off for this authorizer.
        (perms(&["customer:read"]), false),
    ];
    for (token, allowed) in table {
        let want = if allowed {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        let layer = RequirePolicyLayer::new(&oauth, Policy::permission("customer:read").unwrap());
        assert_eq!(status(layer, &token).await, want, "{:?}", token.scope);
    }

    // And the default authorizer does not read `scope`.
    assert_eq!(
        status(
            RequirePolicyLayer::new(
                &Authorizer::default(),
                Policy::permission("customer:read").unwrap()
            ),
            &scoped("customer:read")
        )
        .await,
        StatusCode::FORBIDDEN
    );

    // Every source at once.
    let all = Authorizer::new().scope_claim(true).role_map(
        RoleMap::new()
            .add_role("viewer", ["customer:read"])
            .unwrap(),
    );
    let required = Permission::parse("customer:read").unwrap();
    for token in [
        perms(&["customer:read"]),
        scoped("customer:read"),
        roles(&["viewer"]),
    ] {
        assert!(all.is_granted(&token.claims(), &required));
    }
}

#[test]
fn malformed_policies_are_rejected_at_build_time() {
    let invalid = |result: Result<Policy, ConfigError>, expected: &str| match result {
        Err(ConfigError::InvalidPolicy { input, .. }) => assert_eq!(input, expected),
        other => panic!("expected InvalidPolicy for {expected:?}, got {other:?}"),
    };
    for bad in [
        "customer",
        "customer:",
        ":read",
        "customer:read:all",
        "cust*:read",
        "customer:*read",
        "customer read",
        "",
    ] {
        invalid(Policy::permission(bad), bad);
    }
    invalid(Policy::org_from_header("x org"), "x org");
    invalid(Policy::org_from_header(""), "");
    invalid(Policy::authenticated().challenge_scope("a  b"), "a  b");
    invalid(Policy::authenticated().challenge_scope("a\"b"), "a\"b");
    invalid(Policy::authenticated().challenge_scope(""), "");

    let empty = |result: Result<Policy, ConfigError>, expected: &str| match result {
        Err(ConfigError::Empty { setting }) => assert_eq!(setting, expected),
        other => panic!("expected Empty for {expected:?}, got {other:?}"),
    };
    empty(Policy::any_of([]), "any_of");
    empty(Policy::all_of(Vec::new()), "all_of");
    empty(Policy::role(""), "role name");
    assert!(matches!(
        Authorizer::new().superuser_role(""),
        Err(ConfigError::Empty {
            setting: "superuser role"
        })
    ));
    assert!(matches!(
        RoleMap::new().add_role("admin", ["*:*", "everything"]),
        Err(ConfigError::InvalidPolicy { ref input, .. }) if input == "everything"
    ));
}

#[tokio::test]
async fn per_path_policies_and_the_scope_of_the_unmet_part() {
    let policy = Policy::permission("customer:read")
        .unwrap()
        .and(
            Policy::on_path(
                "/crm.Customers/Delete",
                Policy::permission("customer:delete").unwrap(),
            )
            .unwrap(),
        )
        .and(Policy::role("staff").unwrap());
    assert_eq!(
        policy.required_scope(),
        Some("customer:read customer:delete")
    );
    let reader = Token {
        perms: &["customer:read"],
        roles: &["staff"],
        ..Token::default()
    };
    let deleter = Token {
        perms: &["customer:read", "customer:delete"],
        roles: &["staff"],
        ..Token::default()
    };
    let outsider = perms(&["customer:*"]);
    // (token, path, status, scope named)
    let table = [
        (&reader, "/crm.Customers/Get", StatusCode::OK, None),
        (
            &reader,
            "/crm.Customers/Delete",
            StatusCode::FORBIDDEN,
            Some("customer:delete"),
        ),
        (&reader, "/crm.Customers/Delete/x", StatusCode::OK, None),
        (&deleter, "/crm.Customers/Delete", StatusCode::OK, None),
        (
            &Token::default(),
            "/crm.Customers/Get",
            StatusCode::FORBIDDEN,
            Some("customer:read"),
        ),
        // The role is the unmet part: no scope to name.
        (
            &outsider,
            "/crm.Customers/Delete",
            StatusCode::FORBIDDEN,
            None,
        ),
    ];
    for (token, path, status, scope) in table {
        let answer = send_request(
            RequirePolicyLayer::new(&Authorizer::default(), policy.clone()),
            request(Some(token), path, &[]),
        )
        .await;
        assert_eq!(answer.status, status, "{path}");
        assert_eq!(
            answer.error.as_ref().and_then(AuthError::scope),
            scope,
            "{path}"
        );
    }
    assert!(matches!(
        Policy::on_path("crm.Customers/Delete", Policy::authenticated()),
        Err(ConfigError::InvalidPolicy { .. })
    ));
    // A scope set on a combinator replaces the one its unmet part names.
    let named = Policy::role("staff")
        .unwrap()
        .and(Policy::permission("a:b").unwrap())
        .challenge_scope("staff-only")
        .unwrap();
    let (parts, ()) = Request::new(()).into_parts();
    let error = check(&named, &Token::default().claims(), &parts).unwrap_err();
    assert_eq!(error.scope(), Some("staff-only"));
}

#[test]
fn check_claims_never_passes_a_policy_that_reads_the_request() {
    let acme = Token {
        org: Some("acme"),
        perms: &["customer:read"],
        roles: &["superuser"],
        ..Token::default()
    }
    .claims();
    let read = Policy::permission("customer:read").unwrap();
    let table = [
        (read.clone(), true),
        (Policy::org_from_path(0), false),
        (
            Policy::not(Policy::org_from_header("x-org-id").unwrap()),
            false,
        ),
        (Policy::on_path("/admin", read.clone()).unwrap(), false),
        (
            read.clone().or(Policy::request_predicate(|_, _| true)),
            false,
        ),
        (Policy::not(Policy::predicate(|_| false)), true),
    ];
    for (policy, allowed) in table {
        assert_eq!(check_claims(&policy, &acme).is_ok(), allowed, "{policy:?}");
    }
    // A superuser passes anyway.
    let root = Authorizer::new().superuser_role("superuser").unwrap();
    assert!(root.check_claims(&Policy::org_from_path(0), &acme).is_ok());
}

#[test]
fn not_negates() {
    let (parts, ()) = Request::new(()).into_parts();
    let suspended = roles(&["suspended"]).claims();
    let policy = Policy::not(Policy::role("suspended").unwrap());
    assert!(check(&policy, &suspended, &parts).is_err());
    assert!(check(&policy, &Token::default().claims(), &parts).is_ok());
}

#[tokio::test]
async fn missing_claims_are_401_not_403() {
    let layer = RequirePolicyLayer::new(&Authorizer::default(), Policy::authenticated());
    let answer = send_request(layer, request(None, "/", &[])).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.challenge.as_deref(), Some("Bearer"));
    assert_eq!(answer.error.unwrap().kind(), AuthErrorKind::MissingToken);
}

#[tokio::test]
async fn denial_is_problem_json_naming_the_scope_with_the_error_in_extensions() {
    let layer = RequirePolicyLayer::new(
        &Authorizer::default(),
        Policy::permission("customer:delete").unwrap(),
    );
    let answer = send_request(layer, request(Some(&perms(&["customer:read"])), "/", &[])).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(body["status"], 403);
    assert_eq!(body["code"], "insufficient_scope");
    assert_eq!(body["scope"], "customer:delete");
    let error = answer.error.unwrap();
    assert_eq!(error.kind(), AuthErrorKind::InsufficientScope);
    assert_eq!(error.scope(), Some("customer:delete"));
}

#[tokio::test]
async fn grpc_requests_get_permission_denied_and_unauthenticated() {
    let layer = RequirePolicyLayer::new(
        &Authorizer::default(),
        Policy::permission("customer:read").unwrap(),
    );
    let grpc = [("content-type", "application/grpc")];

    let service =
        ServiceBuilder::new()
            .layer(layer)
            .service(service_fn(|_: Request<Full<Bytes>>| async {
                Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
            }));
    let denied = service
        .clone()
        .oneshot(request(
            Some(&Token::default()),
            "/crm.Customers/List",
            &grpc,
        ))
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::OK);
    assert_eq!(denied.headers()["grpc-status"], "7");
    assert_eq!(denied.headers()[CONTENT_TYPE], "application/grpc");

    let anonymous = service
        .oneshot(request(None, "/crm.Customers/List", &grpc))
        .await
        .unwrap();
    assert_eq!(anonymous.headers()["grpc-status"], "16");
}

#[tokio::test]
async fn responder_is_replaceable() {
    let layer = RequirePolicyLayer::new(&Authorizer::default(), Policy::role("admin").unwrap())
        .with_responder(|error: &AuthError, _: &http::HeaderMap| {
            let mut response = Response::new(Bytes::from_static(b"nope"));
            // Say 404, as the CRM does for another organization's resources.
            *response.status_mut() = if error.kind() == AuthErrorKind::InsufficientScope {
                StatusCode::NOT_FOUND
            } else {
                error.status()
            };
            response
        });
    let answer = send_request(layer, request(Some(&Token::default()), "/", &[])).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.body, "nope");
    assert_eq!(
        answer.error.unwrap().kind(),
        AuthErrorKind::InsufficientScope
    );
}

#[test]
fn function_form_matches_the_layer() {
    let policy = Policy::permission("customer:read").unwrap();
    let (parts, ()) = Request::new(()).into_parts();
    assert!(check(&policy, &perms(&["customer:*"]).claims(), &parts).is_ok());
    let error = check(&policy, &roles(&["viewer"]).claims(), &parts).unwrap_err();
    assert_eq!(error.kind(), AuthErrorKind::InsufficientScope);
    assert_eq!(error.scope(), Some("customer:read"));

    let authorizer = Authorizer::new().role_map(crm_roles());
    assert!(
        authorizer
            .check(&policy, &roles(&["viewer"]).claims(), &parts)
            .is_ok()
    );

    // Without a request head: claims-only policies are checked as usual, a policy that
    // reads the request is never met (through the authorizer as through the policy).
    let viewer = roles(&["viewer"]).claims();
    assert!(authorizer.check_claims(&policy, &viewer).is_ok());
    assert!(check_claims(&policy, &viewer).is_err());
    let on_admin = Policy::on_path("/admin", policy.clone()).unwrap();
    assert!(authorizer.check_claims(&on_admin, &viewer).is_err());
    let not_org = Policy::not(Policy::org_from_header("x-org-id").unwrap());
    assert!(authorizer.check_claims(&not_org, &viewer).is_err());
    let or_request = Policy::role("nobody")
        .unwrap()
        .or(Policy::request_predicate(|_, _| true));
    assert!(authorizer.check_claims(&or_request, &viewer).is_err());
    let tenant = Token {
        org: Some("acme"),
        ..Token::default()
    }
    .claims();
    assert!(check_claims(&Policy::org_from_path(0), &tenant).is_err());
}

#[tokio::test]
async fn service_accessors_and_readiness() {
    let policy = Policy::authenticated();
    let mut service = RequirePolicy::new(
        service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
        }),
        &Authorizer::default(),
        policy.clone(),
    );
    let _ = service.get_ref();
    let _ = service.get_mut();
    let layer = RequirePolicy::<()>::layer(&Authorizer::default(), policy);
    assert!(format!("{layer:?}").contains("authenticated"));
    let response = service
        .ready()
        .await
        .unwrap()
        .call(request(Some(&Token::default()), "/", &[]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let _inner = service.into_inner();
}

#[test]
fn scopes_match_exactly_whatever_their_form() {
    let claims = StandardClaims {
        scope: Some("openid  User.Read read:messages customer:*".into()),
        perms: vec!["customer:read".into()],
        ..StandardClaims::default()
    };
    // (required scope, met)
    let table = [
        ("openid", true),
        ("User.Read", true),
        ("read:messages", true),
        ("customer:*", true),
        // No wildcard, no case folding, no prefix: exact tokens only.
        ("customer:read", false),
        ("user.read", false),
        ("open", false),
        ("Mail.Send", false),
    ];
    for (scope, met) in table {
        let policy = Policy::scope(scope).unwrap();
        let result = Authorizer::new().check_claims(&policy, &claims);
        assert_eq!(result.is_ok(), met, "{scope}");
        if let Err(denied) = result {
            assert_eq!(denied.scope(), Some(scope));
        }
    }
    let none = StandardClaims::default();
    assert!(
        Authorizer::new()
            .check_claims(&Policy::scope("openid").unwrap(), &none)
            .is_err()
    );
    for bad in ["", "a b", "a\"b", "a\\b", "é"] {
        assert!(
            matches!(Policy::scope(bad), Err(ConfigError::InvalidPolicy { .. })),
            "{bad:?}"
        );
    }
    assert_eq!(
        format!("{:?}", Policy::scope("openid").unwrap()),
        r#"scope("openid")"#
    );
}
