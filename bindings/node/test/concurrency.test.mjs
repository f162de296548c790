// Many callers at once: 1,000 concurrent creates get distinct ids and cvs, and of 8 updaters
// racing on one record exactly one wins each ov.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { initChronos, ConflictError } from '../index.js';
import { freshDir, usersOfTenantA } from './helpers.mjs';

test('1,000 concurrent creates each get their own id and cv', async () => {
  const chronos = initChronos({ embedded: freshDir(), tenants: ['tenant-a'] });
  const ops = chronos.with(usersOfTenantA);
  const all = await Promise.all(Array.from({ length: 1000 }, (_, i) => ops.create({ n: i })));
  assert.equal(new Set(all.map((w) => w.id)).size, 1000);
  assert.equal(new Set(all.map((w) => w.cv)).size, 1000);
  await chronos.shutdown();
});

test('8 racing updaters: exactly one winner per ov, and every win is kept', async () => {
  const chronos = initChronos({ embedded: freshDir(), tenants: ['tenant-a'] });
  const ops = chronos.with(usersOfTenantA);
  const { id } = await ops.create({ writer: -1, step: 0 });
  const wins = [];
  async function updater(writer) {
    let ov = 0;
    for (let step = 1; step <= 20; step += 1) {
      try {
        const w = await ops.update(id, { writer, step }, ov);
        wins.push({ ov: w.ov, writer, step });
        ov = w.ov;
      } catch (e) {
        if (!(e instanceof ConflictError)) throw e;
        ov = e.currentOv;
      }
    }
  }
  await Promise.all(Array.from({ length: 8 }, (_, i) => updater(i)));
  const ovs = wins.map((w) => w.ov).sort((a, b) => a - b);
  assert.deepEqual(ovs, Array.from({ length: ovs.length }, (_, i) => i + 1), 'one winner per ov, no gap');
  for (const win of wins) {
    const v = await ops.getVersion(id, win.ov);
    assert.deepEqual(v.data, { writer: win.writer, step: win.step });
  }
  await chronos.shutdown();
});
