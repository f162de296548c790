'use strict';
// chronos-db for Node.js: the seed's API on the Rust core, in-process. Every call returns a
// Promise served by the library's own runtime; none blocks the event loop.

const native = require('./lib/native');
const errors = require('./lib/errors');
const { toJson, json, record, time, version, big, versionOut, request } = require('./lib/values');

const { fromNative, invalid } = errors;

/** Runs a native call, turning its failure into a ChronosError. */
async function guarded(promise) {
  try {
    return await promise;
  } catch (e) {
    throw fromNative(e);
  }
}

function writeOut(w, timeKey) {
  const out = { id: w.id, ov: big(w.ov), cv: big(w.cv), [timeKey]: new Date(w.at) };
  if (w.queued) out.queued = w.queued;
  return out;
}

function readOptions(options, what) {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw invalid(`${what} must be an object`, what);
  const out = {};
  if (options.presign !== undefined) out.presign = Boolean(options.presign);
  if (options.ttlSeconds !== undefined) out.ttlSeconds = version(options.ttlSeconds, `${what}.ttlSeconds`);
  if (options.projection !== undefined) {
    if (!Array.isArray(options.projection) || !options.projection.every((p) => typeof p === 'string')) {
      throw invalid(`${what}.projection must be an array of strings`, `${what}.projection`);
    }
    out.projection = options.projection;
  }
  return out;
}

function text(value, what) {
  if (typeof value !== 'string') throw invalid(`${what} must be a string`, what);
  return value;
}

function optionalText(value, what) {
  return value === undefined || value === null ? undefined : text(value, what);
}

/** One collection of one route: the seed's `ops`. */
class CollectionOps {
  constructor(ready, route) {
    this._native = ready.then((c) => guarded(Promise.resolve().then(() => c.collection(route))));
    this._native.catch(() => {});
  }

  async _call(op, body) {
    const coll = await this._native;
    const answer = await guarded(coll.call(request({ op, ...body })));
    return JSON.parse(answer);
  }

  /** Creates a record: `{ id, ov: 0, cv, createdAt }`. */
  async create(data, actor, reason) {
    const body = { data: record(data, 'data'), actor: optionalText(actor, 'actor'), reason: optionalText(reason, 'reason') };
    return writeOut(await this._call('create', body), 'createdAt');
  }

  /** Creates many records in one batch: one `{ id, ov, cv, createdAt }` each, in order. */
  async createMany(items, actor, reason) {
    if (!Array.isArray(items)) throw invalid('items must be an array', 'items');
    const body = {
      items: items.map((d, i) => record(d, `items[${i}]`)),
      actor: optionalText(actor, 'actor'),
      reason: optionalText(reason, 'reason'),
    };
    return (await this._call('createMany', body)).map((w) => writeOut(w, 'createdAt'));
  }

  /** Writes a new version over `expectedOv`: `{ id, ov, cv, updatedAt }`. */
  async update(id, data, expectedOv, actor, reason) {
    const body = {
      id: text(id, 'id'),
      data: record(data, 'data'),
      expectedOv: version(expectedOv, 'expectedOv'),
      actor: optionalText(actor, 'actor'),
      reason: optionalText(reason, 'reason'),
    };
    return writeOut(await this._call('update', body), 'updatedAt');
  }

  /** Deletes (logically, by default) over `expectedOv`: `{ id, ov, cv, deletedAt }`. */
  async delete(id, expectedOv, actor, reason) {
    const body = {
      id: text(id, 'id'),
      expectedOv: version(expectedOv, 'expectedOv'),
      actor: optionalText(actor, 'actor'),
      reason: optionalText(reason, 'reason'),
    };
    return writeOut(await this._call('delete', body), 'deletedAt');
  }

  /** Merges a patch (or patches, in order) into the latest version: `{ id, ov, cv, updatedAt }`. */
  async enrich(id, patch, options = {}) {
    const patches = Array.isArray(patch) ? patch.map((p, i) => record(p, `patch[${i}]`)) : record(patch, 'patch');
    const body = {
      id: text(id, 'id'),
      patch: patches,
      functionId: optionalText(options.functionId, 'functionId'),
      actor: optionalText(options.actor, 'actor'),
      reason: optionalText(options.reason, 'reason'),
      expectedOv: options.expectedOv === undefined ? undefined : version(options.expectedOv, 'expectedOv'),
    };
    return writeOut(await this._call('enrich', body), 'updatedAt');
  }

  /** The latest version, or null. */
  async getLatest(id, options) {
    return versionOut(await this._call('getLatest', { id: text(id, 'id'), options: readOptions(options, 'options') }));
  }

