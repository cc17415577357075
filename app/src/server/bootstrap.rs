//! The first admin: created on first start when there are no users at all.

use super::audit::{self, Change};
use super::passwords;
use crate::error::AppError;
use secrecy::{ExposeSecret, SecretString};
use tollgate_domain::authz::GlobalRole;
use tollgate_domain::keys::random_base62;
use tollgate_domain::validate;
use tollgate_domain::{Timestamp, UserId};
use tollgate_store::{NewUser, Store};

pub const DEFAULT_ADMIN_EMAIL: &str = "admin@localhost";

/// What bootstrapping did. The one-time password is returned only to be printed once.
pub enum Bootstrap {
    /// Users exist already; nothing was done.
    NotNeeded,
    /// The configured admin was created.
    FromConfig { email: String },
    /// `admin@localhost` was created with this one-time password, to be changed at first sign-in.
    OneTime {
        email: String,
        password: SecretString,
    },
}

pub async fn ensure_admin(
    store: &dyn Store,
    email: Option<&str>,
    password: Option<&SecretString>,
) -> Result<Bootstrap, AppError> {
    if store.count_users().await? > 0 {
        return Ok(Bootstrap::NotNeeded);
    }
    let (email, password, one_time) = match (email, password) {
        (Some(e), Some(p)) => {
            let email = validate::email(e)?;
            validate::new_password(p.expose_secret())?;
            (email, p.expose_secret().to_owned(), false)
        }
        _ => (DEFAULT_ADMIN_EMAIL.to_owned(), random_base62(20), true),
    };
    let now = Timestamp::now();
    let user = NewUser {
        id: UserId::new(),
        email: email.clone(),
        name: "Administrator".to_owned(),
        role: GlobalRole::Admin,
        password_hash: passwords::hash(password.clone()).await?,
        must_change_password: one_time,
        now,
    };
    match store.create_user(&user).await {
        Ok(_) => {}
        // Another portal replica bootstrapped at the same moment: theirs stands.
        Err(tollgate_store::Error::Conflict(_)) => return Ok(Bootstrap::NotNeeded),
        Err(e) => return Err(e.into()),
    }
    let change = Change {
        action: "user.bootstrap",
        object_type: "user",
        object_id: Some(user.id.to_string()),
        before: None,
        after: Some(
            serde_json::json!({ "email": email, "role": "admin", "one_time_password": one_time }),
        ),
    };
    audit::record_as(store, None, "system", change).await?;
    Ok(if one_time {
        Bootstrap::OneTime {
            email,
            password: SecretString::from(password),
        }
    } else {
        Bootstrap::FromConfig { email }
    })
}
