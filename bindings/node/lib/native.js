'use strict';
// Loads the native half: `chronos_db.node` beside the package (built by `npm run build`),
// or the file named by CHRONOS_DB_NATIVE.

const path = require('node:path');

function load() {
  const file = process.env.CHRONOS_DB_NATIVE || path.join(__dirname, '..', 'chronos_db.node');
  try {
    return require(file);
  } catch (e) {
    const hint = 'build it with `npm run build` in the package directory (needs cargo)';
    throw new Error(`chronos-db: cannot load the native addon ${file}: ${e.message}; ${hint}`);
  }
}

module.exports = load();
