//! Who is making a request: resolved once per request by the session middleware and read by
//! every server function from the request's extensions.

use crate::error::AppError;
use tollgate_domain::Actor;
use tollgate_domain::model::User;

/// A signed-in user or the master key.
#[derive(Clone, Debug)]
pub struct Principal {
    pub actor: Actor,
    /// `None` for the master key.
    pub user: Option<User>,
    /// How the audit log names them: their email, or `master key`.
    pub label: String,
    /// The session this request came with, when it came with one (not with a bearer key).
    pub session_token_hash: Option<String>,
}

impl Principal {
    pub fn must_change_password(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.must_change_password)
    }
}

/// The principal of the current server-function request, or `Unauthenticated`.
pub fn principal() -> Result<Principal, AppError> {
    leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Principal>().cloned())
        .ok_or(AppError::Unauthenticated)
}
