//! Sign-in, sessions and the master key.
//!
//! A session is a random token in an `HttpOnly; SameSite=Lax` cookie; the database keeps only its
//! SHA-256. The master key (`TOLLGATE_MASTER_KEY`) is compared by digest in constant time.

use super::passwords;
use super::principal::Principal;
use super::throttle::{self, Throttle, Verdict};
use crate::error::AppError;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tollgate_domain::keys::{generate_session_token, hash_secret};
use tollgate_domain::validate::{self, MAX_PASSWORD_LEN};
use tollgate_domain::{Actor, SessionId, Timestamp, UserId};
use tollgate_store::{NewSession, Store};

pub const SESSION_COOKIE: &str = "tollgate_session";
/// Typed in the email field, with the master key as the password, signs in as the master key.
pub const MASTER_LOGIN: &str = "master";
const MAX_USER_AGENT: usize = 256;

/// Whether cookies carry `Secure`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CookieSecurity {
    /// When the request arrived over https (directly or per `X-Forwarded-Proto`).
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Clone, Debug)]
pub struct AuthConfig {
    pub session_ttl: Duration,
    pub cookie_security: CookieSecurity,
    pub master_key: Option<SecretString>,
}

pub struct Auth {
    store: Arc<dyn Store>,
    cfg: AuthConfig,
    throttle: Throttle,
}

/// A new session: the token goes into the cookie and nowhere else.
pub struct NewSignIn {
    pub token: String,
    pub ttl: Duration,
    pub must_change_password: bool,
}

impl Auth {
    pub fn new(store: Arc<dyn Store>, cfg: AuthConfig) -> Auth {
        Auth {
            store,
            cfg,
            throttle: Throttle::new(),
        }
    }

    pub fn master_key_configured(&self) -> bool {
        self.cfg.master_key.is_some()
    }

