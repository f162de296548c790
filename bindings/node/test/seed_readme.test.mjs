// The seed README's examples, as written, on the embedded stores and (when the test servers
// run) on MongoDB + S3: only the connection details of the configuration differ.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { initChronos, RouteError } from '../index.js';
import { backends, seedConfig } from './helpers.mjs';

for (const backend of backends()) {
  test(`the quick start runs as written (${backend.name})`, async () => {
    const chronos = initChronos(seedConfig(backend));
    const tenantAOps = chronos.with({ databaseType: 'runtime', tier: 'tenant', tenantId: 'tenant-a', collection: 'users' });
    const tenantBOps = chronos.with({ databaseType: 'runtime', tier: 'tenant', tenantId: 'tenant-b', collection: 'users' });
    const a = await tenantAOps.create({ email: 'user@tenant-a.com', name: 'User A' });
    assert.equal(a.ov, 0);
    assert.ok(a.createdAt instanceof Date);
    // The quick start's configuration names no tenant-b: its route is refused, by name.
    await assert.rejects(tenantBOps.create({ email: 'user@tenant-b.com', name: 'User B' }), (e) => e instanceof RouteError && e.code === 'ROUTE' && /tenant-b/.test(e.message));
    await chronos.shutdown();
  });

  test(`the three routing options (${backend.name})`, async () => {
    const chronos = initChronos(seedConfig(backend));
    const a = chronos.with({ databaseType: 'runtime', tier: 'tenant', tenantId: 'tenant-a', collection: 'users' });
    const b = chronos.with({ databaseType: 'metadata', tier: 'generic', collection: 'config' });
    const c = chronos.with({ databaseType: 'knowledge', tier: 'domain', domain: 'healthcare', collection: 'articles' });
    const ids = [];
    for (const ops of [a, b, c]) ids.push((await ops.create({ title: 'x' }, 'actor', 'reason')).id);
    // Each route is its own store: a record is found through its own route only.
    assert.ok(await a.getLatest(ids[0]));
    assert.equal(await b.getLatest(ids[0]), null);
    assert.equal(await c.getLatest(ids[0]), null);
    assert.ok(await c.getLatest(ids[2]));
    await chronos.shutdown();
  });

  test(`CRUD, enrichment, reads and restore (${backend.name})`, async () => {
    const config = seedConfig(backend);
    const chronos = initChronos(config);
    const ops = chronos.with({ databaseType: 'runtime', tier: 'tenant', tenantId: 'tenant-a', collection: 'users' });
    const data = { email: 'a@example.com', status: 'active', tags: ['new'], metadata: { source: 'web' } };

    const created = await ops.create(data, 'actor', 'reason');
    assert.deepEqual([created.ov, typeof created.id, created.createdAt instanceof Date], [0, 'string', true]);
    const id = created.id;
    const updated = await ops.update(id, { ...data, status: 'pro' }, created.ov, 'actor', 'reason');
    assert.equal(updated.ov, 1);
    assert.ok(updated.updatedAt instanceof Date);
    assert.ok(updated.cv > created.cv);

    await ops.enrich(id, { tags: ['premium'], metadata: { newField: 'value' } }, { functionId: 'enricher@v1', actor: 'system', reason: 'automated enrichment' });
    await ops.enrich(id, [{ tags: ['vip'] }, { metadata: { score: 100 } }, { tags: ['verified'] }]);

    const latest = await ops.getLatest(id, { presign: true, ttlSeconds: 3600, projection: ['email', 'status'] });
    assert.equal(latest.ov, 3);
    assert.deepEqual(Object.keys(latest.data).sort(), ['email', 'status']);
    const full = await ops.getLatest(id);
    assert.deepEqual(full.data.tags, ['new', 'premium', 'vip', 'verified']);
    assert.deepEqual(full.data.metadata, { source: 'web', newField: 'value', score: 100 });
    // Provenance is per version: the first enrichment named its function.
    assert.deepEqual((await ops.getVersion(id, 2)).functionIds, ['enricher@v1']);

    const v1 = await ops.getVersion(id, 1);
    assert.equal(v1.data.status, 'pro');
    const historical = await ops.getAsOf(id, '2024-01-01T00:00:00Z');
    assert.equal(historical, null, 'the record did not exist in 2024');
    const atCreation = await ops.getAsOf(id, created.createdAt);
    assert.equal(atCreation.data.status, 'active');

    const results = await ops.listByMeta({ filter: { status: 'pro' }, limit: 50, afterId: null, sort: { updatedAt: -1 } }, { presign: true });
    assert.deepEqual(results.items.map((v) => v.id), [id]);

    const restored = await ops.restoreObject(id, { ov: 0 });
    assert.equal(restored.ov, 4);
    assert.equal((await ops.getLatest(id)).data.status, 'active');
    const byTime = await ops.restoreObject(id, { at: updated.updatedAt });
    assert.equal((await ops.getLatest(id)).data.status, 'pro');
    assert.equal(byTime.ov, 5);

    const other = await ops.create({ email: 'b@example.com', status: 'active' });
    const plan = await ops.restoreCollection({ cv: created.cv }, { dryRun: true });
    assert.equal(plan.dryRun, true);
    const rewound = await ops.restoreCollection({ cv: created.cv });
    assert.ok(rewound.actions.length >= 2, JSON.stringify(rewound));
    assert.equal((await ops.getLatest(other.id)).deleted, true, 'a record created after the target is deleted');

    const latestNow = await ops.getLatest(id);
    const deleted = await ops.delete(id, latestNow.ov, 'gdpr-request', 'user-data-deletion');
    assert.ok(deleted.deletedAt instanceof Date);
    assert.equal((await ops.getLatest(id)).deleted, true);
    assert.equal((await ops.getVersion(id, 1)).data.status, 'pro', 'history is kept');

    const totals = await chronos.counters.getTotals({ databaseType: 'runtime', tier: 'tenant', tenantId: 'tenant-a', collection: 'users' });
    assert.equal(totals.created, 2);
    // The seed's own form: the database by name.
    const dbName = config.databases.runtime.tenantDatabases[0].dbName;
    const metrics = await chronos.counters.getTotals({ dbName, collection: 'users' });
    assert.deepEqual(metrics, totals);
    await chronos.shutdown();
  });

  test(`the IoT batch: creates, 100 at a time with Promise.all (${backend.name})`, async () => {
    const chronos = initChronos(seedConfig(backend));
    const iotOps = chronos.with({ databaseType: 'runtime', tier: 'tenant', tenantId: 'iot-platform', collection: 'sensor-data' });
    const batchSize = 10000;
    const sensorData = Array.from({ length: batchSize }, (_, i) => ({
      deviceId: `sensor-${i % 1000}`,
      timestamp: new Date(),
      temperature: Math.random() * 100,
      humidity: Math.random() * 100,
      location: { lat: Math.random() * 90, lng: Math.random() * 180 },
    }));
    const results = [];
    for (let i = 0; i < sensorData.length; i += 100) {
      const batch = sensorData.slice(i, i + 100);
      results.push(...(await Promise.all(batch.map((data) => iotOps.create(data, 'iot-ingestion', 'sensor-data')))));
    }
    assert.equal(new Set(results.map((r) => r.id)).size, batchSize);
    assert.equal(new Set(results.map((r) => r.cv)).size, batchSize, 'every create has its own cv');
    const one = await iotOps.getLatest(results[7].id);
    // A Date in the data is stored as its ISO string (the documented conversion).
    assert.equal(one.data.timestamp, sensorData[7].timestamp.toISOString());
    await chronos.shutdown();
  });
}
