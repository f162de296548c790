//! The OpenAPI document, generated from the handlers' annotations. Collection resources are
//! declared once under the tenant/domain prefix; the generic-tier copies are derived from
//! them here, so both forms are in the document.

use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr, Required, ResponseBuilder};
use utoipa::OpenApi;

use crate::extract::{ACTOR_HEADER, REASON_HEADER};
use crate::problem::{Problem, PROBLEM_JSON};
use crate::routes::{collection_ops, feed, records, service, transfer, versions};

#[derive(OpenApi)]
#[openapi(
    info(title = "chronos-db", description = "JSON records with their full version history. Every error is an RFC 9457 problem (`application/problem+json`); the version of a record is its `ETag`, sent back as `If-Match` to update, delete or erase it."),
    paths(
        records::create, records::list, records::get, records::update, records::delete,
        records::enrich, records::create_many,
        versions::history, versions::diff, versions::verify, versions::restore, versions::erase,
        collection_ops::restore_collection, collection_ops::counters,
        feed::changes, feed::stream, transfer::export, transfer::import,
        service::healthz, service::readyz, service::metrics, service::health,
        service::fallback_list, service::fallback_retry, service::fallback_cancel,
    ),
    components(schemas(Problem)),
    tags(
        (name = "records", description = "Create, read, list, update, delete and enrich records"),
        (name = "versions", description = "A record's history, diffs, verification, restore and erase"),
        (name = "collections", description = "Collection-wide restore and counters"),
        (name = "changes", description = "The change feed: pages and a live Server-Sent Events stream"),
        (name = "transfer", description = "Export and import as JSON Lines"),
        (name = "service", description = "Liveness, readiness, metrics, backend health, the fallback queue"),
    )
)]
struct ApiDoc;

const SCOPED: &str = "/v1/{db_type}/{tier}/{owner}/{collection}";
const GENERIC: &str = "/v1/{db_type}/generic/{collection}";

/// The document served at `/openapi.json`.
pub fn document() -> Document {
    let mut doc = ApiDoc::openapi();
    let paths: Vec<(String, PathItem)> = std::mem::take(&mut doc.paths.paths).into_iter().collect();
    for (path, item) in paths {
        if path.starts_with(SCOPED) {
            let generic = path.replacen(SCOPED, GENERIC, 1);
            doc.paths.paths.insert(
                generic.clone(),
                with_path_params(item.clone(), &generic, "_generic"),
            );
        }
        let item = with_path_params(item, &path, "");
        doc.paths.paths.insert(path, item);
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        with_problem_answers(item, path);
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "apiKey",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    doc.security = Some(vec![SecurityRequirement::new(
        "apiKey",
        Vec::<String>::new(),
    )]);
    doc
}

/// The operations of `item`, each with whether it writes (every method but GET).
fn operations(item: &mut PathItem) -> impl Iterator<Item = (&mut Operation, bool)> {
    [
        (&mut item.get, false),
        (&mut item.put, true),
        (&mut item.post, true),
        (&mut item.delete, true),
        (&mut item.patch, true),
    ]
    .into_iter()
    .filter_map(|(op, writes)| op.as_mut().map(|op| (op, writes)))
}

/// Paths that answer without a key.
const OPEN: [&str; 4] = ["/healthz", "/readyz", "/metrics", "/openapi.json"];

/// Makes every error answer of `item` a problem (`application/problem+json`), declares the
/// errors any request of the API may meet, and marks the open paths as needing no key.
fn with_problem_answers(item: &mut PathItem, path: &str) {
    for (op, _) in operations(item) {
        if OPEN.contains(&path) {
            op.security = Some(vec![SecurityRequirement::default()]);
            continue;
        }
        let answers = &mut op.responses.responses;
        for (status, answer) in answers.iter_mut() {
            if let (true, RefOr::T(answer)) =
                (status.starts_with('4') || status.starts_with('5'), answer)
            {
                if let Some(content) = answer.content.shift_remove("application/json") {
                    answer.content.insert(PROBLEM_JSON.to_string(), content);
                }
            }
        }
        for (status, why) in [
            (
                "400",
                "A malformed request: bad JSON, a bad parameter or filter",
            ),
            ("401", "No API key, or one that is not configured"),
            ("403", "The key reaches the route but lacks the right"),
            (
                "404",
                "No such record or route, or one outside the key's scopes",
            ),
            ("413", "The body is over the limit"),
            (
                "500",
                "The configuration, stored data or chronos-db itself failed",
            ),
            (
                "503",
                "A backend failed for now (Retry-After), or the request timed out",
            ),
        ] {
            answers.entry(status.to_string()).or_insert_with(|| {
                RefOr::T(
                    ResponseBuilder::new()
                        .description(why)
                        .content(
                            PROBLEM_JSON,
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("Problem")))
                                .build(),
                        )
                        .build(),
                )
            });
        }
    }
}

/// What each path parameter is.
fn describe(name: &str) -> &'static str {
    match name {
        "db_type" => "Database type: metadata, knowledge, runtime or logs",
        "tier" => "tenant or domain",
        "owner" => "The tenant id (tenant tier) or the domain (domain tier)",
        "collection" => "Collection name",
        "id" => "Record id",
        "op_id" => "The queued write's id",
        _ => "",
    }
}

/// Declares every `{name}` of `path` as a path parameter of each operation of `item` (once),
/// and gives the operations of a derived path their own ids (`suffix`).
fn with_path_params(mut item: PathItem, path: &str, suffix: &str) -> PathItem {
    let names: Vec<&str> = path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect();
    for (op, writes) in operations(&mut item) {
        let params = op.parameters.get_or_insert_with(Vec::new);
        if writes && path.starts_with("/v1/{db_type}") {
            for (name, description) in [
                (
                    ACTOR_HEADER,
                    "Who writes: stored with the version as its actor",
                ),
                (REASON_HEADER, "Why: stored with the version as its reason"),
            ] {
                if !params.iter().any(|p| p.name == name) {
                    params.push(
                        ParameterBuilder::new()
                            .name(name)
                            .parameter_in(ParameterIn::Header)
                            .required(Required::False)
                            .description(Some(description))
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .build(),
                    );
                }
            }
        }
        for name in &names {
            if params
                .iter()
                .any(|p| p.name == *name && p.parameter_in == ParameterIn::Path)
            {
                continue;
            }
            params.push(
                ParameterBuilder::new()
                    .name(*name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(Some(describe(name)))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            );
        }
        if !suffix.is_empty() {
            op.operation_id = op.operation_id.take().map(|id| format!("{id}{suffix}"));
        }
    }
    item
}
