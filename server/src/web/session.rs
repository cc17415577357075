//! The session middleware: resolves who is asking (session cookie, or the master key as a bearer),
//! refuses cross-site state changes, and sends browsers to sign-in or the forced password change.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::{Method, StatusCode, header};
use tollgate_app::server::PortalState;
use tollgate_app::server::auth::session_token;
use tollgate_app::server::csrf;

pub async fn resolve(State(state): State<PortalState>, mut req: Request, next: Next) -> Response {
    if !csrf::allows(req.method(), req.headers()) {
        return (
            StatusCode::FORBIDDEN,
            "This request came from another site and was refused.",
        )
            .into_response();
    }
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(str::to_owned);
    let principal = match (bearer, session_token(req.headers())) {
        (Some(key), _) => state.auth.resolve_bearer(&key),
        (None, Some(token)) => state.auth.resolve_session(&token).await,
        (None, None) => None,
    };
    if is_page(req.method(), req.uri().path()) {
        let path = req.uri().path();
        match &principal {
            None if path != "/signin" => return Redirect::to("/signin").into_response(),
            Some(p) if p.must_change_password() && path != "/account/password" => {
                return Redirect::to("/account/password").into_response();
            }
            Some(_) if path == "/signin" => return Redirect::to("/").into_response(),
            _ => {}
        }
    }
    if let Some(p) = principal {
        req.extensions_mut().insert(p);
    }
    next.run(req).await
}

/// A browser page view, as opposed to a server function, API call or static file.
fn is_page(method: &Method, path: &str) -> bool {
    const NOT_PAGES: [&str; 4] = ["/rpc/", "/api/", "/pkg/", "/health/"];
    *method == Method::GET
        && !NOT_PAGES.iter().any(|p| path.starts_with(p))
        && !path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_gets_of_extensionless_paths() {
        assert!(is_page(&Method::GET, "/"));
        assert!(is_page(&Method::GET, "/keys"));
        assert!(!is_page(&Method::POST, "/keys"));
        assert!(!is_page(&Method::GET, "/pkg/tollgate.wasm"));
        assert!(!is_page(&Method::GET, "/favicon.ico"));
        assert!(!is_page(&Method::GET, "/rpc/me"));
        assert!(!is_page(&Method::GET, "/api/v1/users"));
    }
}
