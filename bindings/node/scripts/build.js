'use strict';
// Builds the native addon with cargo and puts it beside the package as chronos_db.node.
// `--release` for an optimised build (what `npm run build` does); a debug build otherwise.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const release = process.argv.includes('--release');
const root = path.resolve(__dirname, '..', '..', '..');
const args = ['build', '-p', 'chronos-db-node', ...(release ? ['--release'] : [])];
execFileSync('cargo', args, { cwd: root, stdio: 'inherit' });
const target = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
const names = { linux: 'libchronos_db_node.so', darwin: 'libchronos_db_node.dylib', win32: 'chronos_db_node.dll' };
const built = path.join(target, release ? 'release' : 'debug', names[process.platform] || names.linux);
fs.copyFileSync(built, path.join(__dirname, '..', 'chronos_db.node'));
console.log(`chronos-db: built ${built} -> chronos_db.node`);
