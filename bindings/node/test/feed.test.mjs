// The rest of the library through the package: batches, history, diff, the change feed
// (pages and `for await ... of ops.follow()`), verify, export / import, erase, health and the
// fallback queue's inspection.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { initChronos } from '../index.js';
import { freshDir, usersOfTenantA } from './helpers.mjs';

test('history, diff, changes and follow', async () => {
  const chronos = initChronos({ embedded: freshDir(), tenants: ['tenant-a'] });
  const ops = chronos.with(usersOfTenantA);
  const [a, b] = await ops.createMany([{ n: 1 }, { n: 2 }], 'batch', 'two');
  await ops.update(a.id, { n: 10, extra: true }, 0);

  const history = await ops.history(a.id, { includeData: true });
  assert.deepEqual(history.versions.map((v) => [v.ov, v.kind, v.data.n]), [[0, 'create', 1], [1, 'update', 10]]);
  const diff = await ops.diff(a.id, 0, 1);
  assert.deepEqual(diff.changedPaths.sort(), ['/extra', '/n']);

  const page = await ops.changes({ afterCv: null, limit: 10 });
  assert.deepEqual(page.changes.map((c) => [c.id, c.ov]), [[a.id, 0], [b.id, 0], [a.id, 1]]);
  assert.equal(page.caughtUp, true);

  const seen = [];
  const controller = new AbortController();
  const following = (async () => {
    for await (const change of ops.follow({ afterCv: page.afterCv, pollMs: 20, signal: controller.signal })) {
      seen.push(change.ov);
      if (seen.length === 2) controller.abort();
    }
  })();
  await ops.update(b.id, { n: 20 }, 0);
  await ops.update(b.id, { n: 30 }, 1);
  await following;
  assert.deepEqual(seen, [1, 2]);

  const verified = await ops.verify(a.id);
  assert.deepEqual([verified.id, verified.verified], [a.id, 2]);
  await chronos.shutdown();
});

test('export, import, erase, health and the queue', async () => {
  const source = initChronos({ embedded: freshDir(), tenants: ['tenant-a'] });
  const ops = source.with(usersOfTenantA);
  const w = await ops.create({ text: 'draft' }, 'me', 'write');
  await ops.update(w.id, { text: 'final' }, 0, 'me', 'edit');
  const exported = await ops.export();
  assert.equal(exported.length, 2);

  const target = initChronos({ embedded: freshDir(), tenants: ['tenant-a'] });
  const copy = target.with(usersOfTenantA);
  const report = await copy.import(exported);
  assert.deepEqual([report.imported, report.versionsWritten], [1, 2]);
  assert.equal((await copy.getVersion(w.id, 0)).data.text, 'draft');

  const erased = await copy.erase(w.id, 1, 'dpo', 'erasure request');
  assert.equal(erased.versionsRemoved, 2);
  assert.equal(await copy.getLatest(w.id), null);

  // Maintenance through the package: a dry-run repair, prune, a collection restore by time.
  const repair = await target.repair({ dryRun: true, minAgeSeconds: 0 });
  assert.deepEqual(repair.orphans, []);
  assert.equal((await target.prune()).versionsRemoved, 0);
  const again = await copy.create({ text: 'later' });
  const rewound = await copy.restoreCollection({ at: new Date(0) }, { actor: 'ops', reason: 'rewind' });
  assert.ok(rewound.actions.some((a) => a.id === again.id), JSON.stringify(rewound));

  const health = await target.health();
  assert.ok(health.backends.every((b) => b.ok));
  assert.deepEqual(await target.fallback.list('pending'), []);
  assert.equal((await target.fallback.replayNow()).committed, 0);
  await source.shutdown();
  await target.shutdown();
});
