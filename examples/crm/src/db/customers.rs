//! `crm_customers`.

use sqlx::Row;

use super::{Db, Page, new_id, unix_now};

impl Db {
    /// The customers of `organization_id`, oldest first.
    pub async fn customers(
        &self,
        organization_id: &str,
        page: Page,
    ) -> Result<Vec<Customer>, sqlx::Error> {
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM crm_customers WHERE organization_id = $1 \
             ORDER BY created_at, id LIMIT $2 OFFSET $3"
        );
        on_db!(self, pool => {
            let rows = sqlx::query(&sql)
                .bind(organization_id)
                .bind(page.limit)
                .bind(page.offset)
                .fetch_all(pool)
                .await?;
            rows.iter().map(customer_from).collect()
        })
    }

    /// How many customers `organization_id` has.
    pub async fn count_customers(&self, organization_id: &str) -> Result<i64, sqlx::Error> {
        on_db!(self, pool => {
            let row = sqlx::query("SELECT COUNT(*) AS n FROM crm_customers WHERE organization_id = $1")
                .bind(organization_id)
                .fetch_one(pool)
                .await?;
            row.try_get::<i64, _>("n")
        })
    }

    /// The customer `id`, within `organization_id` unless `None` (a superuser).
    pub async fn customer(
        &self,
        id: &str,
        organization_id: Option<&str>,
    ) -> Result<Option<Customer>, sqlx::Error> {
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM crm_customers WHERE id = $1 \
             AND ($2 IS NULL OR organization_id = $2)"
        );
        on_db!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(id)
                .bind(organization_id)
                .fetch_optional(pool)
                .await?;
            row.map(|row| customer_from(&row)).transpose()
        })
    }

    /// Create a customer.
    pub async fn create_customer(
        &self,
        organization_id: &str,
        fields: &CustomerFields,
    ) -> Result<Customer, sqlx::Error> {
        let sql = format!(
            "INSERT INTO crm_customers (id, organization_id, name, email, phone, company, notes, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
             RETURNING {CUSTOMER_COLUMNS}"
        );
        on_db!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(new_id()?)
                .bind(organization_id)
                .bind(&fields.name)
                .bind(&fields.email)
                .bind(&fields.phone)
                .bind(&fields.company)
                .bind(&fields.notes)
                .bind(unix_now())
                .fetch_one(pool)
                .await?;
            customer_from(&row)
        })
    }

    /// Replace the fields of customer `id` (within `organization_id` unless `None`).
    pub async fn update_customer(
        &self,
        id: &str,
        organization_id: Option<&str>,
        fields: &CustomerFields,
    ) -> Result<Option<Customer>, sqlx::Error> {
        let sql = format!(
            "UPDATE crm_customers SET name = $1, email = $2, phone = $3, company = $4, notes = $5, \
             updated_at = $6 WHERE id = $7 AND ($8 IS NULL OR organization_id = $8) \
             RETURNING {CUSTOMER_COLUMNS}"
        );
        on_db!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(&fields.name)
                .bind(&fields.email)
                .bind(&fields.phone)
                .bind(&fields.company)
                .bind(&fields.notes)
                .bind(unix_now())
                .bind(id)
                .bind(organization_id)
                .fetch_optional(pool)
                .await?;
            row.map(|row| customer_from(&row)).transpose()
        })
    }

    /// Delete customer `id` (within `organization_id` unless `None`). Returns whether it
    /// existed.
    pub async fn delete_customer(
        &self,
        id: &str,
        organization_id: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        on_db!(self, pool => {
            let done = sqlx::query("DELETE FROM crm_customers WHERE id = $1 AND ($2 IS NULL OR organization_id = $2)")
                .bind(id)
                .bind(organization_id)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() > 0)
        })
    }
}

const CUSTOMER_COLUMNS: &str =
    "id, organization_id, name, email, phone, company, notes, created_at, updated_at";

/// A customer row.
#[derive(Debug, Clone)]
pub struct Customer {
    /// Id.
    pub id: String,
    /// Organization id.
    pub organization_id: String,
    /// Customer fields.
    pub fields: CustomerFields,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// The editable fields of a customer.
#[derive(Debug, Clone, Default)]
pub struct CustomerFields {
    /// Name (required).
    pub name: String,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Notes.
    pub notes: Option<String>,
}

fn customer_from<R>(row: &R) -> Result<Customer, sqlx::Error>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Customer {
        id: row.try_get("id")?,
        organization_id: row.try_get("organization_id")?,
        fields: CustomerFields {
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            phone: row.try_get("phone")?,
            company: row.try_get("company")?,
            notes: row.try_get("notes")?,
        },
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
