//! Upstream error bodies in the client's dialect: kept as they are when already in it,
//! converted from the other dialect, and wrapped when unreadable (e.g. a proxy's HTML page).

use bytes::Bytes;
use serde_json::{Value, json};

/// What an error body says, whichever shape it has.
struct Parsed {
    message: String,
    kind: Option<String>,
    param: Option<Value>,
    code: Option<Value>,
}

/// `{"type":"error","error":{...}}`.
fn is_anthropic(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("error")
        && v.get("error").is_some_and(Value::is_object)
}

/// `{"error":{"message":...}}`.
fn is_openai(v: &Value) -> bool {
    !is_anthropic(v)
        && v.get("error")
            .and_then(|e| e.get("message"))
            .is_some_and(Value::is_string)
}

/// Reads the message of either dialect, and of common OpenAI-compatible servers
/// (`{"error":"..."}`, `{"message":...}`, `{"detail":...}`).
fn parse(status: u16, v: Option<&Value>) -> Parsed {
    let generic = || format!("the upstream answered HTTP {status}");
    let Some(v) = v else {
        return Parsed {
            message: generic(),
            kind: None,
            param: None,
            code: None,
        };
    };
    let err = v.get("error");
    let str_at = |o: Option<&Value>, k: &str| {
        o.and_then(|o| o.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let message = str_at(err, "message")
        .or_else(|| err.and_then(Value::as_str).map(str::to_owned))
        .or_else(|| str_at(Some(v), "message"))
        .or_else(|| str_at(Some(v), "detail"))
        .unwrap_or_else(generic);
    Parsed {
        message,
        kind: str_at(err, "type").or_else(|| str_at(Some(v), "type").filter(|t| t != "error")),
        param: err.and_then(|e| e.get("param")).cloned(),
        code: err.and_then(|e| e.get("code")).cloned(),
    }
}

/// An error body for an OpenAI-dialect client.
pub(crate) fn to_openai(status: u16, body: &[u8]) -> Bytes {
    let v = serde_json::from_slice::<Value>(body).ok();
    if v.as_ref().is_some_and(is_openai) {
        return Bytes::copy_from_slice(body);
    }
    let p = parse(status, v.as_ref());
    let kind = p.kind.unwrap_or_else(|| openai_type(status).to_owned());
    let body = json!({"error": {
        "message": p.message,
        "type": kind,
        "param": p.param.unwrap_or(Value::Null),
        "code": p.code.unwrap_or(Value::Null),
    }});
    Bytes::from(body.to_string())
}

/// An error body for an Anthropic-dialect client.
pub(crate) fn to_anthropic(status: u16, body: &[u8]) -> Bytes {
    let v = serde_json::from_slice::<Value>(body).ok();
    if v.as_ref().is_some_and(is_anthropic) {
        return Bytes::copy_from_slice(body);
    }
    let p = parse(status, v.as_ref());
    let body =
        json!({"type": "error", "error": {"type": anthropic_type(status), "message": p.message}});
    Bytes::from(body.to_string())
}

/// Anthropic's error type for an HTTP status (its clients switch on it).
pub(crate) fn anthropic_type(status: u16) -> &'static str {
    match status {
        400 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        _ if status < 500 => "invalid_request_error",
        _ => "api_error",
    }
}

fn openai_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        _ if status < 500 => "invalid_request_error",
        _ => "server_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANTHROPIC: &str = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}"#;
    const OPENAI: &str = r#"{"error":{"message":"Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM)","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#;

    fn json(b: &Bytes) -> Value {
        serde_json::from_slice(b).unwrap()
    }

    #[test]
    fn same_dialect_passes_through_unchanged() {
        assert_eq!(
            to_anthropic(529, ANTHROPIC.as_bytes()),
            ANTHROPIC.as_bytes()
        );
        assert_eq!(to_openai(429, OPENAI.as_bytes()), OPENAI.as_bytes());
    }

    #[test]
    fn anthropic_errors_become_openai_errors() {
        let v = json(&to_openai(529, ANTHROPIC.as_bytes()));
        assert_eq!(v["error"]["message"], "Overloaded");
        assert_eq!(v["error"]["type"], "overloaded_error");
        assert_eq!(v["error"]["param"], Value::Null);
        assert_eq!(v["error"]["code"], Value::Null);
    }

    #[test]
    fn openai_errors_become_anthropic_errors() {
        let v = json(&to_anthropic(429, OPENAI.as_bytes()));
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "rate_limit_error");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Rate limit reached")
        );
    }

    #[test]
    fn unreadable_and_foreign_bodies_are_wrapped() {
        let v = json(&to_openai(502, b"<html>Bad Gateway</html>"));
        assert_eq!(v["error"]["message"], "the upstream answered HTTP 502");
        assert_eq!(v["error"]["type"], "server_error");
        let v = json(&to_anthropic(400, br#"{"object":"error","message":"max_tokens is too large","type":"BadRequestError","code":400}"#));
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["message"], "max_tokens is too large");
        let v = json(&to_openai(500, br#"{"error":"model not loaded"}"#));
        assert_eq!(v["error"]["message"], "model not loaded");
    }
}
