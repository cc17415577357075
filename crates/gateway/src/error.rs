//! The gateway's one error type. It knows its HTTP status, its OpenAI error `type`/`code`, and
//! renders in the client's dialect: OpenAI's `{"error":{...}}` or Anthropic's `{"type":"error",...}`.
//! A 5xx never shows internals.

use crate::providers::Dialect;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde_json::json;
use tollgate_domain::analytics::error_kind;

#[derive(Debug, Clone, thiserror::Error)]
pub enum GatewayError {
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("{message}")]
    Forbidden { message: String, code: &'static str },
    #[error("{message}")]
    BadRequest {
        message: String,
        param: Option<String>,
        code: &'static str,
    },
    #[error("no route serves the model `{0}` on this gateway")]
    ModelNotFound(String),
    #[error("the request body is larger than the limit of {0} bytes")]
    TooLarge(usize),
    /// A rate limit of the key, its team or its user (`what`: `requests`, `tokens`, `parallel`).
    #[error("{message}")]
    RateLimited {
        message: String,
        what: &'static str,
        limit: i64,
        retry_after_secs: u64,
    },
    /// The key's, team's or user's budget is spent for this window.
    #[error("{0}")]
    BudgetExceeded(String),
    /// Tollgate cannot decide right now (the database or the limiter is unreachable).
    #[error("{message}")]
    Unavailable { message: String, code: &'static str },
    /// Every attempt failed; `tried` lists the deployments in order.
    #[error("{message}")]
    Upstream {
        status: StatusCode,
        message: String,
        tried: Vec<String>,
        retry_after: Option<String>,
    },
}

impl GatewayError {
    pub fn bad_request(message: impl Into<String>, param: Option<&str>) -> GatewayError {
        GatewayError::BadRequest {
            message: message.into(),
            param: param.map(str::to_owned),
            code: "invalid_request",
        }
    }

    pub fn status_code(&self) -> StatusCode {
        match self {
            GatewayError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            GatewayError::Forbidden { .. } => StatusCode::FORBIDDEN,
            GatewayError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            GatewayError::ModelNotFound(_) => StatusCode::NOT_FOUND,
            GatewayError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            GatewayError::BudgetExceeded(_) => StatusCode::BAD_REQUEST,
            GatewayError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::Upstream { status, .. } => *status,
        }
    }

    /// OpenAI's error `type`.
    fn kind(&self) -> &'static str {
        match self {
            GatewayError::Unauthenticated(_) => "authentication_error",
            GatewayError::Forbidden { .. } => "permission_error",
            GatewayError::BadRequest { .. }
            | GatewayError::ModelNotFound(_)
            | GatewayError::TooLarge(_) => "invalid_request_error",
            GatewayError::RateLimited { .. } => "rate_limit_error",
            GatewayError::BudgetExceeded(_) => "budget_exceeded",
            GatewayError::Unavailable { .. } => "service_unavailable",
            GatewayError::Upstream { .. } => "upstream_error",
        }
    }

    /// Anthropic's error `type`.
    fn anthropic_kind(&self) -> &'static str {
        match self {
            GatewayError::Unauthenticated(_) => "authentication_error",
            GatewayError::Forbidden { .. } => "permission_error",
            GatewayError::ModelNotFound(_) => "not_found_error",
            GatewayError::TooLarge(_) => "request_too_large",
            GatewayError::BadRequest { .. } => "invalid_request_error",
            GatewayError::RateLimited { .. } => "rate_limit_error",
            GatewayError::BudgetExceeded(_) => "budget_exceeded",
            GatewayError::Unavailable { .. } => "overloaded_error",
            GatewayError::Upstream { .. } => "api_error",
        }
    }

    fn code(&self) -> &'static str {
        match self {
            GatewayError::Unauthenticated(_) => "invalid_api_key",
            GatewayError::Forbidden { code, .. } | GatewayError::BadRequest { code, .. } => code,
            GatewayError::ModelNotFound(_) => error_kind::MODEL_NOT_FOUND,
            GatewayError::TooLarge(_) => "request_too_large",
            GatewayError::RateLimited { .. } => "rate_limit_exceeded",
            GatewayError::BudgetExceeded(_) => "budget_exceeded",
            GatewayError::Unavailable { code, .. } => code,
            GatewayError::Upstream { status, .. } if *status == StatusCode::GATEWAY_TIMEOUT => {
                "upstream_timeout"
            }
            GatewayError::Upstream { status, .. } if *status == StatusCode::TOO_MANY_REQUESTS => {
                "upstream_rate_limited"
            }
            GatewayError::Upstream { .. } => "upstream_unavailable",
        }
    }

    /// The body for a client speaking `dialect`.
    pub fn body(&self, dialect: Dialect) -> Bytes {
        let message = self.to_string();
        let value = match dialect {
            Dialect::OpenAi => {
                let param = match self {
                    GatewayError::BadRequest { param, .. } => param.clone(),
                    _ => None,
                };
                let mut error = json!({ "message": message, "type": self.kind(), "param": param, "code": self.code() });
                if let GatewayError::Upstream { tried, .. } = self {
                    error["tried"] = json!(tried);
                }
                json!({ "error": error })
            }
            Dialect::Anthropic => {
                json!({ "type": "error", "error": { "type": self.anthropic_kind(), "message": message } })
            }
        };
        Bytes::from(value.to_string())
    }

    pub fn into_response_for(self, dialect: Dialect) -> Response {
        let mut response = (self.status_code(), self.body(dialect)).into_response();
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let GatewayError::Upstream {
            retry_after: Some(r),
            ..
        } = &self
            && let Ok(v) = HeaderValue::from_str(r)
        {
            h.insert(header::RETRY_AFTER, v);
        }
        if let GatewayError::RateLimited {
            what,
            limit,
            retry_after_secs,
            ..
        } = &self
        {
            // OpenAI's header names, so SDK retry logic and dashboards read them.
            let kind = if *what == "tokens" {
                "tokens"
            } else {
                "requests"
            };
            for (name, value) in [
                ("retry-after".to_owned(), retry_after_secs.to_string()),
                (format!("x-ratelimit-limit-{kind}"), limit.to_string()),
                (format!("x-ratelimit-remaining-{kind}"), "0".to_owned()),
                (
                    format!("x-ratelimit-reset-{kind}"),
                    format!("{retry_after_secs}s"),
                ),
            ] {
                if let (Ok(n), Ok(v)) = (
                    http::HeaderName::try_from(name),
                    HeaderValue::from_str(&value),
                ) {
                    h.insert(n, v);
                }
            }
        }
        response
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_carry_retry_after_and_openai_headers() {
        let e = GatewayError::RateLimited {
            message: "this key's limit of 60 requests per minute is reached".into(),
            what: "requests",
            limit: 60,
            retry_after_secs: 7,
        };
        let r = e.into_response_for(Dialect::OpenAi);
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let h = r.headers();
        assert_eq!(h["retry-after"], "7");
        assert_eq!(h["x-ratelimit-limit-requests"], "60");
        assert_eq!(h["x-ratelimit-remaining-requests"], "0");
        assert_eq!(h["x-ratelimit-reset-requests"], "7s");
    }

    #[test]
    fn budget_exceeded_is_a_400_with_its_own_type() {
        let e = GatewayError::BudgetExceeded("the key's budget of $1.00 is spent".into());
        assert_eq!(e.status_code(), StatusCode::BAD_REQUEST);
        let v: serde_json::Value = serde_json::from_slice(&e.body(Dialect::OpenAi)).unwrap();
        assert_eq!(v["error"]["type"], "budget_exceeded");
        assert_eq!(v["error"]["code"], "budget_exceeded");
    }

    #[test]
    fn openai_shape_has_message_type_param_code() {
        let e = GatewayError::bad_request("expected `,` at line 1 column 9", Some("body"));
        let v: serde_json::Value = serde_json::from_slice(&e.body(Dialect::OpenAi)).unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["param"], "body");
        assert_eq!(v["error"]["code"], "invalid_request");
        assert!(v["error"]["message"].as_str().unwrap().contains("column 9"));
    }

    #[test]
    fn anthropic_shape_on_messages() {
        let e = GatewayError::ModelNotFound("claude-x".into());
        let v: serde_json::Value = serde_json::from_slice(&e.body(Dialect::Anthropic)).unwrap();
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "not_found_error");
        assert_eq!(e.status_code(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn upstream_failures_list_what_was_tried() {
        let e = GatewayError::Upstream {
            status: StatusCode::GATEWAY_TIMEOUT,
            message: "all deployments failed".into(),
            tried: vec!["a".into(), "b".into()],
            retry_after: None,
        };
        let v: serde_json::Value = serde_json::from_slice(&e.body(Dialect::OpenAi)).unwrap();
        assert_eq!(v["error"]["code"], "upstream_timeout");
        assert_eq!(v["error"]["tried"], json!(["a", "b"]));
    }
}
