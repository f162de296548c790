//! The Node.js addon of chronos-db: the library's own async API, served to JavaScript as
//! Promises on the library's Tokio runtime, so no call blocks the event loop.
//!
//! The addon is the thin native half of the `chronos-db` npm package. Values cross the
//! boundary as JSON text: requests are parsed here into the library's types, answers are
//! the library's own serialisations, and errors carry their stable code and fields as JSON
//! (see [`errors`]). `index.js` turns them into the seed's API (`initChronos`,
//! `chronos.with`, `ops.create`, ...) with `Date`s and `Error` subclasses.

mod collection;
mod errors;
mod instance;
mod numbers;
mod requests;

pub use collection::NativeCollection;
pub use instance::{open, NativeChronos};
