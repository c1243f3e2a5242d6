//! The OpenAPI 3.1 document of the API, served at `GET /api/openapi.json`.
//!
//! The router is built from the handlers' `#[utoipa::path]` annotations (utoipa-axum's
//! [`routes!`](utoipa_axum::routes)): a route cannot be added without its path, method,
//! parameters, bodies and answers in the document. What a route's layers add — the bearer
//! scheme and its 401, the revocation check, the permission and its 403 — is added to the
//! document by the same functions that add the layers ([`token`], [`sensitive`],
//! [`permission`]), and [`document`] adds the answers every route shares.

use axum::{
    Extension,
    http::{HeaderValue, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use serde::Serialize;
use tollgate::{RequirePolicyLayer, RevocationLayer};
use utoipa::{
    OpenApi, ToResponse, ToSchema,
    openapi::{
        self, ContentBuilder, Header, Ref, RefOr, ResponseBuilder,
        path::{Operation, PathItem, Paths},
        schema::{Object, SchemaType, Type},
        security::{
            ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
        },
    },
};
use utoipa_axum::router::UtoipaMethodRouter;

use crate::{routes::browser::COOKIE_PATH, state::AppState, stores::Revocations};

/// The routes of one path, with their part of the document.
pub type Routes = UtoipaMethodRouter<AppState>;

/// The name of the bearer security scheme.
pub const BEARER: &str = "bearer";

/// The name of the refresh cookie's security scheme (the browser routes).
pub const REFRESH_COOKIE: &str = "refresh_cookie";

/// An RFC 9457 problem, as every error answer carries it (`application/problem+json`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's reason phrase.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// A human sentence (never a token).
    pub detail: String,
    /// A stable snake_case code to branch on (see the code table of the README).
    pub code: String,
    /// The missing permission (403 `insufficient_scope` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `false` (`POST /api/auth/token/verify` only: the token is not valid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid: Option<bool>,
}

/// `GET /health`'s answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
}

/// `POST /api/auth/token/verify`'s answer for a valid token.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verified {
    /// Always `true`.
    pub valid: bool,
    /// `access` or `refresh`.
    pub token_type: String,
    /// The token's expiry, in Unix seconds.
    pub exp: i64,
}

/// A shared problem answer, in `components/responses`.
pub trait Problematic: for<'r> ToResponse<'r> {
    /// Its status.
    const STATUS: u16;
}

/// The shared problem answers: a type each, with its status, description and headers.
macro_rules! problems {
    ($($(#[$doc:meta])* $name:ident = $status:literal, $description:literal, [$(($header:literal, $about:literal)),*];)*) => {
        $(
            $(#[$doc])*
            #[derive(Debug)]
            pub struct $name;

            impl<'r> ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<openapi::response::Response>) {
                    (stringify!($name), RefOr::T(problem($description, &[$(($header, $about)),*])))
                }
            }

            impl Problematic for $name {
                const STATUS: u16 = $status;
            }
        )*
    };
}

/// A problem answer's document.
fn problem(description: &str, headers: &[(&str, &str)]) -> openapi::response::Response {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/problem+json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build(),
    );
    for (header, about) in headers {
        let mut value = Header::new(Object::with_type(SchemaType::Type(Type::String)));
        value.description = Some((*about).to_owned());
        response = response.header(*header, value);
    }
    response.build()
}