  /** Version `ov`, or null. */
  async getVersion(id, ov, options) {
    const body = { id: text(id, 'id'), ov: version(ov, 'ov'), options: readOptions(options, 'options') };
    return versionOut(await this._call('getVersion', body));
  }

  /** The version current at `at` (a Date or an ISO string), or null. */
  async getAsOf(id, at, options) {
    const body = { id: text(id, 'id'), at: time(at, 'at'), options: readOptions(options, 'options') };
    return versionOut(await this._call('getAsOf', body));
  }

  /** A page of the latest versions whose indexed properties match: `{ items, nextAfterId }`. */
  async listByMeta(query = {}, options) {
    if (query === null || typeof query !== 'object') throw invalid('query must be an object', 'query');
    const q = {};
    if (query.filter !== undefined) q.filter = json(query.filter, 'filter');
    if (query.limit !== undefined) q.limit = version(query.limit, 'limit');
    if (query.afterId !== undefined && query.afterId !== null) q.afterId = text(query.afterId, 'afterId');
    if (query.sort !== undefined) q.sort = json(query.sort, 'sort');
    if (query.includeDeleted !== undefined) q.includeDeleted = Boolean(query.includeDeleted);
    const page = await this._call('listByMeta', { query: q, options: readOptions(options, 'options') });
    return { items: page.items.map(versionOut), nextAfterId: page.nextAfterId ?? null };
  }

  /** Appends a version restoring `{ ov }` or `{ at }`: `{ id, ov, cv, updatedAt }`. */
  async restoreObject(id, target, actor, reason) {
    const body = { id: text(id, 'id'), target: restoreTarget(target), actor: optionalText(actor, 'actor'), reason: optionalText(reason, 'reason') };
    return writeOut(await this._call('restoreObject', body), 'updatedAt');
  }

  /** Rewinds every record to `{ cv }` or `{ at }` by appending versions (`{ dryRun: true }`: the plan only). */
  async restoreCollection(target, options = {}) {
    const body = {
      target: restoreTarget(target),
      dryRun: Boolean(options.dryRun),
      actor: optionalText(options.actor, 'actor'),
      reason: optionalText(options.reason, 'reason'),
    };
    return this._call('restoreCollection', body);
  }

  /** Erases a record for good (every version and payload), with an audit entry. */
  async erase(id, expectedOv, actor, reason) {
    const body = { id: text(id, 'id'), expectedOv: version(expectedOv, 'expectedOv'), actor: optionalText(actor, 'actor'), reason: optionalText(reason, 'reason') };
    return this._call('erase', body);
  }

  /** A page of a record's versions, oldest first: `{ versions, nextAfterOv }`. */
  async history(id, options = {}) {
    const body = {
      id: text(id, 'id'),
      afterOv: options.afterOv === undefined ? undefined : version(options.afterOv, 'afterOv'),
      limit: options.limit === undefined ? undefined : version(options.limit, 'limit'),
      includeData: Boolean(options.includeData),
    };
    const page = await this._call('history', body);
    return { versions: page.versions.map(versionOut), nextAfterOv: page.nextAfterOv ?? null };
  }

  /** The JSON Patch from version `fromOv` to `toOv`. */
  async diff(id, fromOv, toOv) {
    const body = { id: text(id, 'id'), fromOv: version(fromOv, 'fromOv'), toOv: version(toOv, 'toOv') };
    return this._call('diff', body);
  }

  /** A page of the change feed: `{ changes, afterCv, caughtUp }`. */
  async changes(options = {}) {
    const body = {
      afterCv: options.afterCv === undefined || options.afterCv === null ? undefined : version(options.afterCv, 'afterCv'),
      limit: options.limit === undefined ? undefined : version(options.limit, 'limit'),
      includeData: Boolean(options.includeData),
    };
    const page = await this._call('changes', body);
    return { changes: page.changes.map(versionOut), afterCv: page.afterCv === null ? null : big(page.afterCv), caughtUp: page.caughtUp };
  }

