//! Data keys: random 256-bit keys that encrypt payloads, stored only wrapped (encrypted) by
//! the key above them: a route's key by the master key, a record's key by its route's key.

use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use zeroize::{Zeroize, Zeroizing};

use super::master::KEY_BYTES;
use crate::error::{Error, Result};

/// Bytes of an XChaCha20-Poly1305 nonce (random nonces of this size never collide in
/// practice).
pub(crate) const NONCE_BYTES: usize = 24;

/// A 256-bit key, zeroed when dropped.
pub(crate) struct DataKey(Zeroizing<[u8; KEY_BYTES]>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(***)")
    }
}

impl DataKey {
    /// A new random key.
    pub(crate) fn generate() -> Self {
        let mut key = Key::generate();
        let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
        bytes.copy_from_slice(key.as_slice());
        key.zeroize();
        DataKey(bytes)
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&Key::from(*self.0))
    }

    /// `plain` encrypted under this key with a fresh random nonce, bound to `aad`: the nonce
    /// followed by the ciphertext and its tag.
    pub(crate) fn encrypt(&self, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
        let nonce = XNonce::generate();
        let sealed = self
            .cipher()
            .encrypt(&nonce, Payload { msg: plain, aad })
            .map_err(|_| Error::internal("encrypt", "the cipher refused its input"))?;
        let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
        out.extend_from_slice(nonce.as_slice());
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts what [`DataKey::encrypt`] made with the same `aad`; `None` when the bytes
    /// were changed, cut short, made under another key or bound to another place.
    pub(crate) fn decrypt(&self, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_BYTES);
        let nonce = XNonce::try_from(nonce).ok()?;
        self.cipher()
            .decrypt(&nonce, Payload { msg: body, aad })
            .ok()
            .map(Zeroizing::new)
    }

    /// This key wrapped under `by`, bound to `aad`.
    pub(crate) fn wrap(&self, by: &[u8; KEY_BYTES], aad: &[u8]) -> Result<Vec<u8>> {
        DataKey(Zeroizing::new(*by)).encrypt(aad, self.0.as_slice())
    }

    /// The key `wrapped` under `by` with `aad`; `None` when `by` or `aad` is not the one it
    /// was wrapped with.
    pub(crate) fn unwrap(by: &[u8; KEY_BYTES], aad: &[u8], wrapped: &[u8]) -> Option<Self> {
        let plain = DataKey(Zeroizing::new(*by)).decrypt(aad, wrapped)?;
        let bytes: [u8; KEY_BYTES] = plain.as_slice().try_into().ok()?;
        Some(DataKey(Zeroizing::new(bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_bytes_open_only_with_their_key_and_place() {
        let key = DataKey::generate();
        let sealed = key.encrypt(b"here", b"secret text").unwrap();
        assert_eq!(
            key.decrypt(b"here", &sealed).unwrap().as_slice(),
            b"secret text"
        );
        assert!(key.decrypt(b"there", &sealed).is_none(), "another place");
        assert!(
            DataKey::generate().decrypt(b"here", &sealed).is_none(),
            "another key"
        );
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(key.decrypt(b"here", &flipped).is_none(), "a flipped byte");
        assert!(
            key.decrypt(b"here", &sealed[..sealed.len() - 1]).is_none(),
            "cut short"
        );
        assert!(key.decrypt(b"here", &sealed[..3]).is_none());
        let two = key.encrypt(b"here", b"secret text").unwrap();
        assert_ne!(two, sealed, "every encryption has its own nonce");
    }

    #[test]
    fn wrapped_keys_unwrap_under_their_wrapping_key_only() {
        let (master, other) = (DataKey::generate(), DataKey::generate());
        let key = DataKey::generate();
        let wrapped = key.wrap(master.bytes(), b"db").unwrap();
        let back = DataKey::unwrap(master.bytes(), b"db", &wrapped).unwrap();
        assert_eq!(back.bytes(), key.bytes());
        assert!(DataKey::unwrap(other.bytes(), b"db", &wrapped).is_none());
        assert!(DataKey::unwrap(master.bytes(), b"db2", &wrapped).is_none());
    }
}
