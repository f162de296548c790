//! chronos-db errors as N-API errors whose message is JSON: the stable `code` of the error's
//! kind, its message, whether it is transient, and its fields (`collection`, `id`,
//! `expectedOv`, `currentOv`, `problems` with their JSON paths, ...). The JavaScript side
//! turns it into an `Error` subclass; nobody parses a sentence.

use chronos_db::Error;
use serde_json::{json, Value};

/// The N-API error for a chronos-db error.
pub(crate) fn to_napi(e: Error) -> napi::Error {
    napi::Error::from_reason(describe(&e).to_string())
}

/// A bad request from JavaScript (a value the package's own code should not have sent).
pub(crate) fn bad_request(what: &str, e: impl std::fmt::Display) -> napi::Error {
    to_napi(Error::Validation(format!("{what}: {e}")))
}

/// The JSON description of an error.
fn describe(e: &Error) -> Value {
    let mut out = json!({
        "code": e.kind().code(),
        "message": e.to_string(),
        "transient": e.is_transient(),
    });
    let fields = match e {
        Error::Conflict {
            collection,
            id,
            expected,
            current,
            exists,
        } => json!({
            "collection": collection, "id": id, "expectedOv": expected,
            "currentOv": current, "exists": exists,
        }),
        Error::BatchConflict {
            collection,
            ids,
            others_committed,
        } => json!({"collection": collection, "ids": ids, "othersCommitted": others_committed}),
        Error::Deleted { collection, id, ov } => {
            json!({"collection": collection, "id": id, "currentOv": ov})
        }
        Error::Config(problems) => json!({
            "problems": problems
                .iter()
                .map(|p| json!({"path": p.path, "message": p.message}))
                .collect::<Vec<_>>(),
        }),
        _ => json!({}),
    };
    if let (Some(out), Some(fields)) = (out.as_object_mut(), fields.as_object()) {
        out.extend(fields.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_their_code_and_fields() {
        let e = Error::Conflict {
            collection: "c".into(),
            id: "r".into(),
            expected: 1,
            current: 2,
            exists: false,
        };
        let d = describe(&e);
        assert_eq!(d["code"], "CONFLICT");
        assert_eq!(
            (d["expectedOv"].as_u64(), d["currentOv"].as_u64()),
            (Some(1), Some(2))
        );
        assert_eq!(d["transient"], false);
        let c = describe(&Error::config("a.b", "bad"));
        assert_eq!(
            (c["code"].as_str(), c["problems"][0]["path"].as_str()),
            (Some("CONFIG"), Some("a.b"))
        );
    }
}
