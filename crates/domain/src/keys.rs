//! Secrets handed to people: virtual keys (`sk-tg-…`) and session tokens.
//!
//! Only the SHA-256 of a secret is stored; the secret itself is shown once and then forgotten.
//! Keys are high-entropy, so a fast hash is enough (no salt, no stretching) and lookups stay O(1).

use sha2::{Digest, Sha256};

/// Every virtual key starts with this.
pub const KEY_PREFIX: &str = "sk-tg-";
/// Random base62 characters after the prefix: 40 x log2(62) = 238 bits.
pub const KEY_RANDOM_LEN: usize = 40;
/// Characters of the random part shown before the ellipsis in `sk-tg-abcd...wxyz`.
const SHOWN_HEAD: usize = 4;
const SHOWN_TAIL: usize = 4;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Hex SHA-256 of a secret, as stored.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `s` has the shape of a virtual key (prefix, then at least 32 base62 characters).
pub fn is_key_shaped(s: &str) -> bool {
    match s.strip_prefix(KEY_PREFIX) {
        Some(rest) => {
            rest.len() >= 32 && rest.len() <= 128 && rest.bytes().all(|b| BASE62.contains(&b))
        }
        None => false,
    }
}

/// The parts of a key kept for display: (`sk-tg-abcd`, `wxyz`).
pub fn display_parts(secret: &str) -> (String, String) {
    let rest = secret.strip_prefix(KEY_PREFIX).unwrap_or(secret);
    let head: String = rest.chars().take(SHOWN_HEAD).collect();
    let tail_start = rest.chars().count().saturating_sub(SHOWN_TAIL);
    let tail: String = rest.chars().skip(tail_start).collect();
    (format!("{KEY_PREFIX}{head}"), tail)
}

/// `sk-tg-abcd...wxyz`
pub fn masked(prefix: &str, suffix: &str) -> String {
    format!("{prefix}...{suffix}")
}

/// A random base62 string of `len` characters.
#[cfg(feature = "gen")]
pub fn random_base62(len: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(BASE62[rng.random_range(0..BASE62.len())]))
        .collect()
}

/// A new virtual key secret.
#[cfg(feature = "gen")]
pub fn generate_key() -> String {
    format!("{KEY_PREFIX}{}", random_base62(KEY_RANDOM_LEN))
}

/// A new session token for a cookie (not key-shaped, so it can never be used as an API key).
#[cfg(feature = "gen")]
pub fn generate_session_token() -> String {
    random_base62(43)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_sha256_hex() {
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn key_shape() {
        assert!(is_key_shaped(&format!("{KEY_PREFIX}{}", "a".repeat(32))));
        assert!(!is_key_shaped(&format!("{KEY_PREFIX}{}", "a".repeat(31))));
        assert!(!is_key_shaped(&format!("sk-xx-{}", "a".repeat(40))));
        assert!(!is_key_shaped(&format!("{KEY_PREFIX}{}-", "a".repeat(40))));
    }

    #[test]
    fn display_keeps_four_and_four() {
        let secret = format!("{KEY_PREFIX}abcd{}wxyz", "0".repeat(32));
        let (p, s) = display_parts(&secret);
        assert_eq!(masked(&p, &s), "sk-tg-abcd...wxyz");
    }

    #[cfg(feature = "gen")]
    #[test]
    fn generated_keys_are_key_shaped_and_distinct() {
        let a = generate_key();
        let b = generate_key();
        assert!(is_key_shaped(&a), "{a}");
        assert_ne!(a, b);
        assert_eq!(a.len(), KEY_PREFIX.len() + KEY_RANDOM_LEN);
        assert!(!is_key_shaped(&generate_session_token()));
    }
}
