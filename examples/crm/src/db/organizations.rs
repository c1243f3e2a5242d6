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
}