    /// Checks an email and password, throttled per account and per address. Every failure reads
    /// the same ("Incorrect email or password"), whether or not the account exists.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        client: Option<IpAddr>,
        user_agent: Option<&str>,
    ) -> Result<NewSignIn, AppError> {
        let login = email.trim().to_lowercase();
        let account_key = format!("acct:{login}");
        let address_key = format!("ip:{}", client.map(|c| c.to_string()).unwrap_or_default());
        let keys = [
            (account_key.as_str(), throttle::ACCOUNT),
            (address_key.as_str(), throttle::ADDRESS),
        ];
        match self.throttle.check(&keys, Instant::now()) {
            Verdict::Locked(secs) => return Err(AppError::TooManyAttempts(secs)),
            Verdict::Proceed(delay) if !delay.is_zero() => tokio::time::sleep(delay).await,
            Verdict::Proceed(_) => {}
        }

        let outcome = if login == MASTER_LOGIN && self.master_key_configured() {
            self.master_sign_in(password).await
        } else {
            self.user_sign_in(&login, password, client, user_agent)
                .await
        };
        match &outcome {
            Ok(_) => self.throttle.record_success(&account_key),
            Err(AppError::BadCredentials) => self.throttle.record_failure(&keys, Instant::now()),
            Err(_) => {}
        }
        outcome
    }

    async fn user_sign_in(
        &self,
        email: &str,
        password: &str,
        client: Option<IpAddr>,
        user_agent: Option<&str>,
    ) -> Result<NewSignIn, AppError> {
        // Hash nothing huge: an oversized password is simply wrong.
        let too_long = password.len() > MAX_PASSWORD_LEN;
        let found = match self.store.get_user_auth(email).await {
            Ok(found) => Some(found),
            Err(tollgate_store::Error::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let candidate = if too_long { "" } else { password };
        let ok = passwords::verify(
            candidate.to_owned(),
            found.as_ref().map(|f| f.password_hash.clone()),
        )
        .await;
        match found {
            Some(f) if ok && !too_long && !f.user.disabled => {
                let token = self
                    .create_session(Some(f.user.id), client, user_agent)
                    .await?;
                Ok(NewSignIn {
                    token,
                    ttl: self.cfg.session_ttl,
                    must_change_password: f.user.must_change_password,
                })
            }
            _ => Err(AppError::BadCredentials),
        }
    }

    async fn master_sign_in(&self, presented: &str) -> Result<NewSignIn, AppError> {
        if !self.master_key_matches(presented) {
            return Err(AppError::BadCredentials);
        }
        let token = self.create_session(None, None, None).await?;
        Ok(NewSignIn {
            token,
            ttl: self.cfg.session_ttl,
            must_change_password: false,
        })
    }

    async fn create_session(
        &self,
        user_id: Option<UserId>,
        client: Option<IpAddr>,
        user_agent: Option<&str>,
    ) -> Result<String, AppError> {
        let token = generate_session_token();
        let now = Timestamp::now();
        let ttl_ms = i64::try_from(self.cfg.session_ttl.as_millis()).unwrap_or(i64::MAX);
        self.store
            .create_session(&NewSession {
                id: SessionId::new(),
                user_id,
                token_hash: hash_secret(&token),
                created_at: now,
                expires_at: now.plus_millis(ttl_ms),
                ip: client.map(|c| c.to_string()),
                user_agent: user_agent.map(|ua| ua.chars().take(MAX_USER_AGENT).collect()),
            })
            .await?;
        Ok(token)
    }

    /// The principal behind a session token, or `None` when the token is unknown, expired, or
    /// belongs to a disabled or deleted user. A database error is also `None` (signed out), and logged.
    pub async fn resolve_session(&self, token: &str) -> Option<Principal> {
        if token.is_empty() || token.len() > 128 {
            return None;
        }
        let token_hash = hash_secret(token);
        let found = match self.store.get_session(&token_hash).await {
            Ok(found) => found,
            Err(tollgate_store::Error::NotFound) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "session lookup failed");
                return None;
            }
        };
        if found.session.expires_at <= Timestamp::now() {
            let _ = self.store.delete_session(&token_hash).await;
            return None;
        }
        let Some(user) = found.user else {
            // A session without a user is a master-key session; it ends when the key is removed.
            return self.master_key_configured().then(|| Principal {
                actor: Actor::master(),
                user: None,
                label: "master key".to_owned(),
                session_token_hash: Some(token_hash),
            });
        };
        if user.disabled {
            return None;
        }
        let teams = match self.store.memberships_of(user.id).await {
            Ok(ms) => ms.into_iter().map(|m| (m.team_id, m.role)).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "membership lookup failed");
                return None;
            }
        };
        Some(Principal {
            actor: Actor {
                user_id: Some(user.id),
                role: user.role,
                teams,
            },
            label: user.email.clone(),
            user: Some(user),
            session_token_hash: Some(token_hash),
        })
    }

    /// The master key as a bearer credential for the admin API.
    pub fn resolve_bearer(&self, presented: &str) -> Option<Principal> {
        self.master_key_matches(presented).then(|| Principal {
            actor: Actor::master(),
            user: None,
            label: "master key".to_owned(),
            session_token_hash: None,
        })
    }

    fn master_key_matches(&self, presented: &str) -> bool {
        let Some(master) = &self.cfg.master_key else {
            return false;
        };
        let a = Sha256::digest(presented.as_bytes());
        let b = Sha256::digest(master.expose_secret().as_bytes());
        // Constant-time over fixed-length digests: the time says nothing about the key.
        a.iter()
            .zip(b.iter())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
    }

    pub async fn sign_out(&self, principal: &Principal) -> Result<(), AppError> {
        if let Some(hash) = &principal.session_token_hash {
            self.store.delete_session(hash).await?;
        }
        Ok(())
    }

    /// Changes the signed-in user's password, ends all their sessions and opens a fresh one.
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: &str,
        new: &str,
        confirm: &str,
    ) -> Result<NewSignIn, AppError> {
        let user = principal.user.as_ref().ok_or_else(|| {
            AppError::invalid(
                "current_password",
                "the master key has no password to change",
            )
        })?;
        validate::new_password(new)?;
        if new != confirm {
            return Err(AppError::invalid(
                "confirm_password",
                "the two new passwords differ",
            ));
        }
        if new == current {
            return Err(AppError::invalid(
                "new_password",
                "choose a password different from the current one",
            ));
        }
        let stored = self.store.get_user_auth(&user.email).await?;
        if current.len() > MAX_PASSWORD_LEN
            || !passwords::verify(current.to_owned(), Some(stored.password_hash)).await
        {
            return Err(AppError::invalid(
                "current_password",
                "the current password is not correct",
            ));
        }
        let hash = passwords::hash(new.to_owned()).await?;
        self.store
            .set_password(user.id, &hash, false, Timestamp::now())
            .await?;
        self.store.delete_user_sessions(user.id).await?;
        let token = self.create_session(Some(user.id), None, None).await?;
        Ok(NewSignIn {
            token,
            ttl: self.cfg.session_ttl,
            must_change_password: false,
        })
    }

    /// `Set-Cookie` value that starts a session.
    pub fn session_cookie(&self, token: &str, ttl: Duration, https: bool) -> String {
        let secure = match self.cfg.cookie_security {
            CookieSecurity::Always => true,
            CookieSecurity::Never => false,
            CookieSecurity::Auto => https,
        };
        format!(
            "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
            ttl.as_secs(),
            if secure { "; Secure" } else { "" }
        )
    }

    /// `Set-Cookie` value that ends a session in the browser.
    pub fn clear_cookie() -> String {
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
    }
}

/// The session token from the request's `Cookie` headers.
pub fn session_token(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

/// Whether the request reached us over https (directly, or per a proxy's `X-Forwarded-Proto`).
pub fn is_https(headers: &http::HeaderMap, uri: &http::Uri) -> bool {
    uri.scheme_str() == Some("https")
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue};

    #[test]
    fn finds_the_session_cookie_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            "cookie",
            HeaderValue::from_static("theme=dark; tollgate_session=abc123"),
        );
        assert_eq!(session_token(&h).as_deref(), Some("abc123"));
        let mut h = HeaderMap::new();
        h.append("cookie", HeaderValue::from_static("tollgate_session="));
        assert_eq!(session_token(&h), None);
    }
}
