//! Queries on `credentials`. The encrypted secret is read by one query only, `get_credential_secret`.

/// Free functions over `&Pool<Db>` for credentials; see [`crate::ops`] for what must be in scope.
macro_rules! credential_ops {
    () => {
        pub(crate) async fn create_credential(
            pool: &sqlx::Pool<Db>,
            c: &$crate::NewCredential,
        ) -> $crate::Result<tollgate_domain::routing::Credential> {
            let (ciphertext, nonce, reference) = match &c.secret {
                $crate::CredentialSecret::Encrypted { ciphertext, nonce } => {
                    (Some(ciphertext.as_slice()), Some(nonce.as_slice()), None)
                }
                $crate::CredentialSecret::Reference(r) => (None, None, Some(r.as_str())),
            };
            sqlx::query(
                "INSERT INTO credentials (id, name, provider, secret_ciphertext, secret_nonce, \
                 secret_ref, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
            )
            .bind(id_arg(c.id.0))
            .bind(&c.name)
            .bind(&c.provider)
            .bind(ciphertext)
            .bind(nonce)
            .bind(reference)
            .bind(c.now.0)
            .execute(pool)
            .await
            .map_err($crate::Error::unique(&[(
                "name",
                "a credential with this name already exists",
            )]))?;
            Ok(tollgate_domain::routing::Credential {
                id: c.id,
                name: c.name.clone(),
                provider: c.provider.clone(),
                reference: reference.map(str::to_owned),
                created_at: c.now,
                updated_at: c.now,
            })
        }

        pub(crate) async fn list_credentials(
            pool: &sqlx::Pool<Db>,
        ) -> $crate::Result<Vec<tollgate_domain::routing::Credential>> {
            sqlx::query(concat!(
                "SELECT ",
                $crate::rows::credential_cols!(),
                " FROM credentials ORDER BY name, id"
            ))
            .fetch_all(pool)
            .await
            .map_err($crate::Error::db)?
            .iter()
            .map($crate::rows::credential)
            .collect()
        }

        pub(crate) async fn get_credential_secret(
            pool: &sqlx::Pool<Db>,
            id: tollgate_domain::CredentialId,
        ) -> $crate::Result<$crate::CredentialSecret> {
            let row = sqlx::query(
                "SELECT secret_ciphertext, secret_nonce, secret_ref FROM credentials \
                 WHERE id = $1",
            )
            .bind(id_arg(id.0))
            .fetch_optional(pool)
            .await
            .map_err($crate::Error::db)?;
            $crate::rows::credential_secret(&row.ok_or($crate::Error::NotFound)?)
        }

        pub(crate) async fn delete_credential(
            pool: &sqlx::Pool<Db>,
            id: tollgate_domain::CredentialId,
        ) -> $crate::Result<()> {
            let done = sqlx::query("DELETE FROM credentials WHERE id = $1")
                .bind(id_arg(id.0))
                .execute(pool)
                .await
                .map_err($crate::Error::delete(
                    "the credential is still used by a deployment: change or remove it first",
                ))?;
            $crate::ops::one_row(done.rows_affected())
        }
    };
}
pub(crate) use credential_ops;
