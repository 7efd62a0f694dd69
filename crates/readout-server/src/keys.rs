//! Host credentials: random ids and API keys, stored only as hashes.
//!
//! API keys are 256 random bits, so a single SHA-256 is enough to make the
//! stored hash useless to a thief; argon2 is for low-entropy passwords and
//! would cost milliseconds on every one of thousands of cycles a second.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

fn random_bytes<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(bytes)
}

/// A new host id, `h_` and 16 lowercase hex digits.
pub fn new_host_id() -> anyhow::Result<String> {
    new_id("h_")
}

/// A new id: `prefix` and 16 lowercase hex digits.
pub fn new_id(prefix: &str) -> anyhow::Result<String> {
    let bytes: [u8; 8] = random_bytes()?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

/// What a user's API token starts with, telling it from the admin token.
pub const USER_TOKEN_PREFIX: &str = "rut_";

/// A new secret: `prefix` then 256 random bits, URL-safe.
pub fn new_secret(prefix: &str) -> anyhow::Result<String> {
    let bytes: [u8; 32] = random_bytes()?;
    Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Compares a presented secret with a stored hash in constant time.
pub fn secret_matches(secret: &str, stored_hash: &[u8]) -> bool {
    hash_secret(secret).ct_eq(stored_hash).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_fresh_and_verify_only_against_their_hash() {
        let a = new_secret("rk_").expect("secret");
        let b = new_secret("rk_").expect("secret");
        assert_ne!(a, b);
        assert!(a.starts_with("rk_") && a.len() == 3 + 43, "{a}");
        let hash = hash_secret(&a);
        assert!(secret_matches(&a, &hash));
        assert!(!secret_matches(&b, &hash));
        assert!(!secret_matches(&a, &hash[..31]));
        let id = new_host_id().expect("id");
        assert!(id.starts_with("h_") && id.len() == 18, "{id}");
    }
}
