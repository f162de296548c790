// The quick start's tour through the HTTP service, from Node.js with nothing but the
// built-in fetch: proof that another language can use chronos-db from the README alone.
// Usage: node tour.mjs <base URL> <API key>
import assert from 'node:assert/strict';

const [base, key] = process.argv.slice(2);
const users = `${base}/v1/runtime/tenant/acme/users`;
const auth = { authorization: `Bearer ${key}` };

async function call(method, url, { body, headers = {} } = {}) {
  const res = await fetch(url, {
    method,
    headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const type = res.headers.get('content-type') || '';
  const json = type.includes('json') ? await res.json() : await res.text();
  return { status: res.status, etag: res.headers.get('etag'), location: res.headers.get('location'), type, json };
}

// Create, then read it back through its Location.
const created = await call('POST', `${users}/records`, {
  body: { email: 'ada@example.com', plan: 'free' },
  headers: { 'chronos-actor': 'signup-service', 'chronos-reason': 'signup' },
});
assert.equal(created.status, 201);
assert.equal(created.etag, '"0"');
const id = created.json.id;
const read = await call('GET', `${base}${created.location}`);
assert.deepEqual(read.json.data, { email: 'ada@example.com', plan: 'free' });
assert.equal(read.json.actor, 'signup-service');

// Update with the ETag we read; a stale one is 412 with the current version.
const updated = await call('PUT', `${users}/records/${id}`, {
  body: { email: 'ada@example.com', plan: 'pro' },
  headers: { 'if-match': read.etag },
});
assert.equal(updated.status, 200);
assert.equal(updated.etag, '"1"');
const stale = await call('PUT', `${users}/records/${id}`, { body: { plan: 'x' }, headers: { 'if-match': '"0"' } });
assert.equal(stale.status, 412);
assert.equal(stale.type, 'application/problem+json');
assert.equal(stale.json.code, 'CONFLICT');
assert.equal(stale.json.currentOv, 1);

// Time travel: the record as it was at its creation.
const then = await call('GET', `${users}/records/${id}?at=${encodeURIComponent(created.json.at)}`);
assert.equal(then.json.data.plan, 'free');

// Enrich, list by a property, history and diff.
await call('PATCH', `${users}/records/${id}?functionId=scorer@v1`, { body: { score: 42 } });
const page = await call('GET', `${users}/records?filter=${encodeURIComponent(JSON.stringify({ plan: 'pro' }))}&limit=10`);
assert.deepEqual(page.json.items.map((v) => v.id), [id]);
const history = await call('GET', `${users}/records/${id}/history`);
assert.deepEqual(history.json.versions.map((v) => v.kind), ['create', 'update', 'enrich']);
const diff = await call('GET', `${users}/records/${id}/diff?from=0&to=2`);
assert.ok(diff.json.changedPaths.includes('/plan'));

// Restore version 0 as a new version, then delete.
const restored = await call('POST', `${users}/records/${id}/restore`, { body: { ov: 0 } });
assert.equal(restored.json.ov, 3);
const deleted = await call('DELETE', `${users}/records/${id}`, { headers: { 'if-match': '"3"' } });
assert.equal(deleted.status, 200);

// The change feed: a page, then the live stream picks up a new write.
const changes = await call('GET', `${users}/changes`);
assert.equal(changes.json.changes.length, 5);
const stream = await fetch(`${users}/changes/stream`, { headers: { ...auth, 'last-event-id': String(changes.json.afterCv) } });
const next = await call('POST', `${users}/records`, { body: { email: 'bob@example.com' } });
const reader = stream.body.getReader();
let text = '';
while (!text.includes('\n\n')) {
  const { value } = await reader.read();
  text += new TextDecoder().decode(value);
}
await reader.cancel();
assert.match(text, /event: change/);
assert.match(text, new RegExp(`id: ${next.json.cv}`));

// Another tenant is out of this key's reach: the same 404 as a missing record.
const other = await call('GET', `${base}/v1/runtime/tenant/globex/users/records/${id}`);
assert.equal(other.status, 404);
assert.equal(other.json.code, 'NOT_FOUND');
console.log('tour ok');
