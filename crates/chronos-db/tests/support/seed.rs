//! The configuration of the seed README (the TypeScript package chronos-db v2), in its JSON
//! shape, shared by the configuration tests.

use serde_json::json;

/// The seed README's configuration.
pub fn seed_config() -> serde_json::Value {
    json!({
        "dbConnections": {
            "mongo-primary": {"mongoUri": "mongodb+srv://user:pass@primary-cluster.mongodb.net"},
            "mongo-analytics": {"mongoUri": "mongodb+srv://user:pass@analytics-cluster.mongodb.net"}
        },
        "spacesConnections": {
            "s3-primary": {"endpoint": "https://s3.amazonaws.com", "region": "us-east-1",
                           "accessKey": "AKIA", "secretKey": "secret"}
        },
        "databases": {
            "metadata": {
                "genericDatabase": {"dbConnRef": "mongo-primary", "spaceConnRef": "s3-primary",
                                    "bucket": "chronos-metadata", "dbName": "chronos_metadata_generic"},
                "domainsDatabases": [{"domain": "healthcare", "dbConnRef": "mongo-primary",
                                      "spaceConnRef": "s3-primary", "bucket": "chronos-metadata-healthcare",
                                      "dbName": "chronos_metadata_healthcare"}],
                "tenantDatabases": [{"tenantId": "tenant-a", "dbConnRef": "mongo-primary",
                                     "spaceConnRef": "s3-primary", "bucket": "chronos-metadata-tenant-a",
                                     "dbName": "chronos_metadata_tenant_a"}]
            },
            "knowledge": {
                "genericDatabase": {"dbConnRef": "mongo-primary", "spaceConnRef": "s3-primary",
                                    "bucket": "chronos-knowledge", "dbName": "chronos_knowledge_generic"},
                "domainsDatabases": [],
                "tenantDatabases": []
            },
            "runtime": {
                "tenantDatabases": [{"tenantId": "tenant-a", "dbConnRef": "mongo-primary",
                                     "spaceConnRef": "s3-primary", "bucket": "chronos-runtime-tenant-a",
                                     "dbName": "chronos_runtime_tenant_a",
                                     "analyticsDbName": "chronos_analytics_tenant_a"}]
            },
            "logs": {"dbConnRef": "mongo-primary", "spaceConnRef": "s3-primary",
                     "bucket": "chronos-logs", "dbName": "chronos_logs"}
        },
        "routing": {"hashAlgo": "rendezvous"},
        "retention": {"ver": {"days": 90}, "counters": {"days": 30}},
        "collectionMaps": {
            "users": {"indexedProps": ["email", "tenantId"]},
            "orders": {"indexedProps": ["orderId", "customerId", "tenantId"]},
            "financial_records": {
                "indexedProps": ["accountId", "transactionId", "amount", "date"],
                "validation": {"requiredIndexed": ["accountId", "transactionId", "amount"]}
            }
        },
        "counterRules": {"rules": [{"name": "activeUsers", "on": ["CREATE"], "scope": "meta",
                                    "when": {"status": "active"}}]},
        "devShadow": {"enabled": true, "ttlHours": 24, "maxBytesPerDoc": 1048576},
        "logicalDelete": {"enabled": true},
        "versioning": {"enabled": true},
        "transactions": {"enabled": true, "autoDetect": true},
        "writeOptimization": {"batchSize": 1000, "debounceMs": 100, "compressionEnabled": true},
        "fallback": {"enabled": true, "maxRetries": 3, "retryDelayMs": 1000, "maxDelayMs": 60000}
    })
}