problems! {
    /// 400.
    BadRequest = 400, "`bad_request`: malformed JSON, a missing field, a wrong type, `null` for a required field, a query that does not parse", [];
    /// 401 (with `WWW-Authenticate`).
    Unauthorized = 401, "No valid access token (`missing_token`, a verification code such as `token_expired`; on sensitive routes also `token_revoked`, `session_ended`, `token_cut_off`, `stale_claims`), or the route's own 401", [("www-authenticate", "`Bearer`, or `Bearer error=\"invalid_token\"`")];
    /// 403 `insufficient_scope`.
    Forbidden = 403, "`insufficient_scope`: the token does not grant the route's permission (`scope` names it)", [("www-authenticate", "`Bearer error=\"insufficient_scope\", scope=\"…\"`")];
    /// 403 `csrf`.
    Csrf = 403, "`csrf`: a cross-site request, refused before the cookie is read (an `Origin` that is neither the server's own nor one of `--allowed-origins`, or `Sec-Fetch-Site: cross-site` from such an origin)", [];
    /// 404.
    NotFound = 404, "`not_found`: no such resource (or one of another organization)", [];
    /// 408 (any route: the request was not received and answered in time).
    RequestTimeout = 408, "`request_timeout`: the request was not received and answered within `--request-timeout` of its head; the connection is closed", [];
    /// 409.
    Conflict = 409, "`conflict`: the username or the email is taken (`detail` says which)", [];
    /// 413.
    PayloadTooLarge = 413, "`payload_too_large`: a body over 2 MB", [];
    /// 415.
    UnsupportedMediaType = 415, "`unsupported_media_type`: a body that is not JSON", [];
    /// 422.
    Unprocessable = 422, "`validation_failed`: a well-formed value that breaks a rule (`detail` says which)", [];
    /// 429 (with `Retry-After`).
    TooManyRequests = 429, "`too_many_attempts`: past the login rate", [("retry-after", "Seconds to wait")];
    /// 500.
    InternalError = 500, "`internal_error`: a bug or an unexpected failure (the cause is logged, not sent)", [];
    /// 503 (with `Retry-After`).
    Unavailable = 503, "`unavailable` or `revocation_store_unavailable`: a store cannot answer; `busy`: the password hashing queue is full; `draining` (`/health` only): the instance is shutting down", [("retry-after", "Seconds to wait")];
}

/// The document's frame: info, the schemes, the shared problem answers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "crm",
        description = "A sample CRM API protected by tollgate. Every error is an RFC 9457 \
                       problem (`application/problem+json`) with a stable `code`; the README \
                       of examples/crm describes every route, code and flag."
    ),
    components(
        schemas(Problem),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            Csrf,
            NotFound,
            RequestTimeout,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType,
            Unprocessable,
            TooManyRequests,
            InternalError,
            Unavailable
        )
    ),
    modifiers(&Frame),
    tags(
        (name = "app", description = "The web app and the server's own documents"),
        (name = "auth", description = "Sign-up, tokens and the caller's account"),
        (name = "browser", description = "The web app's sign-in: the refresh token in an \
            HttpOnly cookie, every request checked by the CSRF guard"),
        (name = "customers", description = "The customers of the caller's organization"),
        (name = "admin", description = "The users of the caller's organization"),
    )
)]
#[derive(Debug)]
struct Frame;

impl utoipa::Modify for Frame {
    fn modify(&self, api: &mut openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".to_owned());
        bearer.description = Some(
            "An access token from register, login or refresh (never a refresh token)".to_owned(),
        );
        components
            .security_schemes
            .insert(BEARER.to_owned(), RefOr::T(SecurityScheme::Http(bearer)));
    }
}

/// The operations of a path item.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

/// Every operation of `paths`.
fn each_operation(paths: &mut Paths, mut change: impl FnMut(&str, &mut Operation)) {
    for (path, item) in &mut paths.paths {
        for operation in operations(item) {
            change(path, operation);
        }
    }
}

/// Add the shared problem answer `P` to `operation` (unless it already documents that
/// status).
fn answers<P: Problematic>(operation: &mut Operation) {
    let (name, _) = P::response();
    operation
        .responses
        .responses
        .entry(P::STATUS.to_string())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
}

/// Append `text` to the operation's description.
fn describe(operation: &mut Operation, text: &str) {
    let description = operation.description.get_or_insert_with(String::new);
    if !description.is_empty() {
        description.push_str("\n\n");
    }
    description.push_str(text);
}

/// Routes behind the access token check (`VerifyLayer`, added on the whole protected router):
/// the bearer scheme and its 401.
pub fn token((schemas, mut paths, router): Routes) -> Routes {
    each_operation(&mut paths, |_, operation| {
        operation.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
        answers::<Unauthorized>(operation);
    });
    (schemas, paths, router)
}

/// Sensitive routes: behind `layer`, the revocation check (401 for a revoked token, an ended
/// session, a cut-off or stale claims; 503 when the store cannot answer and failures are
/// closed).
pub fn sensitive(
    (schemas, mut paths, router): Routes,
    layer: &RevocationLayer<Revocations>,
) -> Routes {
    each_operation(&mut paths, |_, operation| {
        describe(
            operation,
            "**Sensitive**: the revocation store is asked on every request (a revoked token, an \
             ended session, a cut-off user or stale claims is a 401).",
        );
        answers::<Unauthorized>(operation);
        answers::<Unavailable>(operation);
    });
    (schemas, paths, router.route_layer(layer.clone()))
}

