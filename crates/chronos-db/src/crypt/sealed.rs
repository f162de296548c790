//! The stored form of an encrypted payload, and the place it is bound to.
//!
//! ```text
//! magic 0xC5 'C' 'E' | format (1) | scope (1: route key, 2: record key) | key id (16)
//! | nonce (24) | XChaCha20-Poly1305 ciphertext of the stored bytes (compressed or not) | tag (16)
//! ```
//!
//! The first byte is never the first byte of JSON text (nor of gzip), so encrypted, compressed
//! and plain payloads tell themselves apart, and a store that was plain before encryption
//! was turned on stays readable. The associated data is the header followed by the payload's
//! place ([`Place`]): bytes copied to another row, object, version, record or database do
//! not decrypt.

use super::data_key::{DataKey, NONCE_BYTES};
use crate::error::{Error, Result};

const MAGIC: [u8; 3] = [0xC5, b'C', b'E'];
/// The sealed-payload format this build writes.
pub(crate) const SEALED_FORMAT: u8 = 1;
/// Bytes of a key id (a UUID).
pub(crate) const KEY_ID_BYTES: usize = 16;
const HEADER_BYTES: usize = MAGIC.len() + 2 + KEY_ID_BYTES;
/// Bytes an encryption adds: header, nonce, tag.
pub(crate) const OVERHEAD: usize = HEADER_BYTES + NONCE_BYTES + 16;

/// Which key sealed a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The route's key.
    Route,
    /// The record's own key.
    Record,
}

/// What a sealed payload's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub scope: Scope,
    pub key_id: [u8; KEY_ID_BYTES],
}

/// Where a payload is stored, which its encryption is bound to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Place<'a> {
    /// In the version row (and the head's copy of it).
    Inline,
    /// The version's object in `bucket`.
    Object { bucket: &'a str },
}

/// The version a payload belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Owner<'a> {
    pub db: &'a str,
    pub collection: &'a str,
    pub id: &'a str,
    pub ov: u64,
}

/// Whether stored bytes are a sealed payload.
pub(crate) fn is_sealed(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// The header of sealed bytes (`what` names them in errors).
pub(crate) fn header(bytes: &[u8], what: &str) -> Result<Header> {
    if bytes.len() < OVERHEAD || !is_sealed(bytes) {
        return Err(Error::Corrupt(format!(
            "{what} is an encrypted payload cut short ({} bytes)",
            bytes.len()
        )));
    }
    match bytes[MAGIC.len()] {
        SEALED_FORMAT => {}
        newer => {
            return Err(Error::Precondition(format!(
                "{what} is encrypted in format {newer}, newer than this build of chronos-db \
                 reads (format {SEALED_FORMAT}); read it with a newer chronos-db"
            )))
        }
    }
    let scope = match bytes[MAGIC.len() + 1] {
        1 => Scope::Route,
        2 => Scope::Record,
        other => {
            return Err(Error::Corrupt(format!(
                "{what} names an unknown key scope {other}"
            )))
        }
    };
    let mut key_id = [0; KEY_ID_BYTES];
    key_id.copy_from_slice(&bytes[MAGIC.len() + 2..HEADER_BYTES]);
    Ok(Header { scope, key_id })
}

/// The associated data binding `header` to `place` of `owner`.
fn aad(header: &[u8], owner: &Owner<'_>, place: &Place<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    let mut field = |bytes: &[u8]| {
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(bytes);
    };
    field(b"chronos-db payload v1");
    field(header);
    field(owner.db.as_bytes());
    field(owner.collection.as_bytes());
    field(owner.id.as_bytes());
    field(&owner.ov.to_le_bytes());
    match place {
        Place::Inline => field(b"inline"),
        Place::Object { bucket } => {
            field(b"object");
            field(bucket.as_bytes());
        }
    }
    out
}

/// `plain` sealed under `key` (of `header`), bound to `place` of `owner`.
pub(crate) fn seal(
    key: &DataKey,
    header: Header,
    owner: &Owner<'_>,
    place: &Place<'_>,
    plain: &[u8],
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(plain.len() + OVERHEAD);
    out.extend_from_slice(&MAGIC);
    out.push(SEALED_FORMAT);
    out.push(match header.scope {
        Scope::Route => 1,
        Scope::Record => 2,
    });
    out.extend_from_slice(&header.key_id);
    let body = key.encrypt(&aad(&out, owner, place), plain)?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// The stored bytes inside `sealed`, opened with `key` (the one its header names) at `place`
/// of `owner`. Bytes that were changed, cut short or copied from elsewhere are
/// [`Error::Corrupt`].
pub(crate) fn open(
    key: &DataKey,
    owner: &Owner<'_>,
    place: &Place<'_>,
    sealed: &[u8],
    what: &str,
) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    header(sealed, what)?;
    let (head, body) = sealed.split_at(HEADER_BYTES);
    key.decrypt(&aad(head, owner, place), body).ok_or_else(|| {
        Error::Corrupt(format!(
            "{what} does not decrypt: its bytes were changed or cut short, or they were copied \
             from another record, version or place"
        ))
    })
}

/// Hex of a key id, as errors and audit entries name keys.
pub(crate) fn key_id_hex(id: &[u8; KEY_ID_BYTES]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(id: &str) -> Owner<'_> {
        Owner {
            db: "db",
            collection: "c",
            id,
            ov: 1,
        }
    }

    #[test]
    fn a_payload_opens_only_where_it_was_sealed() {
        let key = DataKey::generate();
        let header = Header {
            scope: Scope::Record,
            key_id: [7; KEY_ID_BYTES],
        };
        let place = Place::Object { bucket: "b" };
        let sealed = seal(&key, header, &owner("r"), &place, b"{\"a\":1}").unwrap();
        assert!(is_sealed(&sealed) && !is_sealed(b"{\"a\":1}"));
        assert_eq!(super::header(&sealed, "p").unwrap(), header);
        assert_eq!(sealed.len(), 7 + OVERHEAD);
        let back = open(&key, &owner("r"), &place, &sealed, "p").unwrap();
        assert_eq!(back.as_slice(), b"{\"a\":1}");
        let copied = open(&key, &owner("s"), &place, &sealed, "p").unwrap_err();
        assert_eq!(copied.kind(), crate::ErrorKind::Corrupt, "{copied}");
        assert!(open(&key, &owner("r"), &Place::Inline, &sealed, "p").is_err());
        let mut other_bucket = sealed.clone();
        other_bucket[5] ^= 1; // the key id, part of the associated data
        assert!(open(&key, &owner("r"), &place, &other_bucket, "p").is_err());
        let short = super::header(&sealed[..OVERHEAD - 1], "p").unwrap_err();
        assert_eq!(short.kind(), crate::ErrorKind::Corrupt);
        let mut newer = sealed.clone();
        newer[3] = SEALED_FORMAT + 1;
        let newer = super::header(&newer, "p").unwrap_err();
        assert_eq!(newer.kind(), crate::ErrorKind::Precondition);
    }
}
