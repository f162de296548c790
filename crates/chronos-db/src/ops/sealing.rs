//! Payload encryption on the way to storage and back (see [`crate::crypt`]): stored bytes
//! are sealed after compression and opened before decompression. Payloads written before
//! encryption was turned on are read as they are.

use std::borrow::Cow;

use bytes::Bytes;

use super::payload::Encoded;
use super::Collection;
use crate::crypt::sealed::{is_sealed, Owner, Place};
use crate::error::{Error, Result};
use crate::model::ReadOptions;

impl Collection {
    fn owner<'a>(&'a self, id: &'a str, ov: u64) -> Owner<'a> {
        Owner {
            db: &self.inner.ns.db_name,
            collection: &self.inner.ns.collection,
            id,
            ov,
        }
    }

    /// Checks read options before any I/O: presigned URLs are refused when payloads are
    /// encrypted, since the objects they point at hold ciphertext.
    pub(super) fn check_read_options(&self, opts: &ReadOptions) -> Result<()> {
        super::read::check_read_options(opts)?;
        if opts.presign && self.inner.keys.is_some() {
            return Err(Error::Validation(format!(
                "presigned URLs are not available for {}: its payloads are encrypted, and a                  URL would hand out ciphertext; read the records instead",
                self.name()
            )));
        }
        Ok(())
    }

    /// `encoded` with its bytes sealed for where they go (the version row, or the version's
    /// object), when encryption is on.
    pub(super) async fn seal_encoded(
        &self,
        mut encoded: Encoded,
        id: &str,
        ov: u64,
    ) -> Result<Encoded> {
        let Some(keys) = &self.inner.keys else {
            return Ok(encoded);
        };
        let place = self.place(encoded.inline);
        let sealed = keys
            .seal(&self.owner(id, ov), &place, &encoded.bytes)
            .await?;
        encoded.bytes = Bytes::from(sealed);
        Ok(encoded)
    }

    /// The stored bytes inside `bytes` read from the version row (`inline`) or the object of
    /// `(id, ov)`: opened when they are sealed, as they are otherwise.
    pub(super) async fn open_stored<'a>(
        &self,
        bytes: &'a [u8],
        id: &str,
        ov: u64,
        inline: bool,
    ) -> Result<Cow<'a, [u8]>> {
        if !is_sealed(bytes) {
            return Ok(Cow::Borrowed(bytes));
        }
        let keys = self.keys_for_sealed(id, ov)?;
        let place = self.place(inline);
        let what = format!("payload of {id}@v{ov}");
        let plain = keys.open(&self.owner(id, ov), &place, bytes, &what).await?;
        Ok(Cow::Owned(plain.to_vec()))
    }

    /// [`Collection::open_stored`] for an inline payload without I/O: `None` when opening it
    /// needs a key that is not in memory.
    pub(super) fn open_inline_ready<'a>(
        &self,
        bytes: &'a [u8],
        id: &str,
        ov: u64,
    ) -> Option<Result<Cow<'a, [u8]>>> {
        if !is_sealed(bytes) {
            return Some(Ok(Cow::Borrowed(bytes)));
        }
        let keys = match self.keys_for_sealed(id, ov) {
            Ok(keys) => keys,
            Err(e) => return Some(Err(e)),
        };
        let what = format!("payload of {id}@v{ov}");
        keys.open_ready(&self.owner(id, ov), &Place::Inline, bytes, &what)
            .map(|opened| opened.map(|plain| Cow::Owned(plain.to_vec())))
    }

    /// Loads the route key into memory (when encryption is on and the route has one), so
    /// that a listing opens inline payloads without I/O.
    pub(super) async fn warm_keys(&self) -> Result<()> {
        if let Some(keys) = &self.inner.keys {
            keys.route_key(false).await?;
        }
        Ok(())
    }

    fn place(&self, inline: bool) -> Place<'_> {
        match inline {
            true => Place::Inline,
            false => Place::Object {
                bucket: self.bucket(),
            },
        }
    }

    fn keys_for_sealed(&self, id: &str, ov: u64) -> Result<&crate::crypt::RouteKeys> {
        self.inner.keys.as_deref().ok_or_else(|| {
            Error::config(
                "encryption",
                format!(
                    "the payload of {}/{id}@v{ov} is encrypted, and encryption is not \
                     configured: enable it with the master key it was written under",
                    self.name()
                ),
            )
        })
    }
}