/// Routes behind `layer`, the permission `permission` (403 `insufficient_scope` without it).
pub fn permission(
    (schemas, mut paths, router): Routes,
    layer: &RequirePolicyLayer,
    permission: &str,
) -> Routes {
    each_operation(&mut paths, |_, operation| {
        describe(
            operation,
            &format!("Requires the permission `{permission}`."),
        );
        answers::<Forbidden>(operation);
    });
    (schemas, paths, router.route_layer(layer.clone()))
}

/// The whole document: the frame, the routes' paths (`paths`), the refresh cookie's scheme
/// (its name is `cookie`), the answers every route shares (400, 413 and 415 where a body
/// is read, 503 where a store is asked, 408 and 500 everywhere), and the `x-request-id` of
/// every answer.
#[must_use]
pub fn document(paths: openapi::OpenApi, cookie: &str) -> openapi::OpenApi {
    let mut api = Frame::openapi();
    api.merge(paths);
    let mut scheme = ApiKeyValue::new(cookie);
    scheme.description = Some(format!(
        "The refresh token in an HttpOnly, Secure, SameSite=Strict cookie scoped to \
         `{COOKIE_PATH}`, set by the browser register and login routes and rotated by the \
         browser refresh route. The browser routes also pass the CSRF guard: a request whose \
         `Origin` is neither the server's own nor one of `--allowed-origins`, or whose \
         `Sec-Fetch-Site` is `cross-site` from such an origin, is a 403 `csrf`."
    ));
    api.components
        .get_or_insert_with(Default::default)
        .security_schemes
        .insert(
            REFRESH_COOKIE.to_owned(),
            RefOr::T(SecurityScheme::ApiKey(ApiKey::Cookie(scheme))),
        );
    each_operation(&mut api.paths, |path, operation| {
        if operation.request_body.is_some() {
            answers::<BadRequest>(operation);
            answers::<PayloadTooLarge>(operation);
            answers::<UnsupportedMediaType>(operation);
        }
        if path == "/health" || (path.starts_with("/api/") && path != "/api/openapi.json") {
            answers::<Unavailable>(operation);
        }
        answers::<RequestTimeout>(operation);
        answers::<InternalError>(operation);
    });
    request_id(&mut api);
    api
}

/// The name of the `x-request-id` header in `components/headers`.
pub const REQUEST_ID: &str = "RequestId";

/// Every answer's `x-request-id`: described once in `components/headers`, referenced from
/// each answer (the routes' own and the shared problem answers).
fn request_id(api: &mut openapi::OpenApi) {
    let mut header = Header::new(Object::with_type(SchemaType::Type(Type::String)));
    header.description = Some(
        "The request's id, on every answer: the caller's `x-request-id` when it is 1 to 64 \
         characters of `A-Z a-z 0-9 . _ : -`, else a new random UUID. Log lines of the \
         request carry it."
            .to_owned(),
    );
    let reference = RefOr::Ref(Ref::new(format!("#/components/headers/{REQUEST_ID}")));
    let components = api.components.get_or_insert_with(Default::default);
    components
        .headers
        .insert(REQUEST_ID.to_owned(), RefOr::T(header));
    let shared = components.responses.values_mut();
    let mut routes = Vec::new();
    for item in api.paths.paths.values_mut() {
        for operation in operations(item) {
            routes.extend(operation.responses.responses.values_mut());
        }
    }
    for response in shared.chain(routes) {
        if let RefOr::T(response) = response {
            response
                .headers
                .insert(crate::REQUEST_ID.to_string(), reference.clone());
        }
    }
}

/// The serialized document, as `GET /api/openapi.json` serves it.
#[derive(Debug, Clone)]
pub struct Document(Bytes);

impl Document {
    /// Serialize `api` once.
    #[must_use]
    pub fn new(api: &openapi::OpenApi) -> Self {
        Self(Bytes::from(serde_json::to_vec(api).unwrap_or_default()))
    }
}

/// `GET /api/openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    operation_id = "openapi",
    tag = "app",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API", body = serde_json::Value)
    )
)]
pub async fn json(Extension(document): Extension<Document>) -> Response {
    let mut response = document.0.into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
