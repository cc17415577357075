//! The one error type of the portal's server functions. Every variant reads as a sentence a
//! person can act on; internals are logged on the server, never sent to the browser.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use tollgate_domain::validate::FieldError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please sign in again.")]
    Unauthenticated,
    #[error("You do not have permission to do this.")]
    Forbidden,
    /// A form field is wrong; `field` names the input it belongs to.
    #[error("{}", .0.message)]
    Invalid(FieldError),
    #[error("Incorrect email or password.")]
    BadCredentials,
    #[error("Too many sign-in attempts. Try again in {0} seconds.")]
    TooManyAttempts(u64),
    #[error("{0}")]
    Conflict(String),
    #[error("Not found. It may have been deleted.")]
    NotFound,
    #[error("This request came from another site and was refused.")]
    CrossSite,
    #[error("The database is unavailable right now. Try again shortly.")]
    Unavailable,
    #[error("Something went wrong on the server. It has been logged.")]
    Internal,
    /// The request never reached the function, or its answer could not be read.
    #[error("Could not reach the server ({0}). Check your connection and try again.")]
    Transport(String),
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> AppError {
        AppError::Invalid(FieldError::new(field, message))
    }

    /// The HTTP status a server function answers with this error.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::BadCredentials => 401,
            AppError::Forbidden | AppError::CrossSite => 403,
            AppError::NotFound => 404,
            AppError::Conflict(_) => 409,
            AppError::Invalid(_) => 422,
            AppError::TooManyAttempts(_) => 429,
            AppError::Transport(_) => 400,
            AppError::Unavailable => 503,
            AppError::Internal => 500,
        }
    }

    /// The same error with its field renamed by `names` (`(ours, theirs)`), for an API whose
    /// field names differ from the portal's (LiteLLM's).
    pub fn renamed(self, names: &[(&str, &str)]) -> AppError {
        match self {
            AppError::Invalid(mut f) => {
                if let Some((_, theirs)) = names.iter().find(|(ours, _)| *ours == f.field) {
                    f.field = (*theirs).to_owned();
                }
                AppError::Invalid(f)
            }
            other => other,
        }
    }

    /// The form field this error belongs to, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid(f) => Some(&f.field),
            _ => None,
        }
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::Invalid(e)
    }
}

impl From<tollgate_domain::Denied> for AppError {
    fn from(_: tollgate_domain::Denied) -> Self {
        AppError::Forbidden
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        // Keep only the kind: the details can hold a serializer's internals.
        let kind = match value {
            ServerFnErrorErr::Request(_) => "the request failed",
            ServerFnErrorErr::Response(_) => "the response failed",
            ServerFnErrorErr::Deserialization(_) | ServerFnErrorErr::Serialization(_) => {
                "the data could not be read"
            }
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                "the form was incomplete"
            }
            _ => "an unexpected error",
        };
        AppError::Transport(kind.to_owned())
    }
}

#[cfg(feature = "ssr")]
impl From<tollgate_store::Error> for AppError {
    fn from(e: tollgate_store::Error) -> Self {
        use tollgate_store::Error as E;
        match e {
            E::NotFound => AppError::NotFound,
            E::Conflict(what) => AppError::Conflict(what),
            E::Unavailable(_) => {
                tracing::warn!(error = %e, "database unavailable");
                AppError::Unavailable
            }
            other => {
                tracing::error!(error = ?other, "store error");
                AppError::Internal
            }
        }
    }
}

/// An analytics question refused: the field it names is the form input to mark.
impl From<tollgate_domain::analytics::QueryError> for AppError {
    fn from(e: tollgate_domain::analytics::QueryError) -> Self {
        AppError::invalid(e.field, e.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_sentences_without_internals() {
        let e = AppError::from_server_fn_error(ServerFnErrorErr::Deserialization(
            "invalid type: map, expected u64 at line 1 column 3".into(),
        ));
        assert!(!e.to_string().contains("column"), "{e}");
        assert_eq!(
            AppError::invalid("email", "enter an email").to_string(),
            "enter an email"
        );
        assert_eq!(AppError::invalid("email", "x").field(), Some("email"));
    }
}
