//! Test support: an issuer minting CRM-shaped access tokens, the real server on loopback,
//! and a real tonic client.

use std::{
    net::SocketAddr,
    time::{SystemTime, UNIX_EPOCH},
};

use grpc::{
    Directory, app,
    proto::{Customer, DeleteRequest, GetRequest, ListRequest, customers_client::CustomersClient},
};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use tollgate::{
    RevocationLayer, key::Algorithm, key::Key, revocation::RevocationStore, verify::TrustedIssuer,
    verify::Verifier,
};
use tonic::{
    Status,
    metadata::AsciiMetadataValue,
    transport::{Channel, Server, server::TcpIncoming},
};

/// The shared HS256 secret (what `CRM_JWT_SECRET` would hold).
pub(crate) const SECRET: &[u8] = b"a test secret of at least thirty-two bytes";
/// The `kid` the CRM puts into its tokens' header.
pub(crate) const KID: &str = "crm-hs256";

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

/// The claims of a CRM access token for user 7 of organization `org` with `perms`.
pub(crate) fn claims(jti: &str, org: &str, perms: &[&str]) -> Value {
    let now = now();
    json!({
        "iss": "crm",
        "aud": "crm-api",
        "sub": "7",
        "jti": jti,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "sid": format!("session-of-{jti}"),
        "org": org,
        "roles": ["sales"],
        "perms": perms,
        "ver": 1,
        "token_type": "access",
    })
}

/// Sign `claims` as the CRM does: HS256, `typ: at+jwt`, `kid`.
pub(crate) fn sign(claims: &Value) -> String {
    sign_with(claims, "at+jwt", KID, SECRET)
}

pub(crate) fn sign_with(claims: &Value, typ: &str, kid: &str, secret: &[u8]) -> String {
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.typ = Some(typ.to_owned());
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

/// The verifier of the server, configured as `grpc-server --jwt-secret .. --jwt-kid ..`.
pub(crate) fn verifier() -> Verifier {
    let key = Key::hmac(Algorithm::HS256, SECRET).unwrap().with_kid(KID);
    Verifier::new(TrustedIssuer::new("crm", key).add_audience("crm-api"))
        .header_typ("at+jwt")
        .unwrap()
        .token_type_claim("access")
        .unwrap()
}

/// Start the real service on 127.0.0.1:0 with `revocation` on Delete; its address.
pub(crate) async fn serve<St: RevocationStore>(revocation: RevocationLayer<St>) -> SocketAddr {
    let service = app(verifier(), revocation, Directory::demo()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        Server::builder()
            .serve_with_incoming(service, TcpIncoming::from(listener))
            .await
            .unwrap();
    });
    addr
}

/// A real tonic client of the service at `addr`.
pub(crate) struct Client {
    inner: CustomersClient<Channel>,
    pub(crate) channel: Channel,
}

impl Client {
    pub(crate) async fn connect(addr: SocketAddr) -> Self {
        let channel = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        Self {
            inner: CustomersClient::new(channel.clone()),
            channel,
        }
    }

    pub(crate) async fn list(&mut self, token: Option<&str>) -> Result<Vec<Customer>, Status> {
        let request = ListRequest {
            limit: 0,
            offset: 0,
        };
        self.inner
            .list(authorized(request, token))
            .await
            .map(|response| response.into_inner().customers)
    }

    pub(crate) async fn get(&mut self, token: Option<&str>, id: i64) -> Result<Customer, Status> {
        self.inner
            .get(authorized(GetRequest { id }, token))
            .await
            .map(tonic::Response::into_inner)
    }

    pub(crate) async fn delete(&mut self, token: Option<&str>, id: i64) -> Result<(), Status> {
        self.inner
            .delete(authorized(DeleteRequest { id }, token))
            .await
            .map(|_| ())
    }
}

/// `message` with `authorization: Bearer <token>` (sensitive) when there is a token.
pub(crate) fn authorized<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(token) = token {
        let mut value = AsciiMetadataValue::try_from(format!("Bearer {token}")).unwrap();
        value.set_sensitive(true);
        request.metadata_mut().insert("authorization", value);
    }
    request
}
