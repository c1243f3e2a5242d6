//! tonic integration: rejections as [`tonic::Status`].
//!
//! The layers themselves answer gRPC requests with trailers-only responses (see
//! [`DefaultResponder`](crate::response::DefaultResponder)); this conversion is for code that
//! verifies or checks policies inside a tonic handler. Claims put in the request extensions
//! by `VerifyLayer` are read with `request.extensions().get::<Claims<C>>()`.

use http::StatusCode;

use crate::error::AuthError;

impl From<AuthError> for tonic::Status {
    fn from(error: AuthError) -> Self {
        let message = error.kind().description();
        match error.status() {
            StatusCode::FORBIDDEN => Self::permission_denied(message),
            StatusCode::SERVICE_UNAVAILABLE => Self::unavailable(message),
            _ => Self::unauthenticated(message),
        }
    }
}
