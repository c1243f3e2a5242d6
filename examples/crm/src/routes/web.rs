//! `GET /` and `/assets/*`: the web app, embedded in the binary (plain HTML, CSS and
//! JavaScript modules: nothing to build or install).
//!
//! Every answer carries a Content-Security-Policy that allows scripts and styles from this
//! origin only (no inline script, no `eval`), and `X-Frame-Options: DENY`: the page holds an
//! access token in memory, so nothing foreign may run in it or frame it.

use axum::{
    extract::Path,
    http::{
        HeaderName, HeaderValue,
        header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_FRAME_OPTIONS},
    },
    response::{IntoResponse, Response},
};

use crate::{error::ApiError, openapi::NotFound};

const INDEX: &str = include_str!("../../assets/index.html");

/// The embedded assets: name, content type, content.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/app.js"),
    ),
    (
        "auth.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/auth.js"),
    ),
    (
        "errors.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/errors.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/app.css"),
    ),
];

const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                      img-src 'self' data:; connect-src 'self'; object-src 'none'; \
                      base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

fn page(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("same-origin"),
    );
    // The assets change with the binary: revalidate rather than keep a stale app.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /`: the app's page.
#[utoipa::path(
    get,
    path = "/",
    operation_id = "web_app",
    tag = "app",
    responses(
        (status = 200, description = "The web app's page", body = String, content_type = "text/html"),
    )
)]
pub async fn index() -> Response {
    page("text/html; charset=utf-8", INDEX)
}

/// `GET /assets/{name}`: a script or the style sheet; 404 for any other name.
#[utoipa::path(
    get,
    path = "/assets/{name}",
    operation_id = "web_asset",
    tag = "app",
    params(("name" = String, Path, description = "`app.js`, `auth.js`, `errors.js` or `app.css`")),
    responses(
        (status = 200, description = "The script or style sheet", content(
            (String = "text/javascript"),
            (String = "text/css"),
        )),
        (status = 404, response = NotFound),
    )
)]
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(asset, _, _)| *asset == name) {
        Some((_, content_type, body)) => page(content_type, body),
        None => ApiError::not_found("asset").into_response(),
    }
}
