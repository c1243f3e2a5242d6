//! `crm_organizations`: an organization is created with its first user.

use super::{
    Db, new_id, unix_now,
    users::{INSERT_USER, NewUser, User, user_from},
};
use crate::roles;

impl Db {
    /// Create an organization and its first user in one transaction.
    pub async fn create_organization_with_user(
        &self,
        organization: &str,
        user: &NewUser,
    ) -> Result<User, sqlx::Error> {
        let org_id = new_id()?;
        let now = unix_now();
        on_db!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO crm_organizations (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(&org_id)
                .bind(organization)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let row = sqlx::query(INSERT_USER)
                .bind(new_id()?)
                .bind(&org_id)
                .bind(&user.username)
                .bind(&user.email)
                .bind(&user.password_hash)
                .bind(roles::to_column(&user.roles))
                .bind(user.is_superuser)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let user = user_from(&row)?;
            tx.commit().await?;
            Ok(user)
        })
    }

    /// Delete the organization `organization_id` and its user `user_id`, in one
    /// transaction: the undoing of [`create_organization_with_user`](Self::create_organization_with_user).
    pub async fn delete_organization_with_user(
        &self,
        organization_id: &str,
        user_id: &str,
    ) -> Result<(), sqlx::Error> {
        on_db!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM crm_users WHERE id = $1 AND organization_id = $2")
                .bind(user_id)
                .bind(organization_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM crm_organizations WHERE id = $1")
                .bind(organization_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })
    }
}
