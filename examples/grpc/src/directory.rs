//! [`Directory`]: the in-memory customer store behind the service.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, PoisonError},
};

use tollgate::{Claims, StandardClaims};
use tonic::{Request, Response, Status};

use crate::proto::{
    Customer, DeleteRequest, DeleteResponse, GetRequest, ListRequest, ListResponse,
    customers_server::Customers,
};

/// How many customers `List` returns when the request sets no limit.
const DEFAULT_LIMIT: usize = 50;
/// The most customers one `List` returns.
const MAX_LIMIT: usize = 100;

/// The demo customers every organization starts with: (name, email, phone, company).
const DEMO: [(&str, &str, &str, &str); 5] = [
    (
        "Ada Lovelace",
        "ada@example.com",
        "+44 20 7946 0001",
        "Analytical Engines",
    ),
    (
        "Grace Hopper",
        "grace@example.com",
        "+1 202 555 0102",
        "Compilers Inc",
    ),
    (
        "Alan Turing",
        "alan@example.com",
        "+44 20 7946 0003",
        "Bletchley Park",
    ),
    (
        "Katherine Johnson",
        "katherine@example.com",
        "+1 757 555 0104",
        "Langley",
    ),
    (
        "Edsger Dijkstra",
        "edsger@example.com",
        "+31 20 555 0105",
        "Mathematisch Centrum",
    ),
];

/// The customer service: an in-memory map of customers per organization.
///
/// Each call works on the customers of the organization named by the caller's token (its
/// `org` claim, read from the `Claims<StandardClaims>` that tollgate's verify layer put into
/// the request extensions); tokens without `org` share one organization with an empty id. An
/// organization is seeded with the same demo customers (ids 1 to 5) the first time it is
/// used, so deleting in one organization leaves the others as they were. Nothing survives a
/// restart.
///
/// The service does no authorization of its own: the layers in front of it do (see
/// [`app`](crate::app)). A call that reaches it without verified claims (a server built
/// without the verify layer) is answered `UNAUTHENTICATED`.
///
/// Cloning is cheap: clones share the map.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    organizations: Arc<Mutex<HashMap<String, BTreeMap<i64, Customer>>>>,
}

impl Directory {
    /// A directory where each organization starts with five demo customers.
    #[must_use]
    pub fn demo() -> Self {
        Self::default()
    }

    /// Run `f` on the customers of `org`, seeding them first if `org` is new.
    fn with_org<T>(&self, org: &str, f: impl FnOnce(&mut BTreeMap<i64, Customer>) -> T) -> T {
        // No call panics while holding the lock; if one did, the map is still consistent.
        let mut organizations = self
            .organizations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let customers = organizations
            .entry(org.to_owned())
            .or_insert_with(|| seed(org));
        f(customers)
    }
}

fn seed(org: &str) -> BTreeMap<i64, Customer> {
    (1..)
        .zip(DEMO)
        .map(|(id, (name, email, phone, company))| {
            let customer = Customer {
                id,
                organization_id: org.to_owned(),
                name: name.to_owned(),
                email: email.to_owned(),
                phone: phone.to_owned(),
                company: company.to_owned(),
            };
            (id, customer)
        })
        .collect()
}

/// The caller's organization, from the claims the verify layer inserted.
fn organization<T>(request: &Request<T>) -> Result<String, Status> {
    request
        .extensions()
        .get::<Claims<StandardClaims>>()
        .map(|claims| claims.org.as_deref().unwrap_or_default().to_owned())
        .ok_or_else(|| Status::unauthenticated("no verified token"))
}

#[tonic::async_trait]
impl Customers for Directory {
    async fn list(&self, request: Request<ListRequest>) -> Result<Response<ListResponse>, Status> {
        let org = organization(&request)?;
        let ListRequest { limit, offset } = request.into_inner();
        let limit = match usize::try_from(limit) {
            Ok(0) => DEFAULT_LIMIT,
            Ok(limit) => limit.min(MAX_LIMIT),
            Err(_) => MAX_LIMIT,
        };
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        let customers = self.with_org(&org, |customers| {
            customers
                .values()
                .skip(offset)
                .take(limit)
                .cloned()
                .collect()
        });
        Ok(Response::new(ListResponse { customers }))
    }

    async fn get(&self, request: Request<GetRequest>) -> Result<Response<Customer>, Status> {
        let org = organization(&request)?;
        let id = request.get_ref().id;
        self.with_org(&org, |customers| customers.get(&id).cloned())
            .map(Response::new)
            .ok_or_else(|| Status::not_found(format!("no customer {id}")))
    }

    async fn delete(
        &self,
        request: Request<DeleteRequest>,
    ) -> Result<Response<DeleteResponse>, Status> {
        let org = organization(&request)?;
        let id = request.get_ref().id;
        self.with_org(&org, |customers| customers.remove(&id))
            .map(|_| Response::new(DeleteResponse {}))
            .ok_or_else(|| Status::not_found(format!("no customer {id}")))
    }
}
