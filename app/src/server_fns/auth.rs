//! Sign-in, sign-out, password change and "who am I".

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The signed-in principal as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub label: String,
    pub name: Option<String>,
    pub role: tollgate_domain::authz::GlobalRole,
    pub is_master_key: bool,
    pub must_change_password: bool,
}

/// Signs in; answers the path to go to next.
#[server(prefix = "/rpc", endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<String, AppError> {
    crate::server::reply(
        async move {
            use crate::server::{auth::is_https, portal_state};
            use http::header::{HeaderValue, RETRY_AFTER, SET_COOKIE, USER_AGENT};

            let state = portal_state()?;
            let parts = use_context::<http::request::Parts>().ok_or(AppError::Internal)?;
            let client = parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip());
            let user_agent = parts.headers.get(USER_AGENT).and_then(|v| v.to_str().ok());
            let response = expect_context::<leptos_axum::ResponseOptions>();
            let signed = match state
                .auth
                .sign_in(&email, &password, client, user_agent)
                .await
            {
                Ok(s) => s,
                Err(e) => {
                    if let AppError::TooManyAttempts(secs) = &e {
                        response.insert_header(RETRY_AFTER, HeaderValue::from(*secs));
                    }
                    return Err(e);
                }
            };
            let cookie = state.auth.session_cookie(
                &signed.token,
                signed.ttl,
                is_https(&parts.headers, &parts.uri),
            );
            response.append_header(
                SET_COOKIE,
                HeaderValue::from_str(&cookie).map_err(|_| AppError::Internal)?,
            );
            Ok(if signed.must_change_password {
                "/account/password"
            } else {
                "/"
            }
            .to_owned())
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    crate::server::reply(
        async move {
            use crate::server::{Auth, portal_state, principal};
            use http::header::{HeaderValue, SET_COOKIE};

            let response = expect_context::<leptos_axum::ResponseOptions>();
            response.append_header(
                SET_COOKIE,
                HeaderValue::from_str(&Auth::clear_cookie()).map_err(|_| AppError::Internal)?,
            );
            // Signing out twice, or with an expired session, is not an error.
            if let Ok(who) = principal() {
                portal_state()?.auth.sign_out(&who).await?;
            }
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    crate::server::reply(
        async move {
            use crate::server::audit::{self, Change};
            use crate::server::{auth::is_https, portal_state, principal};
            use http::header::{HeaderValue, SET_COOKIE};

            let who = principal()?;
            let state = portal_state()?;
            let parts = use_context::<http::request::Parts>().ok_or(AppError::Internal)?;
            let signed = state
                .auth
                .change_password(&who, &current_password, &new_password, &confirm_password)
                .await?;
            let change = Change {
                action: "user.password_change",
                object_type: "user",
                object_id: who.actor.user_id.map(|id| id.to_string()),
                before: None,
                after: None,
            };
            audit::record(state.store.as_ref(), &who, change).await?;
            let cookie = state.auth.session_cookie(
                &signed.token,
                signed.ttl,
                is_https(&parts.headers, &parts.uri),
            );
            expect_context::<leptos_axum::ResponseOptions>().append_header(
                SET_COOKIE,
                HeaderValue::from_str(&cookie).map_err(|_| AppError::Internal)?,
            );
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "get_me")]
pub async fn get_me() -> Result<Me, AppError> {
    crate::server::reply(
        async move {
            let who = crate::server::principal()?;
            Ok(Me {
                label: who.label.clone(),
                name: who.user.as_ref().map(|u| u.name.clone()),
                role: who.actor.role,
                is_master_key: who.user.is_none(),
                must_change_password: who.must_change_password(),
            })
        }
        .await,
    )
}
