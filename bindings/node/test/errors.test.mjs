// Every error code a caller can meet, with its fields; and bad input of every kind JavaScript
// can produce: each a ValidationError naming where it is (or a documented conversion),
// never a crash, and nothing stored.

import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';

import {
  initChronos,
  ChronosError,
  ConflictError,
  NotFoundError,
  DeletedError,
  ValidationError,
  ConfigError,
  RouteError,
  BackendError,
  CorruptError,
  PreconditionError,
} from '../index.js';
import { freshDir, usersOfTenantA } from './helpers.mjs';

function embedded() {
  return initChronos({ embedded: freshDir(), tenants: ['tenant-a'] });
}

test('each error has its class, its stable code and its fields', async () => {
  const chronos = embedded();
  const ops = chronos.with(usersOfTenantA);
  const w = await ops.create({ email: 'a@example.com' });
  await ops.update(w.id, { email: 'b@example.com' }, 0);

  const conflict = await ops.update(w.id, { email: 'c@example.com' }, 0).catch((e) => e);
  assert.ok(conflict instanceof ConflictError && conflict instanceof ChronosError && conflict instanceof Error);
  assert.deepEqual(
    [conflict.code, conflict.expectedOv, conflict.currentOv, conflict.id, conflict.collection, conflict.transient],
    ['CONFLICT', 0, 1, w.id, 'users', false],
  );

  const missing = await ops.update('no-such-record', { x: 1 }, 0).catch((e) => e);
  assert.ok(missing instanceof NotFoundError);
  assert.equal(missing.code, 'NOT_FOUND');

  await ops.delete(w.id, 1);
  const deleted = await ops.update(w.id, { x: 1 }, 2).catch((e) => e);
  assert.ok(deleted instanceof DeletedError);
  assert.deepEqual([deleted.code, deleted.currentOv], ['DELETED', 2]);

  const route = await chronos.with({ ...usersOfTenantA, tenantId: 'nobody' }).create({ x: 1 }).catch((e) => e);
  assert.ok(route instanceof RouteError);
  assert.equal(route.code, 'ROUTE');

  const badId = await ops.getLatest('a/b\u0000').catch((e) => e);
  assert.ok(badId instanceof ValidationError);
  // A bad argument to an instance call is a ValidationError too, naming the argument.
  const badOp = await chronos.fallback.retry(42).catch((e) => e);
  assert.ok(badOp instanceof ValidationError, String(badOp));
  assert.equal(badOp.path, 'opId');
  await chronos.shutdown();
});

test('a bad configuration lists every problem with its path', async () => {
  const chronos = initChronos({
    dbConnections: { main: { sqliteDir: freshDir() } },
    spacesConnections: { files: { localPath: freshDir() } },
    databases: {
      runtime: {
        tenantDatabases: [
          { tenantId: 'a', dbConnRef: 'nowhere', spaceConnRef: 'files', bucket: 'b', dbName: 'd' },
          { tenantId: 'b', dbConnRef: 'main', spaceConnRef: 'elsewhere', bucket: 'b', dbName: 'e' },
        ],
      },
    },
  });
  const e = await chronos.ready().catch((err) => err);
  assert.ok(e instanceof ConfigError, String(e));
  assert.equal(e.code, 'CONFIG');
  const paths = e.problems.map((p) => p.path);
  assert.ok(paths.includes('databases.runtime.tenantDatabases[0].dbConnRef'), paths.join());
  assert.ok(paths.includes('databases.runtime.tenantDatabases[1].spaceConnRef'), paths.join());
  // Calls on the instance answer the same error; nothing hangs.
  await assert.rejects(chronos.with(usersOfTenantA).create({ x: 1 }), ConfigError);
});

