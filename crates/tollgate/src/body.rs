//! The response bodies of tollgate's services: a layer answers in its inner service's body
//! type ([`RejectionBody`]), so a framework that unifies bodies finds its own type again and
//! boxes nothing; [`ResponseBody`] adapts any other body.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

/// A response body that a tollgate layer can build a rejection in.
///
/// The tollgate layers (and middleware built like them, such as `tollgate-session`'s CSRF
/// guard) answer in their inner service's body type: a request let through gets the inner
/// service's response unchanged, a refused one a body of this type made from the rejection's
/// bytes. axum's `Body::new` and tonic's `Body::new` then find their own type and box nothing
/// again.
///
/// Implemented for axum's body (feature `axum`), tonic's body (feature `tonic`),
/// [`http_body_util::Full<Bytes>`], and [`ResponseBody`], which wraps any other body: map
/// such an inner service's responses with [`ResponseBody::inner`] (for example with tower's
/// `map_response`).
pub trait RejectionBody {
    /// A body holding `bytes` (an empty body when `bytes` is empty).
    fn rejection(bytes: Bytes) -> Self;
}

#[cfg(feature = "axum")]
impl RejectionBody for axum_core::body::Body {
    fn rejection(bytes: Bytes) -> Self {
        Self::from(bytes)
    }
}

impl RejectionBody for http_body_util::Full<Bytes> {
    fn rejection(bytes: Bytes) -> Self {
        Self::new(bytes)
    }
}

#[cfg(feature = "tonic")]
impl RejectionBody for tonic::body::Body {
    fn rejection(bytes: Bytes) -> Self {
        // An empty body (a gRPC rejection, trailers-only) is tonic's empty body, not a box.
        Self::new(ResponseBody::<Self>::rejection(bytes))
    }
}

impl<B> RejectionBody for ResponseBody<B> {
    fn rejection(bytes: Bytes) -> Self {
        Self::rejection(bytes)
    }
}

pin_project! {
    /// A body that is either an inner service's body, or the bytes of a rejection: the
    /// [`RejectionBody`] of a service whose own body type is not one.
    ///
    /// It is a plain [`http_body::Body`].
    #[derive(Debug)]
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Rejection { bytes: Option<Bytes> },
    }
}

impl<B> ResponseBody<B> {
    /// The inner service's body, passed through.
    pub fn inner(body: B) -> Self {
        Self {
            kind: Kind::Inner { body },
        }
    }

    /// A refusal's bytes (an empty body when `bytes` is empty).
    pub fn rejection(bytes: Bytes) -> Self {
        let bytes = (!bytes.is_empty()).then_some(bytes);
        Self {
            kind: Kind::Rejection { bytes },
        }
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx),
            KindProj::Rejection { bytes } => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Rejection { bytes } => bytes.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Rejection { bytes } => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Debug;

    use http_body_util::{BodyExt, Full};

    use super::*;

    async fn collected<B>(body: B) -> (bool, Bytes)
    where
        B: Body<Data = Bytes>,
        B::Error: Debug,
    {
        let ended = body.is_end_stream();
        (ended, body.collect().await.unwrap().to_bytes())
    }

    /// Each body a rejection is built in holds exactly the rejection's bytes, and an empty
    /// rejection is an ended body.
    #[tokio::test]
    async fn every_rejection_body_holds_the_bytes() {
        let bytes = Bytes::from_static(br#"{"code":"expired"}"#);
        for bytes in [bytes, Bytes::new()] {
            let expected = (bytes.is_empty(), bytes.clone());
            assert_eq!(collected(Full::rejection(bytes.clone())).await, expected);
            assert_eq!(
                collected(ResponseBody::<Full<Bytes>>::rejection(bytes.clone())).await,
                expected
            );
            #[cfg(feature = "axum")]
            assert_eq!(
                collected(axum_core::body::Body::rejection(bytes.clone())).await,
                expected
            );
            #[cfg(feature = "tonic")]
            assert_eq!(
                collected(tonic::body::Body::rejection(bytes.clone())).await,
                expected
            );
        }
    }

    #[tokio::test]
    async fn an_inner_body_passes_through() {
        let body = ResponseBody::inner(Full::new(Bytes::from_static(b"inner")));
        assert_eq!(body.size_hint().exact(), Some(5));
        assert_eq!(collected(body).await, (false, Bytes::from_static(b"inner")));
    }
}
