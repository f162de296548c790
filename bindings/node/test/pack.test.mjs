// The package as a user gets it: `npm pack`'s tarball installs into an empty project, and
// the quick start runs there, importing 'chronos-db' by name.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { freshDir } from './helpers.mjs';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

const QUICK_START = `
import { initChronos, ConflictError } from 'chronos-db';

const chronos = initChronos({ embedded: './data', tenants: ['tenant-a'] });
const ops = chronos.with({ databaseType: 'runtime', tier: 'tenant', tenantId: 'tenant-a', collection: 'users' });
const created = await ops.create({ email: 'user@tenant-a.com', name: 'User A' }, 'app', 'signup');
const updated = await ops.update(created.id, { email: 'user@tenant-a.com', name: 'A' }, created.ov, 'app', 'rename');
const stale = await ops.update(created.id, { name: 'late' }, 0).catch((e) => e);
const latest = await ops.getLatest(created.id);
console.log(JSON.stringify({ ov: latest.ov, name: latest.data.name, conflict: stale instanceof ConflictError }));
await chronos.shutdown();
`;

test('the npm pack tarball installs into an empty project and its quick start runs', () => {
  const work = freshDir();
  execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: packageDir, stdio: 'pipe' });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack made a tarball');
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--silent', '--no-audit', '--no-fund', join(work, tarball)], { cwd: app, stdio: 'pipe' });
  writeFileSync(join(app, 'quickstart.mjs'), QUICK_START);
  const env = { ...process.env };
  delete env.CHRONOS_DB_NATIVE;
  const out = execFileSync('node', ['quickstart.mjs'], { cwd: app, env, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out.trim()), { ov: 1, name: 'A', conflict: true });
});
