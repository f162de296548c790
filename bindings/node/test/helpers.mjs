// Shared by the tests: a fresh data directory, the seed's quick-start configuration with
// only its connection details changed (to the embedded stores, or to the test servers when
// CHRONOS_TEST_MONGO_URI and CHRONOS_TEST_S3_* are set), and routes.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

const made = [];
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory, removed when the test process exits. */
export function freshDir() {
  const dir = mkdtempSync(join(tmpdir(), 'chronos-node-'));
  made.push(dir);
  return dir;
}

/** The backends the tests run on: always embedded, and MongoDB + S3 when the servers run. */
export function backends() {
  const list = [{ name: 'embedded' }];
  const env = process.env;
  if (env.CHRONOS_TEST_MONGO_URI && env.CHRONOS_TEST_S3_ENDPOINT) list.push({ name: 'mongodb+s3' });
  return list;
}

/** The connection details of a backend: the only part of the seed's configuration changed. */
function connections(backend, dir) {
  const env = process.env;
  if (backend.name === 'embedded') {
    return {
      dbConnections: {
        'mongo-primary': { sqliteDir: join(dir, 'index') },
        'mongo-analytics': { sqliteDir: join(dir, 'analytics') },
      },
      spacesConnections: { 's3-primary': { localPath: join(dir, 'blobs') } },
      suffix: '',
    };
  }
  return {
    dbConnections: {
      'mongo-primary': { mongoUri: env.CHRONOS_TEST_MONGO_URI },
      'mongo-analytics': { mongoUri: env.CHRONOS_TEST_MONGO_URI },
    },
    spacesConnections: {
      's3-primary': {
        endpoint: env.CHRONOS_TEST_S3_ENDPOINT,
        region: env.CHRONOS_TEST_S3_REGION,
        accessKey: env.CHRONOS_TEST_S3_ACCESS_KEY,
        secretKey: env.CHRONOS_TEST_S3_SECRET_KEY,
        forcePathStyle: true,
      },
    },
    // Database names of their own on the shared server.
    suffix: `_${randomUUID().slice(0, 8)}`,
  };
}

/** The seed README's quick-start configuration, on `backend`. */
export function seedConfig(backend, dir = freshDir()) {
  const { dbConnections, spacesConnections, suffix } = connections(backend, dir);
  const bucket = (name) => (backend.name === 'embedded' ? name : 'chronos-test-a');
  return {
    dbConnections,
    spacesConnections,
    databases: {
      metadata: {
        genericDatabase: { dbConnRef: 'mongo-primary', spaceConnRef: 's3-primary', bucket: bucket('chronos-metadata'), dbName: `chronos_metadata_generic${suffix}` },
        domainsDatabases: [
          { domain: 'healthcare', dbConnRef: 'mongo-primary', spaceConnRef: 's3-primary', bucket: bucket('chronos-metadata-healthcare'), dbName: `chronos_metadata_healthcare${suffix}` },
        ],
        tenantDatabases: [
          { tenantId: 'tenant-a', dbConnRef: 'mongo-primary', spaceConnRef: 's3-primary', bucket: bucket('chronos-metadata-tenant-a'), dbName: `chronos_metadata_tenant_a${suffix}` },
        ],
      },
      knowledge: {
        genericDatabase: { dbConnRef: 'mongo-primary', spaceConnRef: 's3-primary', bucket: bucket('chronos-knowledge'), dbName: `chronos_knowledge_generic${suffix}` },
        domainsDatabases: [
          { domain: 'healthcare', dbConnRef: 'mongo-primary', spaceConnRef: 's3-primary', bucket: bucket('chronos-knowledge-healthcare'), dbName: `chronos_knowledge_healthcare${suffix}` },
        ],
        tenantDatabases: [],
      },
      runtime: {
        tenantDatabases: [
          { tenantId: 'tenant-a', dbConnRef: 'mongo-primary', spaceConnRef: 's3-primary', bucket: bucket('chronos-runtime-tenant-a'), dbName: `chronos_runtime_tenant_a${suffix}`, analyticsDbName: `chronos_analytics_tenant_a${suffix}` },
          { tenantId: 'iot-platform', dbConnRef: 'mongo-primary', spaceConnRef: 's3-primary', bucket: bucket('chronos-runtime-iot'), dbName: `chronos_runtime_iot${suffix}` },
        ],
      },
      logs: { dbConnRef: 'mongo-primary', spaceConnRef: 's3-primary', bucket: bucket('chronos-logs'), dbName: `chronos_logs${suffix}` },
    },
    routing: { hashAlgo: 'rendezvous' },
    retention: { ver: { days: 90 }, counters: { days: 30 } },
    collectionMaps: {
      users: { indexedProps: ['email', 'tenantId', 'status'] },
      orders: { indexedProps: ['orderId', 'customerId', 'tenantId'] },
    },
    logicalDelete: { enabled: true },
    versioning: { enabled: true },
    transactions: { enabled: true },
    writeOptimization: { batchSize: 1000, debounceMs: 100, compressionEnabled: true },
    devShadow: { enabled: true, ttlHours: 24, maxBytesPerDoc: 1024 * 1024 },
    fallback: { enabled: true, maxRetries: 3, retryDelayMs: 1000, maxDelayMs: 60000 },
  };
}

export const usersOfTenantA = { databaseType: 'runtime', tier: 'tenant', tenantId: 'tenant-a', collection: 'users' };
