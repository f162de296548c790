//! The conformance suite: behaviour tests written once against the public API and run for
//! every backend pair, in both payload layouts (`inline`, the default, and `objects`). The
//! objects layout runs on MongoDB without transactions only: the layouts differ above the
//! index (put before commit, discard after a refusal), and that is the MongoDB mode whose
//! commit has two steps. A new pair is one line per layout at the bottom of this file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod bad_input;
mod batch;
mod chain;
mod changes;
mod concurrency;
mod counters;
mod diff;
mod env;
mod fallback;
mod history;
mod isolation;
mod listing;
mod payloads;
mod time_travel;
mod transfer;
mod versions;

pub use env::Env;

/// Generates one `#[tokio::test]` per case for a backend pair. `$make` is an async fn that
/// returns the pair's [`Env`], or `None` when the pair's servers are not running (see
/// `env::servers`).
macro_rules! conformance_suite {
    ($pair:ident => $make:path) => {
        mod $pair {
            conformance_suite!(@cases $make;
                versions::numbering_starts_at_zero_and_counts_per_record,
                versions::collection_versions_never_repeat,
                versions::latest_carries_data_and_provenance,
                versions::caller_ids_are_unique,
                versions::stale_expected_ov_conflicts_and_writes_nothing,
                versions::writes_to_missing_records_are_not_found,
                versions::logical_delete_keeps_history,
                versions::stale_delete_conflicts,
                time_travel::as_of_at_exact_boundaries,
                time_travel::as_of_sees_deletes,
                time_travel::get_version_of_every_ov,
                listing::filter_operators,
                listing::filters_agree_with_the_reference_evaluator,
                listing::long_in_lists_answer_like_the_reference,
                listing::pagination_has_no_gaps_or_repeats,
                listing::sort_by_prop_orders_types_like_mongodb,
                listing::deleted_records_are_listed_only_on_request,
                listing::declared_indexed_props_limit_queries,
                listing::projection_keeps_only_asked_paths,
                isolation::tenants_never_see_each_other,
                isolation::tiers_and_types_are_separate,
                isolation::unconfigured_routes_are_errors,
                concurrency::eight_writers_on_one_record_lose_no_update,
                concurrency::sixty_four_writers_on_two_instances_lose_no_update,
                concurrency::concurrent_creates_get_distinct_cvs,
                concurrency::collection_locks_have_one_holder,
                bad_input::bad_ids_are_rejected_and_change_nothing,
                bad_input::bad_payloads_are_rejected_and_change_nothing,
                bad_input::required_indexed_props_are_enforced,
                bad_input::bad_list_queries_are_rejected,
                bad_input::bad_routes_are_rejected,
                bad_input::bad_projection_is_rejected,
                bad_input::records_deeper_than_the_limit_are_refused_and_the_deepest_accepted_read_back,
                bad_input::oversized_records_and_indexed_values_are_refused,
                versions::presigned_reads_point_at_the_payload,
                diff::history_lists_every_version_page_by_page,
                diff::history_refuses_unknown_records_and_bad_limits,
                diff::diff_patches_one_version_into_another,
                chain::every_kind_of_write_is_hashed_and_verifies,
                chain::verify_names_a_changed_index_row,
                chain::verify_names_a_changed_payload,
                chain::verify_follows_a_chain_that_retention_shortened,
                chain::verify_names_a_version_removed_behind_its_back,
                transfer::export_then_import_keeps_every_version,
                transfer::import_refuses_bad_histories_and_changes_nothing,
                transfer::import_resumes_and_skips,
                transfer::import_history_creates_a_record_with_its_original_times,
                changes::changes_list_every_committed_write_in_cv_order,
                changes::a_paused_writer_holds_the_feed_back_until_it_commits,
                changes::erased_records_are_absent_from_the_feed,
                changes::queued_writes_hold_the_feed_until_they_replay,
                changes::a_page_seals_at_most_a_thousand_gaps,
                changes::a_refused_write_gives_its_cv_up_at_once,
                history::enrich_merges_deeply_and_records_provenance,
                history::enrich_is_conflict_checked,
                history::restore_object_appends_the_target_state,
                history::restore_collection_rewinds_every_record,
                history::restore_collection_reads_only_records_written_since,
                history::repair_reports_progress_batch_by_batch,
                history::restore_collection_resumes_in_steps,
                history::restore_collection_to_a_time_follows_cv_order_under_clock_skew,
                history::erase_removes_every_version_and_is_audited,
                history::erase_leaves_no_bytes_behind,
                history::delete_erases_when_logical_delete_is_off,
                history::prune_keeps_the_newest_versions,
                history::local_files_keep_nothing_of_refused_interrupted_or_erased_writes,
                payloads::base64_props_live_in_their_own_blobs,
                payloads::dev_shadow_serves_the_latest_without_a_payload_read,
                payloads::compression_is_transparent,
                counters::counters_total_every_kind_of_write,
                counters::counters_are_batched_and_flushed_on_shutdown,
                counters::two_instances_add_up,
                counters::counter_retention_removes_old_buckets_only,
                fallback::refused_writes_are_queued_then_replayed_in_order,
                fallback::failing_replays_are_dead_lettered_then_retried_or_cancelled,
                fallback::without_fallback_refused_writes_fail,
                fallback::a_queued_write_whose_cv_was_sealed_claims_a_fresh_one,
                fallback::stale_writes_are_refused_while_storage_is_down,
                fallback::racing_queued_writers_get_one_acknowledgement_per_ov,
                fallback::direct_writers_cannot_take_a_queued_ov,
                batch::create_many_stores_every_item_in_order,
                batch::create_many_checks_every_item_before_writing,
                batch::create_many_handles_base64_blobs,
            );
        }
    };
    (@cases $make:path; $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                if let Some(env) = $make().await {
                    crate::$module::$case(&env).await;
                }
            }
        )*
    };
}

conformance_suite!(sqlite_local_files => crate::env::sqlite_local_files);
conformance_suite!(sqlite_local_files_objects => crate::env::sqlite_local_files_objects);
conformance_suite!(sqlite_memory_payloads => crate::env::sqlite_memory_payloads);
conformance_suite!(sqlite_memory_payloads_objects => crate::env::sqlite_memory_payloads_objects);
conformance_suite!(mongodb_s3_transactions => crate::env::mongodb_s3_transactions);
conformance_suite!(mongodb_s3_no_transactions => crate::env::mongodb_s3_no_transactions);
conformance_suite!(mongodb_s3_no_transactions_objects => crate::env::mongodb_s3_no_transactions_objects);