test('values JSON cannot hold are refused with their path, and nothing is stored', async () => {
  const chronos = embedded();
  const ops = chronos.with(usersOfTenantA);
  const cycle = { name: 'loop' };
  cycle.self = cycle;
  const bad = [
    [{ f() {} }, 'data.f'],
    [{ n: 10n }, 'data.n'],
    [{ s: Symbol('x') }, 'data.s'],
    [{ x: NaN }, 'data.x'],
    [{ x: Infinity }, 'data.x'],
    [{ deep: { list: [1, undefined] } }, 'data.deep.list[1]'],
    [cycle, 'data.self'],
    [{ when: new Date(NaN) }, 'data.when'],
  ];
  for (const [data, path] of bad) {
    const e = await ops.create(data).catch((err) => err);
    assert.ok(e instanceof ValidationError, `${path}: ${e}`);
    assert.equal(e.code, 'VALIDATION');
    assert.equal(e.path, path);
  }
  for (const notAnObject of [null, 42, 'text', [1, 2], new Date()]) {
    await assert.rejects(ops.create(notAnObject), ValidationError);
  }
  await assert.rejects(ops.update('x', { a: 1 }, -1), ValidationError);
  await assert.rejects(ops.update('x', { a: 1 }, 1.5), ValidationError);
  await assert.rejects(ops.getAsOf('x', 12345), ValidationError);
  assert.equal((await ops.listByMeta({})).items.length, 0, 'nothing was stored');

  // The documented conversions: a Date becomes its ISO string, an undefined property is left out.
  const when = new Date('2024-05-06T07:08:09.010Z');
  const w = await ops.create({ when, gone: undefined, kept: 1 });
  const stored = await ops.getLatest(w.id);
  assert.deepEqual(stored.data, { when: '2024-05-06T07:08:09.010Z', kept: 1 });
  await chronos.shutdown();
});

test('a backend that does not answer is a transient BackendError', async () => {
  const chronos = initChronos({
    dbConnections: { main: { mongoUri: 'mongodb://127.0.0.1:9/?directConnection=true', serverSelectionTimeoutMs: 200 } },
    spacesConnections: { files: { localPath: freshDir() } },
    databases: { runtime: { genericDatabase: { dbConnRef: 'main', spaceConnRef: 'files', bucket: 'chronos-down', dbName: 'down' } } },
  });
  const e = await chronos.with({ databaseType: 'runtime', tier: 'generic', collection: 'c' }).create({ x: 1 }).catch((err) => err);
  assert.ok(e instanceof BackendError, String(e));
  assert.deepEqual([e.code, e.transient], ['BACKEND', true]);
  await chronos.shutdown();
});

function files(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

test('a payload changed behind the store is a CorruptError; other records still read', async () => {
  const dir = freshDir();
  const chronos = initChronos({ embedded: dir, tenants: ['tenant-a'], writeOptimization: { payloadLayout: 'objects' } });
  const ops = chronos.with(usersOfTenantA);
  const hit = await ops.create({ n: 1 });
  const kept = await ops.create({ n: 2 });
  const payload = files(join(dir, 'blobs')).find((f) => f.includes(hit.id) && f.endsWith('item.json'));
  writeFileSync(payload, 'not a payload');
  const e = await ops.getLatest(hit.id).catch((err) => err);
  assert.ok(e instanceof CorruptError, String(e));
  assert.deepEqual([e.code, e.transient], ['CORRUPT', false]);
  assert.equal((await ops.getLatest(kept.id)).data.n, 2);
  await chronos.shutdown();
});

test('a store of a newer format is a PreconditionError, and is left as it was', async () => {
  const dir = freshDir();
  const first = initChronos({ embedded: dir, tenants: ['tenant-a'] });
  await first.with(usersOfTenantA).create({ n: 1 });
  await first.shutdown();
  const file = join(dir, 'index', 'runtime_tenant_tenant_a.sqlite3');
  const bump = 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("PRAGMA user_version = 999"); c.commit()';
  execFileSync('python3', ['-c', bump, file]);
  const later = initChronos({ embedded: dir, tenants: ['tenant-a'] });
  const e = await later.with(usersOfTenantA).create({ n: 2 }).catch((err) => err);
  assert.ok(e instanceof PreconditionError, String(e));
  assert.equal(e.code, 'PRECONDITION');
  const read = 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version").fetchone()[0])';
  assert.equal(execFileSync('python3', ['-c', read, file], { encoding: 'utf8' }).trim(), '999');
  await later.shutdown();
});
