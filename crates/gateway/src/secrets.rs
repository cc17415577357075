//! Upstream credentials: stored encrypted with AES-256-GCM under `TOLLGATE_SECRET_KEY`, or as a
//! reference (`env:VAR`, `file:/path`) resolved when routes load. Never logged, never returned.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use secrecy::SecretString;
use tollgate_store::CredentialSecret;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("TOLLGATE_SECRET_KEY must be 32 bytes, as 64 hex characters or base64")]
    BadKey,
    #[error("this credential is encrypted, but TOLLGATE_SECRET_KEY is not set")]
    NoKey,
    #[error("the credential could not be decrypted with TOLLGATE_SECRET_KEY (wrong key?)")]
    Decrypt,
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    #[error("cannot read {0}")]
    Unreadable(String),
    #[error("a reference is `env:VAR` or `file:/path`")]
    BadReference,
}

/// The key that encrypts credentials at rest.
#[derive(Clone)]
pub struct SecretKey(Key<Aes256Gcm>);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// 64 hex characters, or standard base64 of 32 bytes.
    pub fn parse(text: &str) -> Result<SecretKey, SecretError> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            decode_hex(t)
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .map_err(|_| SecretError::BadKey)?
        };
        let arr: [u8; 32] = bytes.try_into().map_err(|_| SecretError::BadKey)?;
        Ok(SecretKey(arr.into()))
    }

    /// Encrypts a secret: (ciphertext, 12-byte nonce).
    pub fn encrypt(&self, plaintext: &str) -> (Vec<u8>, Vec<u8>) {
        let cipher = Aes256Gcm::new(&self.0);
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        // Encryption with a fresh nonce and an in-memory buffer cannot fail.
        let ciphertext = cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .unwrap_or_default();
        (ciphertext, nonce.to_vec())
    }

    /// Encrypts a secret as the store keeps it.
    pub fn seal(&self, plaintext: &str) -> CredentialSecret {
        let (ciphertext, nonce) = self.encrypt(plaintext);
        CredentialSecret::Encrypted { ciphertext, nonce }
    }

    pub fn decrypt(&self, ciphertext: &[u8], nonce: &[u8]) -> Result<SecretString, SecretError> {
        if nonce.len() != 12 {
            return Err(SecretError::Decrypt);
        }
        let cipher = Aes256Gcm::new(&self.0);
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| SecretError::Decrypt)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| SecretError::Decrypt)
    }
}

fn decode_hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// `env:VAR` or `file:/path` to the secret it names.
pub fn resolve_reference(reference: &str) -> Result<SecretString, SecretError> {
    if let Some(var) = reference.strip_prefix("env:") {
        std::env::var(var)
            .map(SecretString::from)
            .map_err(|_| SecretError::MissingEnv(var.to_owned()))
    } else if let Some(path) = reference.strip_prefix("file:") {
        std::fs::read_to_string(path)
            .map(|s| SecretString::from(s.trim_end_matches(['\n', '\r']).to_owned()))
            .map_err(|_| SecretError::Unreadable(path.to_owned()))
    } else {
        Err(SecretError::BadReference)
    }
}

/// A stored credential's secret.
pub fn resolve(
    secret: &CredentialSecret,
    key: Option<&SecretKey>,
) -> Result<SecretString, SecretError> {
    match secret {
        CredentialSecret::Reference(r) => resolve_reference(r),
        CredentialSecret::Encrypted { ciphertext, nonce } => {
            key.ok_or(SecretError::NoKey)?.decrypt(ciphertext, nonce)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn encrypts_and_decrypts_and_detects_a_wrong_key() {
        let key = SecretKey::parse(HEX).unwrap();
        let (ct, nonce) = key.encrypt("sk-upstream-secret");
        assert!(
            !ct.windows(6).any(|w| w == b"sk-ups"),
            "ciphertext hides the secret"
        );
        assert_eq!(
            key.decrypt(&ct, &nonce).unwrap().expose_secret(),
            "sk-upstream-secret"
        );
        let other = SecretKey::parse(&"11".repeat(32)).unwrap();
        assert_eq!(
            other.decrypt(&ct, &nonce).unwrap_err(),
            SecretError::Decrypt
        );
        let mut tampered = ct.clone();
        tampered[0] ^= 1;
        assert_eq!(
            key.decrypt(&tampered, &nonce).unwrap_err(),
            SecretError::Decrypt
        );
    }

    #[test]
    fn keys_parse_from_hex_or_base64_only_at_32_bytes() {
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert!(SecretKey::parse(&b64).is_ok());
        assert_eq!(SecretKey::parse("short").unwrap_err(), SecretError::BadKey);
        assert_eq!(
            SecretKey::parse(&"ab".repeat(16)).unwrap_err(),
            SecretError::BadKey
        );
    }

    #[test]
    fn references_resolve_files_and_fail_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "sk-from-file\n").unwrap();
        let r = format!("file:{}", path.display());
        assert_eq!(
            resolve_reference(&r).unwrap().expose_secret(),
            "sk-from-file"
        );
        assert_eq!(
            resolve_reference("env:TOLLGATE_TEST_SURELY_UNSET").unwrap_err(),
            SecretError::MissingEnv("TOLLGATE_TEST_SURELY_UNSET".into())
        );
        assert_eq!(
            resolve_reference("plain-secret").unwrap_err(),
            SecretError::BadReference
        );
        let enc = CredentialSecret::Encrypted {
            ciphertext: vec![1],
            nonce: vec![0; 12],
        };
        assert_eq!(resolve(&enc, None).unwrap_err(), SecretError::NoKey);
    }
}
