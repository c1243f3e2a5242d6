//! The gRPC example: a tonic customer service behind tollgate's three layers.
//!
//! Run with
//!
//! ```not_rust
//! cargo run -p grpc --bin grpc-server -- --jwt-secret "$CRM_JWT_SECRET"
//! cargo run -p grpc --bin grpc-client -- --token "$TOKEN" list
//! ```
//!
//! Every call is verified ([`VerifyLayer`]); `List` and `Get` need `customer:read`; `Delete`
//! needs `customer:delete` and also checks revocation: the hybrid, where only the sensitive
//! method pays for a store look-up. See [`app`] for the stack and [`RpcRouter`] for how each
//! method gets its own layers.

pub mod proto {
    //! The code generated from `proto/customers.proto`: messages, the
    //! [`customers_server`] and the [`customers_client`].
    #![allow(missing_docs, unreachable_pub, clippy::pedantic)]

    tonic::include_proto!("tollgate.examples.customers.v1");
}

mod directory;
#[cfg(doctest)]
mod doctests;
mod kid;
mod router;

pub use directory::Directory;
pub use kid::crm_hs256_kid;
pub use router::RpcRouter;

use tollgate::{
    ConfigError, RequirePolicyLayer, RevocationLayer, VerifyLayer,
    policy::{Authorizer, Policy},
    revocation::RevocationStore,
    verify::Verifier,
    verify::Verify,
};
use tower::ServiceBuilder;

use crate::proto::customers_server::CustomersServer;

/// The full path of `Customers/List`.
pub const LIST: &str = "/tollgate.examples.customers.v1.Customers/List";
/// The full path of `Customers/Get`.
pub const GET: &str = "/tollgate.examples.customers.v1.Customers/Get";
/// The full path of `Customers/Delete`, the sensitive method.
pub const DELETE: &str = "/tollgate.examples.customers.v1.Customers/Delete";

/// The whole service, ready for `tonic::transport::Server::serve*`: verification in front of
/// an [`RpcRouter`] that gives each method its own layers.
///
/// `verifier` checks every call's token; `revocation` (with its store and failure policy)
/// guards `Delete` only; `directory` holds the customers. Permissions come from the token's
/// `perms` claim, as the CRM writes them.
///
/// ```text
/// VerifyLayer                                   every call: a valid token, or UNAUTHENTICATED
///   └─ RpcRouter (by path)
///        ├─ List, Get:  RequirePolicyLayer(customer:read)                        → Customers
///        ├─ Delete:     RevocationLayer → RequirePolicyLayer(customer:delete)    → Customers
///        └─ anything else: UNIMPLEMENTED, without reaching the service
/// ```
///
/// # Errors
///
/// Never with the permissions this example uses; the `Result` is the one
/// [`Policy::permission`] returns for a malformed permission.
pub fn app<St>(
    verifier: Verifier,
    revocation: RevocationLayer<St>,
    directory: Directory,
) -> Result<Verify<RpcRouter>, ConfigError>
where
    St: RevocationStore,
{
    let authorizer = Authorizer::new();
    let customers = CustomersServer::new(directory);

    let read = ServiceBuilder::new()
        .layer(RequirePolicyLayer::new(
            &authorizer,
            Policy::permission("customer:read")?,
        ))
        .service(customers.clone());
    let delete = ServiceBuilder::new()
        .layer(revocation)
        .layer(RequirePolicyLayer::new(
            &authorizer,
            Policy::permission("customer:delete")?,
        ))
        .service(customers);

    let router = RpcRouter::new()
        .route(LIST, read.clone())
        .route(GET, read)
        .route(DELETE, delete);
    Ok(ServiceBuilder::new()
        .layer(VerifyLayer::new(verifier))
        .service(router))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::customers_server::SERVICE_NAME;

    #[test]
    fn paths_name_the_generated_service() {
        for (path, method) in [(LIST, "List"), (GET, "Get"), (DELETE, "Delete")] {
            assert_eq!(path, format!("/{SERVICE_NAME}/{method}"));
        }
    }
}
