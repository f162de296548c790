// The Node.js package against the Rust API, in one run, on the embedded default: the seed's
// IoT batch (creates, 100 at a time with Promise.all), getLatest and a listByMeta page.
// Prints each figure on both sides and the ratio Node.js / Rust (target: <= 1.3 at p50), and
// the longest event-loop delay the Node.js side saw (target: <= 10 ms), measured with
// perf_hooks.monitorEventLoopDelay. Run it with `npm run bench` (release builds of both).
//
// CHRONOS_NODE_BENCH_RECORDS sets the records ingested (default 10000).

import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const records = Number(process.env.CHRONOS_NODE_BENCH_RECORDS || 10000);

function p50(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] || 0;
}

function rust() {
  const dir = mkdtempSync(join(tmpdir(), 'chronos-bench-rust-'));
  const out = execFileSync(
    'cargo',
    ['run', '--quiet', '--release', '-p', 'chronos-db-node', '--example', 'rust_baseline', '--', dir, String(records)],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return JSON.parse(out.trim().split('\n').pop());
}

async function node() {
  const { initChronos } = require('../index.js');
  const dir = mkdtempSync(join(tmpdir(), 'chronos-bench-node-'));
  const chronos = initChronos({ embedded: dir, collectionMaps: { 'sensor-data': { indexedProps: ['deviceId'] } } });
  await chronos.ready();
  const iot = chronos.with({ databaseType: 'runtime', tier: 'generic', collection: 'sensor-data' });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const batches = [];
  const ids = [];
  const started = performance.now();
  for (let i = 0; i < records; i += 100) {
    const t = performance.now();
    const batch = Array.from({ length: Math.min(100, records - i) }, (_, k) => {
      const n = i + k;
      return {
        deviceId: `sensor-${n % 1000}`,
        timestamp: new Date(),
        temperature: (n % 100) * 0.93,
        humidity: (n % 77) * 1.1,
        location: { lat: n % 90, lng: n % 180 },
      };
    });
    const written = await Promise.all(batch.map((data) => iot.create(data, 'iot-ingestion', 'sensor-data')));
    for (const w of written) ids.push(w.id);
    batches.push((performance.now() - t) * 1000);
  }
  const ingestSecs = (performance.now() - started) / 1000;
  const reads = [];
  for (let i = 0; i < 1000; i += 1) {
    const id = ids[(i * 7919) % ids.length];
    const t = performance.now();
    await iot.getLatest(id);
    reads.push((performance.now() - t) * 1000);
  }
  const pages = [];
  for (let i = 0; i < 200; i += 1) {
    const t = performance.now();
    await iot.listByMeta({ filter: { deviceId: `sensor-${i % 1000}` }, limit: 50 });
    pages.push((performance.now() - t) * 1000);
  }
  delay.disable();
  await chronos.shutdown();
  return {
    createsPerSec: records / ingestSecs,
    batchP50Us: p50(batches),
    getLatestP50Us: p50(reads),
    listPageP50Us: p50(pages),
    maxLoopDelayMs: delay.max / 1e6,
  };
}

const r = rust();
const n = await node();
const row = (name, unit, a, b, lowerIsBetter = true) => {
  const ratio = lowerIsBetter ? b / a : a / b;
  console.log(`| ${name} | ${a.toFixed(unit === '/s' ? 0 : 1)} ${unit} | ${b.toFixed(unit === '/s' ? 0 : 1)} ${unit} | ${ratio.toFixed(2)} |`);
};
console.log(`Node.js ${process.version}, ${records} records, embedded default (SQLite + local files), release builds`);
console.log('| operation | Rust API | Node.js package | ratio (Node.js cost / Rust cost) |');
console.log('|---|---|---|---|');
row('IoT batch of 100 creates (Promise.all), p50', 'µs', r.batchP50Us, n.batchP50Us);
row('IoT ingest throughput', '/s', r.createsPerSec, n.createsPerSec, false);
row('getLatest, p50', 'µs', r.getLatestP50Us, n.getLatestP50Us);
row('listByMeta page of 50, p50', 'µs', r.listPageP50Us, n.listPageP50Us);
console.log(`longest event-loop delay on the Node.js side: ${n.maxLoopDelayMs.toFixed(2)} ms (target <= 10 ms)`);
