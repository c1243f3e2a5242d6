//! `/api/customers`: the customers of the caller's organization.

use axum::{
    Json,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::{HeaderValue, StatusCode, header::LOCATION},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use super::{Caller, PageQuery, page};
use crate::{
    db::{CustomerFields, Db},
    error::{ApiError, JsonBody},
    openapi::{BadRequest, NotFound, Unprocessable},
    validate,
    views::CustomerView,
};

const NAME_MAX: usize = 200;
const PHONE_MAX: usize = 50;
const COMPANY_MAX: usize = 200;
const NOTES_MAX: usize = 10_000;

/// `GET /api/customers?limit=&offset=`: the customers of the caller's organization, oldest
/// first; `X-Total-Count` carries how many there are.
#[utoipa::path(
    get,
    path = "/api/customers",
    operation_id = "list_customers",
    tag = "customers",
    params(PageQuery),
    responses(
        (status = 200, description = "The customers, oldest first", body = Vec<CustomerView>,
            headers(("x-total-count" = i64, description = "How many customers the organization has"))),
        (status = 400, response = BadRequest),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn list(
    State(db): State<Db>,
    caller: Caller,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let page = page(query)?;
    let organization = caller.organization_id();
    let customers = db.customers(organization, page).await?;
    let total = db.count_customers(organization).await?;
    let body: Vec<CustomerView> = customers.into_iter().map(CustomerView::from).collect();
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert("x-total-count", HeaderValue::from(total));
    Ok(response)
}

/// `POST /api/customers` body.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = CustomerCreateBody)]
pub struct CreateBody {
    /// 1 to 200 characters, after trimming.
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// An email (empty: none).
    #[serde(default)]
    #[schema(max_length = 254)]
    email: Option<String>,
    /// At most 50 characters (empty: none).
    #[serde(default)]
    #[schema(max_length = 50)]
    phone: Option<String>,
    /// At most 200 characters (empty: none).
    #[serde(default)]
    #[schema(max_length = 200)]
    company: Option<String>,
    /// At most 10 000 characters (empty: none).
    #[serde(default)]
    #[schema(max_length = 10000)]
    notes: Option<String>,
}

fn optional_email(email: Option<&str>) -> Result<Option<String>, ApiError> {
    match email.map(str::trim).filter(|email| !email.is_empty()) {
        None => Ok(None),
        Some(email) => validate::email(email)
            .map(Some)
            .map_err(ApiError::unprocessable),
    }
}

fn optional(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, ApiError> {
    validate::optional(field, value, max).map_err(ApiError::unprocessable)
}

/// `POST /api/customers`: 201 with the customer and its `Location`.
#[utoipa::path(
    post,
    path = "/api/customers",
    operation_id = "create_customer",
    tag = "customers",
    request_body = CreateBody,
    responses(
        (status = 201, description = "The new customer", body = CustomerView,
            headers(("location" = String, description = "`/api/customers/{id}`")),
            links(
                ("GetCustomer" = (operation_id = "get_customer", parameters(("id" = "$response.body#/id")))),
                ("UpdateCustomer" = (operation_id = "update_customer", parameters(("id" = "$response.body#/id")))),
                ("DeleteCustomer" = (operation_id = "delete_customer", parameters(("id" = "$response.body#/id")))),
            )),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn create(
    State(db): State<Db>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<Response, ApiError> {
    let fields = CustomerFields {
        name: validate::required("name", &body.name, NAME_MAX).map_err(ApiError::unprocessable)?,
        email: optional_email(body.email.as_deref())?,
        phone: optional("phone", body.phone.as_deref(), PHONE_MAX)?,
        company: optional("company", body.company.as_deref(), COMPANY_MAX)?,
        notes: optional("notes", body.notes.as_deref(), NOTES_MAX)?,
    };
    let customer = db
        .create_customer(caller.organization_id(), &fields)
        .await?;
    let location = HeaderValue::try_from(format!("/api/customers/{}", customer.id))
        .map_err(|error| ApiError::internal(&error))?;
    Ok((
        StatusCode::CREATED,
        [(LOCATION, location)],
        Json(CustomerView::from(customer)),
    )
        .into_response())
}

/// `GET /api/customers/{id}`: 404 for an unknown id or another organization's customer.
#[utoipa::path(
    get,
    path = "/api/customers/{id}",
    operation_id = "get_customer",
    tag = "customers",
    params(("id" = String, Path, description = "The customer id")),
    responses(
        (status = 200, description = "The customer", body = CustomerView),
        (status = 404, response = NotFound),
    )
)]
pub async fn get(
    State(db): State<Db>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CustomerView>, ApiError> {
    let customer = db
        .customer(&id, caller.scope())
        .await?
        .ok_or_else(|| ApiError::not_found("customer"))?;
    Ok(Json(customer.into()))
}

/// `PATCH /api/customers/{id}` body: each field absent (unchanged), a value, or `null`
/// (cleared; `name` cannot be cleared).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = CustomerPatchBody)]
pub struct PatchBody {
    /// A new name (not `null`), 1 to 200 characters after trimming.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 200)]
    name: Change,
    /// A new email, or `null` to clear it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    email: Change,
    /// A new phone, or `null` to clear it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    phone: Change,
    /// A new company, or `null` to clear it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    company: Change,
    /// New notes, or `null` to clear them.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    notes: Change,
}

/// What a `PATCH` body says about one field.
#[derive(Debug, Default)]
enum Change {
    /// Absent: unchanged.
    #[default]
    Keep,
    /// `null`: cleared.
    Clear,
    /// A value.
    Set(String),
}

impl<'de> Deserialize<'de> for Change {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Only called for a present member: `null` or a string.
        Ok(match Option::<String>::deserialize(deserializer)? {
            None => Self::Clear,
            Some(value) => Self::Set(value),
        })
    }
}

impl Change {
    /// The same change with its value validated (an empty value clears).
    fn validated(
        self,
        validate: impl FnOnce(Option<&str>) -> Result<Option<String>, ApiError>,
    ) -> Result<Self, ApiError> {
        match self {
            Self::Set(value) => Ok(validate(Some(&value))?.map_or(Self::Clear, Self::Set)),
            other => Ok(other),
        }
    }

    /// Apply it to an optional field.
    fn apply(self, field: &mut Option<String>) {
        match self {
            Self::Keep => {}
            Self::Clear => *field = None,
            Self::Set(value) => *field = Some(value),
        }
    }
}

/// `PATCH /api/customers/{id}`: change the fields given.
#[utoipa::path(
    patch,
    path = "/api/customers/{id}",
    operation_id = "update_customer",
    tag = "customers",
    params(("id" = String, Path, description = "The customer id")),
    request_body = PatchBody,
    responses(
        (status = 200, description = "The customer as changed", body = CustomerView),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn update(
    State(db): State<Db>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PatchBody>,
) -> Result<Json<CustomerView>, ApiError> {
    let name = match body.name {
        Change::Keep => None,
        Change::Clear => {
            return Err(ApiError::bad_request(
                "invalid request body: `name` cannot be null",
            ));
        }
        Change::Set(name) => {
            Some(validate::required("name", &name, NAME_MAX).map_err(ApiError::unprocessable)?)
        }
    };
    let email = body.email.validated(optional_email)?;
    let phone = body
        .phone
        .validated(|phone| optional("phone", phone, PHONE_MAX))?;
    let company = body
        .company
        .validated(|company| optional("company", company, COMPANY_MAX))?;
    let notes = body
        .notes
        .validated(|notes| optional("notes", notes, NOTES_MAX))?;

    let scope = caller.scope();
    let current = db
        .customer(&id, scope)
        .await?
        .ok_or_else(|| ApiError::not_found("customer"))?;
    let mut fields = current.fields;
    if let Some(name) = name {
        fields.name = name;
    }
    email.apply(&mut fields.email);
    phone.apply(&mut fields.phone);
    company.apply(&mut fields.company);
    notes.apply(&mut fields.notes);
    let customer = db
        .update_customer(&id, scope, &fields)
        .await?
        .ok_or_else(|| ApiError::not_found("customer"))?;
    Ok(Json(customer.into()))
}

/// `DELETE /api/customers/{id}` (sensitive).
#[utoipa::path(
    delete,
    path = "/api/customers/{id}",
    operation_id = "delete_customer",
    tag = "customers",
    params(("id" = String, Path, description = "The customer id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, response = NotFound),
    )
)]
pub async fn delete(
    State(db): State<Db>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if db.delete_customer(&id, caller.scope()).await? {
        tracing::info!(user = %caller.user_id(), customer = %id, "customer deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("customer"))
    }
}
