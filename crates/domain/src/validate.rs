//! Input rules shared by the browser (to say it early) and the server (to enforce it).

use serde::{Deserialize, Serialize};

pub const MAX_EMAIL_LEN: usize = 254;
pub const MAX_NAME_LEN: usize = 200;
pub const MIN_PASSWORD_LEN: usize = 12;
/// Argon2 hashes whatever it is given; a cap keeps a 1 MB "password" from being a cheap DoS.
pub const MAX_PASSWORD_LEN: usize = 256;

/// A problem with one form field, safe to show next to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// Trims and lower-cases an email address and checks its shape (not its deliverability).
pub fn email(input: &str) -> Result<String, FieldError> {
    let e = input.trim().to_lowercase();
    let err = |m: &str| Err(FieldError::new("email", m));
    if e.is_empty() {
        return err("enter an email address");
    }
    if e.len() > MAX_EMAIL_LEN {
        return err("an email address has at most 254 characters");
    }
    if e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return err("an email address has no spaces or control characters");
    }
    match e.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
        {
            Ok(e)
        }
        _ => err("enter an address such as ana@example.com"),
    }
}

/// A new password: long enough to resist guessing, short enough to hash cheaply.
pub fn new_password(input: &str) -> Result<(), FieldError> {
    let n = input.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(FieldError::new(
            "new_password",
            format!("use at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    if input.len() > MAX_PASSWORD_LEN {
        return Err(FieldError::new(
            "new_password",
            format!("use at most {MAX_PASSWORD_LEN} bytes"),
        ));
    }
    Ok(())
}

/// A display name (of a user, team, key alias): trimmed, 1 to 200 characters, no control characters.
pub fn name(field: &str, input: &str) -> Result<String, FieldError> {
    let n = input.trim();
    if n.is_empty() {
        return Err(FieldError::new(field, "enter a name"));
    }
    if n.chars().count() > MAX_NAME_LEN {
        return Err(FieldError::new(
            field,
            format!("use at most {MAX_NAME_LEN} characters"),
        ));
    }
    if n.chars().any(|c| c.is_control() || is_invisible_trick(c)) {
        return Err(FieldError::new(
            field,
            "remove control or invisible formatting characters",
        ));
    }
    Ok(n.to_owned())
}

/// Bidirectional overrides and zero-width characters, used to make one name look like another.
fn is_invisible_trick(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email("  Ana@Example.COM ").unwrap(), "ana@example.com");
        assert_eq!(email("admin@localhost").unwrap(), "admin@localhost");
        for bad in ["", "ana", "@x", "ana@", "a b@c", "a@b@c", "a\u{0}@b"] {
            assert!(email(bad).is_err(), "{bad:?}");
        }
        assert!(email(&format!("{}@x.io", "a".repeat(260))).is_err());
    }

    #[test]
    fn passwords() {
        assert!(new_password("short").is_err());
        assert!(new_password("correct horse battery").is_ok());
        assert!(new_password(&"x".repeat(1_000_000)).is_err());
    }

    #[test]
    fn names() {
        assert_eq!(name("name", "  Platform  ").unwrap(), "Platform");
        assert!(name("name", "   ").is_err());
        assert!(name("name", "a\u{202E}b").is_err());
        assert!(name("name", &"n".repeat(201)).is_err());
        // Markup is data, not a threat, once it is escaped on output: it is kept as typed.
        assert_eq!(
            name("name", "<script>x</script>").unwrap(),
            "<script>x</script>"
        );
    }
}