  /**
   * Follows the change feed: every committed write once, in collection-version order, as
   * it settles (`for await (const c of ops.follow({ afterCv }))`). `pollMs` (default 100)
   * is the wait when nothing is new; `signal` (an AbortSignal) ends it.
   */
  async *follow(options = {}) {
    let afterCv = options.afterCv ?? null;
    const pollMs = options.pollMs ?? 100;
    while (!(options.signal && options.signal.aborted)) {
      const page = await this.changes({ afterCv, limit: options.limit, includeData: options.includeData });
      for (const change of page.changes) yield change;
      const stepped = page.afterCv !== afterCv;
      afterCv = page.afterCv;
      if (page.changes.length === 0 && !stepped) {
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    }
  }

  /** Checks a record's hash chain against what is stored. */
  async verify(id) {
    return this._call('verify', { id: text(id, 'id') });
  }

  /** Every version of the collection, in (id, ov) order, as the import takes them. */
  async export() {
    return this._call('export', {});
  }

  /** Imports exported versions (`{ skipExisting }` skips records that exist with another history). */
  async import(versions, options = {}) {
    if (!Array.isArray(versions)) throw invalid('versions must be an array', 'versions');
    return this._call('import', { versions: json(versions, 'versions'), skipExisting: Boolean(options.skipExisting) });
  }
}

function restoreTarget(target) {
  if (target === null || typeof target !== 'object') throw invalid('the target must be { ov }, { cv } or { at }', 'target');
  const out = {};
  if (target.ov !== undefined) out.ov = version(target.ov, 'target.ov');
  if (target.cv !== undefined) out.cv = version(target.cv, 'target.cv');
  if (target.at !== undefined) out.at = time(target.at, 'target.at');
  return out;
}

function routeOf(route) {
  if (route === null || typeof route !== 'object') throw invalid('the route must be an object', 'route');
  return toJson(route, 'route');
}

/** A chronos-db instance: the seed's `chronos`. */
class Chronos {
  constructor(config) {
    this._ready = guarded(Promise.resolve().then(() => native.open(toJson(config, 'config'))));
    this._ready.catch(() => {});
    const ask = (call) => this._ask(call);
    /** Analytics counters. */
    this.counters = {
      /**
       * Totals of a collection, by its route or by `{ dbName, collection }` (the seed's form):
       * `{ created, updated, deleted, <rule>: n }`.
       */
      getTotals: (route) => ask((c) => c.counters(routeOf(route))),
    };
    /** The fallback queue of writes that storage refused for a while. */
    this.fallback = {
      list: (kind = 'pending') => ask((c) => c.fallback('list', text(kind, 'kind'))),
      retry: (opId) => ask((c) => c.fallback('retry', text(opId, 'opId'))),
      cancel: (opId) => ask((c) => c.fallback('cancel', text(opId, 'opId'))),
      replayNow: () => ask((c) => c.fallback('replay', '')),
    };
  }

  /** Runs `call` on the open native instance and parses its JSON answer. */
  async _ask(call) {
    const c = await this._ready;
    return JSON.parse(await guarded(Promise.resolve().then(() => call(c))));
  }

  /** Resolves once the instance is open (every call waits for it anyway). */
  async ready() {
    await this._ready;
    return this;
  }

  /** The operations of one collection: `{ databaseType, tier, tenantId?, domain?, collection }`. */
  with(route) {
    return new CollectionOps(this._ready, routeOf(route));
  }

  /** Every backend pinged, with its latency. */
  async health() {
    return this._ask((c) => c.health());
  }

  /** Applies the configured retention. */
  async prune() {
    return this._ask((c) => c.prune());
  }

  /** Crash repair (`{ dryRun, minAgeSeconds }`). */
  async repair(options = {}) {
    const minAge = options.minAgeSeconds ?? 900;
    return this._ask((c) => c.repair(Boolean(options.dryRun), Number(minAge)));
  }

  /** Flushes counters and closes every connection. */
  async shutdown() {
    const c = await this._ready;
    await guarded(c.shutdown());
  }
}

/**
 * Opens chronos-db with the seed's configuration object, or `{ embedded: './data',
 * tenants: [...] }` for the embedded default (SQLite and local files, no server). Returns at
 * once; the first call waits until it is open, and a bad configuration fails that call (or
 * `await chronos.ready()`) with a ConfigError listing every problem with its path.
 */
function initChronos(config) {
  if (config === null || typeof config !== 'object') throw invalid('the configuration must be an object', 'config');
  return new Chronos(config);
}

exports.initChronos = initChronos;
exports.Chronos = Chronos;
exports.CollectionOps = CollectionOps;
exports.ChronosError = errors.ChronosError;
exports.ConflictError = errors.ConflictError;
exports.NotFoundError = errors.NotFoundError;
exports.DeletedError = errors.DeletedError;
exports.ValidationError = errors.ValidationError;
exports.PreconditionError = errors.PreconditionError;
exports.ConfigError = errors.ConfigError;
exports.RouteError = errors.RouteError;
exports.BackendError = errors.BackendError;
exports.UnsupportedError = errors.UnsupportedError;
exports.CorruptError = errors.CorruptError;
exports.ShreddedError = errors.ShreddedError;
exports.InternalError = errors.InternalError;
