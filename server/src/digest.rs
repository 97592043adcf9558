//! Hashes and secrets: hex SHA-256 for content hashes and ids, random secrets from the
//! operating system, and comparison of secrets in time independent of where they differ.

use sha2::{Digest, Sha256};

/// `bytes` as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of `text` as 64 lowercase hex digits.
pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// `n` random bytes from the operating system.
pub fn random_bytes(n: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = vec![0u8; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// `n` random bytes as hex, from the operating system (secrets, tokens).
pub fn random_hex(n: usize) -> std::io::Result<String> {
    Ok(hex(&random_bytes(n)?))
}

/// Whether two secrets are equal, compared in time independent of where the first
/// difference is (the length is not secret).
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_secrets() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
        assert_eq!(sha256_hex("").len(), 64);
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"ab"));
    }
}
