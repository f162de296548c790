// Compiled by `tsc --noEmit --strict` (never run): every call of the package, typed as a
// TypeScript user writes it. A declaration that is missing or wrong fails the test command.

import {
  initChronos,
  ChronosError,
  ConflictError,
  ConfigError,
  type ChronosConfig,
  type CreateResult,
  type Version,
  type Page,
} from '../index.js';

export async function everyCall(): Promise<void> {
  const chronos = initChronos(seedConfig);
  const embedded = initChronos({ embedded: './data', tenants: ['tenant-a'] });
  await embedded.ready();
  const ops = chronos.with({ databaseType: 'runtime', tier: 'tenant', tenantId: 'tenant-a', collection: 'users' });

  const created: CreateResult = await ops.create({ email: 'a@example.com', when: new Date() }, 'actor', 'reason');
  const createdAt: Date = created.createdAt;
  const many = await ops.createMany([{ n: 1 }, { n: 2 }]);
  const updated = await ops.update(created.id, { email: 'b@example.com' }, created.ov, 'actor', 'reason');
  const updatedAt: Date = updated.updatedAt;
  await ops.enrich(created.id, { tags: ['premium'] }, { functionId: 'enricher@v1', actor: 'system', reason: 'r' });
  await ops.enrich(created.id, [{ tags: ['vip'] }, { metadata: { score: 100 } }]);
  const latest: Version | null = await ops.getLatest(created.id, { presign: true, ttlSeconds: 3600, projection: ['email'] });
  if (latest) {
    const at: Date = latest.at;
    const email = latest.data['email'];
    void at;
    void email;
  }
  await ops.getVersion(created.id, 1);
  await ops.getAsOf(created.id, '2024-01-01T00:00:00Z');
  await ops.getAsOf(created.id, createdAt);
  const page: Page = await ops.listByMeta({ filter: { status: 'active' }, limit: 50, afterId: null, sort: { updatedAt: -1 } }, { presign: true });
  const next: string | null = page.nextAfterId;
  await ops.restoreObject(created.id, { ov: 0 });
  await ops.restoreObject(created.id, { at: '2024-01-01T00:00:00Z' });
  const report = await ops.restoreCollection({ cv: 100 }, { dryRun: true });
  const examined: number = report.examined;
  await ops.restoreCollection({ at: new Date() });
  const deleted = await ops.delete(created.id, updated.ov, 'gdpr-request', 'user-data-deletion');
  const deletedAt: Date = deleted.deletedAt;
  const erased = await ops.erase(created.id, 3);
  const removed: number = erased.versionsRemoved;
  const history = await ops.history(created.id, { afterOv: 0, limit: 10, includeData: true });
  const diff = await ops.diff(created.id, 0, 1);
  const paths: string[] = diff.changedPaths;
  const changes = await ops.changes({ afterCv: null, limit: 100 });
  const caughtUp: boolean = changes.caughtUp;
  for await (const change of ops.follow({ afterCv: changes.afterCv, signal: AbortSignal.timeout(10) })) {
    const kind: 'create' | 'update' | 'delete' | 'enrich' | 'restore' = change.kind;
    void kind;
  }
  await ops.verify(created.id);
  const exported = await ops.export();
  const imported = await ops.import(exported, { skipExisting: true });
  const totals = await chronos.counters.getTotals({ databaseType: 'runtime', tier: 'tenant', tenantId: 'tenant-a', collection: 'users' });
  const made: number = totals.created;
  await chronos.counters.getTotals({ dbName: 'chronos_runtime_tenant_a', collection: 'users' });
  const queued = await chronos.fallback.list('deadLetter');
  await chronos.fallback.retry('op');
  await chronos.fallback.cancel('op');
  const replay = await chronos.fallback.replayNow();
  const health = await chronos.health();
  const ok: boolean = health.backends.every((b) => b.ok);
  await chronos.prune();
  await chronos.repair({ dryRun: true, minAgeSeconds: 900 });
  await chronos.shutdown();
  void [many, next, examined, removed, history, paths, caughtUp, imported, made, queued, replay, ok, updatedAt, deletedAt];
}

export function handle(e: unknown): string {
  if (e instanceof ConflictError) return `${e.code}: expected ${e.expectedOv}, current ${e.currentOv}`;
  if (e instanceof ConfigError) return e.problems.map((p) => `${p.path}: ${p.message}`).join('\n');
  if (e instanceof ChronosError) return `${e.code} (transient: ${e.transient})`;
  return String(e);
}

// The seed README's quick-start configuration, as written there.
const seedConfig: ChronosConfig = {
  dbConnections: {
    'mongo-primary': {
      mongoUri: 'mongodb+srv://user:pass@primary-cluster.mongodb.net',
    },
    'mongo-analytics': {
      mongoUri: 'mongodb+srv://user:pass@analytics-cluster.mongodb.net',
    },
  },
  spacesConnections: {
    's3-primary': {
      endpoint: 'https://s3.amazonaws.com',
      region: 'us-east-1',
      accessKey: process.env.AWS_ACCESS_KEY_ID,
      secretKey: process.env.AWS_SECRET_ACCESS_KEY,
    },
  },
  databases: {
    metadata: {
      genericDatabase: { dbConnRef: 'mongo-primary', spaceConnRef: 's3-primary', bucket: 'chronos-metadata', dbName: 'chronos_metadata_generic' },
      domainsDatabases: [
        { domain: 'healthcare', dbConnRef: 'mongo-primary', spaceConnRef: 's3-primary', bucket: 'chronos-metadata-healthcare', dbName: 'chronos_metadata_healthcare' },
      ],
      tenantDatabases: [
        { tenantId: 'tenant-a', dbConnRef: 'mongo-primary', spaceConnRef: 's3-primary', bucket: 'chronos-metadata-tenant-a', dbName: 'chronos_metadata_tenant_a' },
      ],
    },
    knowledge: {
      genericDatabase: { dbConnRef: 'mongo-primary', spaceConnRef: 's3-primary', bucket: 'chronos-knowledge', dbName: 'chronos_knowledge_generic' },
      domainsDatabases: [],
      tenantDatabases: [],
    },
    runtime: {
      tenantDatabases: [
        {
          tenantId: 'tenant-a',
          dbConnRef: 'mongo-primary',
          spaceConnRef: 's3-primary',
          bucket: 'chronos-runtime-tenant-a',
          dbName: 'chronos_runtime_tenant_a',
          analyticsDbName: 'chronos_analytics_tenant_a',
        },
      ],
    },
    logs: { dbConnRef: 'mongo-primary', spaceConnRef: 's3-primary', bucket: 'chronos-logs', dbName: 'chronos_logs' },
  },
  routing: { hashAlgo: 'rendezvous' },
  retention: { ver: { days: 90 }, counters: { days: 30 } },
  collectionMaps: {
    users: { indexedProps: ['email', 'tenantId'] },
    orders: { indexedProps: ['orderId', 'customerId', 'tenantId'] },
  },
  logicalDelete: { enabled: true },
  versioning: { enabled: true },
  transactions: { enabled: true },
  writeOptimization: { batchSize: 1000, debounceMs: 100, compressionEnabled: true },
  devShadow: { enabled: true, ttlHours: 24, maxBytesPerDoc: 1024 * 1024 },
  fallback: { enabled: true, maxRetries: 3, retryDelayMs: 1000, maxDelayMs: 60000 },
};
