//! Tokens shaped as identity providers write them (Keycloak, Auth0, Microsoft Entra ID, Okta,
//! Amazon Cognito, Django REST framework simplejwt), verified and authorized over loopback HTTP
//! by an axum application with the verify and policy layers: accepted with the provider's
//! [`ClaimMapping`] preset, refused without it. The simplejwt case adds the revocation layer.
#![cfg(all(feature = "axum", feature = "memory-store"))]

#[path = "../support/mod.rs"]
mod support;

use std::{net::SocketAddr, sync::LazyLock};

use aws_lc_rs::{
    encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der},
    rsa::KeySize,
    signature::{KeyPair, RsaKeyPair},
};
use axum::{
    Json, Router,
    extract::State,
    routing::{get, post},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use http::StatusCode;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use tollgate::{
    AuthError, Claims, RequirePolicyLayer, RevocationLayer, StandardClaims, VerifyLayer,
    key::{Algorithm, Key},
    policy::{Authorizer, Policy},
    revocation::{MemoryRevocationStore, RevocationStore},
    verify::{ClaimMapping, TrustedIssuer, Verifier},
};

use crate::support::now;

/// The identity providers' RS256 signing key, generated once for the test binary.
static RSA: LazyLock<(EncodingKey, Key)> = LazyLock::new(|| {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let private: Pkcs8V1Der<'static> = pair.as_der().unwrap();
    let public: PublicKeyX509Der<'static> = pair.public_key().as_der().unwrap();
    let encoding = EncodingKey::from_rsa_pem(pem("PRIVATE KEY", private.as_ref()).as_bytes());
    let key = Key::from_pem(
        Algorithm::RS256,
        pem("PUBLIC KEY", public.as_ref()).as_bytes(),
    )
    .unwrap()
    .with_kid("idp-key-1");
    (encoding.unwrap(), key)
});

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// Sign `claims` as the providers do: RS256, `typ: JWT`, the key's `kid`.
fn rs256(claims: &Value) -> String {
    let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
    header.typ = Some("JWT".to_owned());
    header.kid = Some("idp-key-1".to_owned());
    jsonwebtoken::encode(&header, claims, &RSA.0).unwrap()
}

/// What the handler saw: the standard claims the policy and revocation layers read.
async fn whoami(Claims(claims): Claims<StandardClaims>) -> Json<Value> {
    Json(json!({
        "sub": claims.sub,
        "org": claims.org,
        "roles": claims.roles,
        "perms": claims.perms,
        "scope": claims.scope,
    }))
}

/// `/orgs/{org}/resource` behind `policy`, verified by `verifier`.
fn app(verifier: Verifier, authorizer: &Authorizer, policy: Policy) -> Router {
    Router::new()
        .route("/orgs/{org}/resource", get(whoami))
        .route_layer(RequirePolicyLayer::new(authorizer, policy))
        .route_layer(VerifyLayer::new(verifier))
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn call(addr: SocketAddr, method: &str, path: &str, token: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .request(method.parse().unwrap(), format!("http://{addr}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// One provider's case: `token` is accepted on `path` by the verifier with `mapping` (the
/// handler seeing `expected`), and refused with `without` by the same verifier with the
/// default mapping.
struct Case {
    verifier: Verifier,
    mapping: ClaimMapping,
    authorizer: Authorizer,
    policy: Policy,
    token: String,
    path: &'static str,
    expected: Value,
    without: StatusCode,
}

impl Case {
    async fn run(self) {
        let with = serve(app(
            self.verifier.clone().claim_mapping(self.mapping),
            &self.authorizer,
            self.policy.clone(),
        ))
        .await;
        let (status, seen) = call(with, "GET", self.path, &self.token).await;
        assert_eq!(status, StatusCode::OK, "{seen}");
        for (name, value) in self.expected.as_object().unwrap() {
            assert_eq!(&seen[name], value, "{name}");
        }

        let without = serve(app(self.verifier, &self.authorizer, self.policy)).await;
        let (status, body) = call(without, "GET", self.path, &self.token).await;
        assert_eq!(status, self.without, "{body}");
    }
}

#[tokio::test]
async fn keycloak_realm_and_client_roles() {
    let now = now();
    // A Keycloak access token for the `crm` client, with an audience mapper adding `crm`.
    let token = rs256(&json!({
        "exp": now + 300,
        "iat": now,
        "auth_time": now,
        "jti": "onrtac:5b1f4a4e-0c47-4a1c-9b2e-0f4f1e0f2a11",
        "iss": "http://localhost:8080/realms/acme",
        "aud": ["crm", "account"],
        "sub": "f0c5c9f4-8d4e-4d0f-9a55-8d3b1e6c2f10",
        "typ": "Bearer",
        "azp": "crm",
        "sid": "0c8f3c2e-8a3d-4f57-b1b0-4c6c2a4f6a21",
        "acr": "1",
        "allowed-origins": ["http://localhost:3000"],
        "realm_access": {
            "roles": ["offline_access", "default-roles-acme", "uma_authorization", "manager"]
        },
        "resource_access": {
            "crm": {"roles": ["customer-admin"]},
            "account": {"roles": ["manage-account", "manage-account-links", "view-profile"]}
        },
        "scope": "openid email profile",
        "email_verified": true,
        "name": "Ann Example",
        "preferred_username": "ann",
        "given_name": "Ann",
        "family_name": "Example",
        "email": "ann@example.com"
    }));
    Case {
        verifier: Verifier::new(
            TrustedIssuer::new("http://localhost:8080/realms/acme", RSA.1.clone())
                .add_audience("crm"),
        ),
        mapping: ClaimMapping::keycloak("crm").unwrap(),
        authorizer: Authorizer::new(),
        policy: Policy::all_of([
            Policy::role("manager").unwrap(),
            Policy::role("customer-admin").unwrap(),
            Policy::scope("profile").unwrap(),
        ])
        .unwrap(),
        token,
        path: "/orgs/acme/resource",
        expected: json!({
            "roles": ["offline_access", "default-roles-acme", "uma_authorization", "manager", "customer-admin"],
            "scope": "openid email profile",
        }),
        without: StatusCode::FORBIDDEN,
    }
    .run()
    .await;
}

#[tokio::test]
async fn auth0_permissions_namespaced_roles_and_organization() {
    let now = now();
    // An Auth0 access token for an API with RBAC ("Add Permissions in the Access Token"), an
    // Action adding roles under a namespace, and Auth0 Organizations.
    let token = rs256(&json!({
        "https://example.com/roles": ["admin"],
        "iss": "https://acme.us.auth0.com/",
        "sub": "auth0|6571f1c2d3e4f5a6b7c8d9e0",
        "aud": ["https://api.example.com", "https://acme.us.auth0.com/userinfo"],
        "iat": now,
        "exp": now + 86_400,
        "scope": "openid profile email read:messages",
        "org_id": "org_9ybsU1dN2dKfDkBi",
        "azp": "yZ8YqTCNNEhhAxE5hUMnF5Qn7o6nLBt2",
        "permissions": ["read:messages", "write:messages"]
    }));
    Case {
        verifier: Verifier::new(
            TrustedIssuer::new("https://acme.us.auth0.com/", RSA.1.clone())
                .add_audience("https://api.example.com"),
        ),
        mapping: ClaimMapping::auth0("https://example.com/").unwrap(),
        authorizer: Authorizer::new(),
        policy: Policy::all_of([
            Policy::permission("read:messages").unwrap(),
            Policy::role("admin").unwrap(),
            Policy::org_from_path(1),
        ])
        .unwrap(),
        token,
        path: "/orgs/org_9ybsU1dN2dKfDkBi/resource",
        expected: json!({
            "sub": "auth0|6571f1c2d3e4f5a6b7c8d9e0",
            "org": "org_9ybsU1dN2dKfDkBi",
            "roles": ["admin"],
            "perms": ["read:messages", "write:messages"],
        }),
        without: StatusCode::FORBIDDEN,
    }
    .run()
    .await;
}

#[tokio::test]
async fn entra_id_app_roles_delegated_scopes_and_tenant() {
    let now = now();
    let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    // A Microsoft identity platform v2.0 access token for an API (app id `6e74172b-...`).
    let token = rs256(&json!({
        "aud": "6e74172b-be56-4843-9ff4-e66a39bb12e3",
        "iss": format!("https://login.microsoftonline.com/{tenant}/v2.0"),
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "aio": "AWQAm/8bAAAAgaK9OGzQz8UuMrd3hFBh4fFiUpJ2hBBoHhKMtWfRRUz5",
        "azp": "ec7e4ef6-7b54-4e82-8cc5-4a9bb2f8fd84",
        "azpacr": "0",
        "name": "Ann Example",
        "oid": "690222be-ff1a-4d56-abd1-7e4f7d38e474",
        "preferred_username": "ann@contoso.com",
        "rh": "0.AXEAv4j5cvGGr0GRqy180BHbR3Ib-ji4.",
        "roles": ["Customers.Manage"],
        "scp": "User.Read Customers.Read",
        "sub": "MF4f-ggWMEji12KynJUNQZphaUTvLcQug5jdF2nl01Q",
        "tid": tenant,
        "uti": "fqiBqXLPj0eQa82S-IYFAA",
        "ver": "2.0"
    }));
    // Without the preset, `ver: "2.0"` is not a permission version: a malformed token.
    Case {
        verifier: Verifier::new(
            TrustedIssuer::new(
                format!("https://login.microsoftonline.com/{tenant}/v2.0"),
                RSA.1.clone(),
            )
            .add_audience("6e74172b-be56-4843-9ff4-e66a39bb12e3"),
        ),
        mapping: ClaimMapping::entra_id(),
        authorizer: Authorizer::new(),
        policy: Policy::all_of([
            Policy::scope("Customers.Read").unwrap(),
            Policy::role("Customers.Manage").unwrap(),
            Policy::org_from_path(1),
        ])
        .unwrap(),
        token: token.clone(),
        path: "/orgs/72f988bf-86f1-41af-91ab-2d7cd011db47/resource",
        expected: json!({"org": tenant, "scope": "User.Read Customers.Read"}),
        without: StatusCode::UNAUTHORIZED,
    }
    .run()
    .await;

    // The preset's `ver` handling alone, with scopes and the organization read from today's
    // names: the token verifies, but `scp` is not read, so the policy cannot be met.
    let verifier = Verifier::new(
        TrustedIssuer::new(
            format!("https://login.microsoftonline.com/{tenant}/v2.0"),
            RSA.1.clone(),
        )
        .add_audience("6e74172b-be56-4843-9ff4-e66a39bb12e3"),
    )
    .claim_mapping(
        ClaimMapping::entra_id()
            .scopes(["scope"])
            .unwrap()
            .organization("org")
            .unwrap(),
    );
    let addr = serve(app(
        verifier,
        &Authorizer::new(),
        Policy::scope("Customers.Read").unwrap(),
    ))
    .await;
    let (status, _) = call(addr, "GET", "/orgs/x/resource", &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn okta_scope_array_and_groups() {
    let now = now();
    // An Okta custom authorization server's access token with a `groups` claim.
    let token = rs256(&json!({
        "ver": 1,
        "jti": "AT.0mP4JKAZX1iACIT4vbEDF7LpvDVjxypPMf0D7uX39RE",
        "iss": "https://acme.okta.com/oauth2/default",
        "aud": "api://default",
        "iat": now,
        "exp": now + 3600,
        "cid": "0oa1f2k3l4m5n6o7p8q9",
        "uid": "00u1a2b3c4d5e6f7g8h9",
        "scp": ["openid", "customers.read"],
        "auth_time": now,
        "sub": "ann@example.com",
        "groups": ["Everyone", "CRM Managers"]
    }));
    Case {
        verifier: Verifier::new(
            TrustedIssuer::new("https://acme.okta.com/oauth2/default", RSA.1.clone())
                .add_audience("api://default"),
        ),
        mapping: ClaimMapping::okta(),
        authorizer: Authorizer::new(),
        policy: Policy::all_of([
            Policy::scope("customers.read").unwrap(),
            Policy::role("CRM Managers").unwrap(),
        ])
        .unwrap(),
        token,
        path: "/orgs/acme/resource",
        expected: json!({
            "sub": "ann@example.com",
            "roles": ["Everyone", "CRM Managers"],
            "scope": "openid customers.read",
        }),
        without: StatusCode::FORBIDDEN,
    }
    .run()
    .await;
}

/// A Cognito user pool's access token (`token_use: access`, `client_id`, no `aud`).
fn cognito(token_use: &str) -> String {
    let now = now();
    rs256(&json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "cognito:groups": ["admin"],
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example",
        "version": 2,
        "client_id": "1example23456789",
        "origin_jti": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "event_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "token_use": token_use,
        "scope": "aws.cognito.signin.user.admin phone openid profile email",
        "auth_time": now,
        "exp": now + 3600,
        "iat": now,
        "jti": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "username": "ann"
    }))
}

#[tokio::test]
async fn cognito_groups_client_id_and_token_use() {
    let verifier = Verifier::new(
        TrustedIssuer::new(
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example",
            RSA.1.clone(),
        )
        .add_audience("1example23456789"),
    )
    .token_type_claim("access")
    .unwrap();
    let policy = Policy::all_of([
        Policy::role("admin").unwrap(),
        Policy::scope("openid").unwrap(),
    ])
    .unwrap();
    // Without the preset, the token names no audience (`client_id` is not read).
    Case {
        verifier: verifier.clone(),
        mapping: ClaimMapping::cognito(),
        authorizer: Authorizer::new(),
        policy: policy.clone(),
        token: cognito("access"),
        path: "/orgs/acme/resource",
        expected: json!({"roles": ["admin"], "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}),
        without: StatusCode::UNAUTHORIZED,
    }
    .run()
    .await;

    // An ID token is refused by the token-type check on `token_use`.
    let addr = serve(app(
        verifier.clone().claim_mapping(ClaimMapping::cognito()),
        &Authorizer::new(),
        policy.clone(),
    ))
    .await;
    let (status, body) = call(addr, "GET", "/orgs/acme/resource", &cognito("id")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "invalid_token_type");

    // An issuer without an audience accepts the token without the preset: `cognito:groups`
    // is not read, so the policy cannot be met.
    let anonymous = Verifier::new(TrustedIssuer::new(
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example",
        RSA.1.clone(),
    ));
    let addr = serve(app(anonymous, &Authorizer::new(), policy)).await;
    let (status, _) = call(addr, "GET", "/orgs/acme/resource", &cognito("access")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// The Django project's `SECRET_KEY`, simplejwt's default `SIGNING_KEY`.
const DJANGO_SECRET: &[u8] = b"django-insecure-4m#x8q!v2n$7k@p0z&w3r^t6y*u1i(o9e)s5d";

/// A simplejwt token as the Django backend issues it: `TokenObtainPairView` with the CRM's
/// `organization_id` and `permissions` added in `get_token`.
fn simplejwt(token_type: &str, jti: &str) -> (String, Value) {
    let now = now();
    let claims = json!({
        "token_type": token_type,
        "exp": now + 300,
        "iat": now,
        "jti": jti,
        "user_id": 42,
        "organization_id": 7,
        "permissions": ["customer:read", "customer:delete"]
    });
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.typ = Some("JWT".to_owned());
    let token =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(DJANGO_SECRET)).unwrap();
    (token, claims)
}

async fn logout(
    State(store): State<MemoryRevocationStore>,
    Claims(claims): Claims<StandardClaims>,
) -> Result<StatusCode, AuthError> {
    store.revoke_claims(&claims).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[tokio::test]
async fn simplejwt_beside_a_django_backend_with_revocation() {
    let mapping = ClaimMapping::simplejwt()
        .organization("organization_id")
        .unwrap()
        .permissions(["permissions"])
        .unwrap();
    // simplejwt sets neither `iss` nor `aud` unless configured to.
    let verifier = Verifier::new(TrustedIssuer::any_issuer(
        Key::hmac(Algorithm::HS256, DJANGO_SECRET).unwrap(),
    ))
    .token_type_claim("access")
    .unwrap();
    let authorizer = Authorizer::new();
    let store = MemoryRevocationStore::new();
    let sensitive = Router::new()
        .route(
            "/orgs/{org}/customers/{id}",
            axum::routing::delete(|| async { StatusCode::NO_CONTENT }),
        )
        .route_layer(RequirePolicyLayer::new(
            &authorizer,
            Policy::all_of([
                Policy::permission("customer:delete").unwrap(),
                Policy::org_from_path(1),
            ])
            .unwrap(),
        ))
        .route_layer(RevocationLayer::new(store.clone()));
    let router = Router::new()
        .route("/orgs/{org}/resource", get(whoami))
        .route_layer(RequirePolicyLayer::new(
            &authorizer,
            Policy::permission("customer:read").unwrap(),
        ))
        .merge(sensitive)
        .route("/logout", post(logout))
        .route_layer(VerifyLayer::new(verifier.clone().claim_mapping(mapping)))
        .with_state(store.clone());
    let addr = serve(router).await;

    let (access, _) = simplejwt("access", "9f1c4a0e6b5d4f0b8e2a7c3d1e5f7a9b");
    let (status, seen) = call(addr, "GET", "/orgs/7/resource", &access).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["sub"], "42");
    assert_eq!(seen["org"], "7");
    assert_eq!(seen["perms"], json!(["customer:read", "customer:delete"]));
    let (status, _) = call(addr, "DELETE", "/orgs/7/customers/1", &access).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Another organization's customers: the integer `organization_id` is compared as text.
    let (status, _) = call(addr, "DELETE", "/orgs/8/customers/1", &access).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A refresh token is not an access token.
    let (refresh, _) = simplejwt("refresh", "0a1b2c3d4e5f60718293a4b5c6d7e8f9");
    let (status, body) = call(addr, "GET", "/orgs/7/resource", &refresh).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "invalid_token_type");

    // Logout revokes the token's `jti`: refused where revocation is checked, still accepted
    // on the stateless route.
    let (status, _) = call(addr, "POST", "/logout", &access).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = call(addr, "DELETE", "/orgs/7/customers/1", &access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "token_revoked");
    let (status, _) = call(addr, "GET", "/orgs/7/resource", &access).await;
    assert_eq!(status, StatusCode::OK);

    // Cutting the integer user id off refuses every token issued before.
    let (other, _) = simplejwt("access", "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b");
    store.cut_off("42", now() + 1, now() + 600).await.unwrap();
    let (status, body) = call(addr, "DELETE", "/orgs/7/customers/1", &other).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "token_cut_off");

    // Without the preset: `user_id`, `organization_id` and `permissions` are not read, so
    // the policy cannot be met.
    let addr = serve(app(
        verifier,
        &authorizer,
        Policy::permission("customer:read").unwrap(),
    ))
    .await;
    let (status, _) = call(addr, "GET", "/orgs/7/resource", &other).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_claim_of_the_wrong_type_is_named_in_the_problem_detail() {
    let key = Key::hmac(Algorithm::HS256, DJANGO_SECRET).unwrap();
    let verifier = Verifier::new(TrustedIssuer::any_issuer(key));
    let addr = serve(app(verifier, &Authorizer::new(), Policy::authenticated())).await;
    let now = now();
    for (claims, detail) in [
        (
            json!({"exp": "tomorrow"}),
            "the token is malformed: `exp` must be a NumericDate (a JSON number of seconds)",
        ),
        (
            json!({"exp": now + 60, "nbf": [now]}),
            "the token is malformed: `nbf` must be a NumericDate (a JSON number of seconds)",
        ),
        (
            json!({"exp": now + 60, "iat": null}),
            "the token is malformed: `iat` must be a NumericDate (a JSON number of seconds)",
        ),
        (
            json!({"exp": now + 60, "sub": 42}),
            "the token is malformed: `sub` is a number, not a string",
        ),
        (
            json!({"exp": now + 60, "org": 7}),
            "the token is malformed: `org` is a number, not a string",
        ),
    ] {
        let token = jsonwebtoken::encode(
            &Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(DJANGO_SECRET),
        )
        .unwrap();
        let (status, body) = call(addr, "GET", "/orgs/x/resource", &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{claims}");
        assert_eq!(body["code"], "malformed_token");
        assert_eq!(body["detail"], detail);
    }
}
