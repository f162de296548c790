'use strict';
// Values on their way to the store and back. Records must be JSON: a function, a symbol, a
// BigInt, NaN or an infinite number, or a cycle is a ValidationError naming its path. Two
// conversions are documented and done here: a Date becomes its ISO 8601 string, and a
// property whose value is `undefined` is left out (as JSON.stringify does; in an array it is
// a ValidationError). On the way back, a version's time becomes a Date and version numbers
// beyond Number.MAX_SAFE_INTEGER (sent as decimal strings) become BigInts; a record's own
// data comes back exactly as JSON has it.

const { invalid } = require('./errors');

function clean(value, path, seen) {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw invalid(`${path} is ${value}, which JSON cannot hold`, path);
      return value;
    case 'bigint':
      throw invalid(`${path} is a BigInt, which JSON cannot hold (store it as a string)`, path);
    case 'function':
    case 'symbol':
      throw invalid(`${path} is a ${typeof value}, which is not data`, path);
    case 'undefined':
      throw invalid(`${path} is undefined`, path);
    default:
      break;
  }
  if (value === null) return null;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw invalid(`${path} is an invalid Date`, path);
    return value.toISOString();
  }
  if (seen.has(value)) throw invalid(`${path} refers back to itself (a cycle)`, path);
  seen.add(value);
  let out;
  if (Array.isArray(value)) {
    out = value.map((item, i) => clean(item, `${path}[${i}]`, seen));
  } else {
    out = {};
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      out[key] = clean(item, `${path}.${key}`, seen);
    }
  }
  seen.delete(value);
  return out;
}

/** `value` as a JSON value, or a ValidationError naming where it is not JSON. */
function json(value, what) {
  return clean(value, what, new Set());
}

/** `value` as JSON text, or a ValidationError naming where it is not JSON. */
function toJson(value, what) {
  return JSON.stringify(json(value, what));
}

/** A record's data: a plain object. */
function record(data, what) {
  if (data === null || typeof data !== 'object' || Array.isArray(data) || data instanceof Date) {
    throw invalid(`${what} must be an object`, what);
  }
  return json(data, what);
}

/**
 * A time argument: a Date or an ISO 8601 string. A Date holds milliseconds while the store
 * keeps microseconds, so a Date stands for the whole of its millisecond: `getAsOf(id,
 * w.createdAt)` finds the version `w` wrote. A string is taken as written.
 */
function time(value, what) {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw invalid(`${what} is an invalid Date`, what);
    return value.toISOString().replace(/Z$/, '999Z');
  }
  if (typeof value === 'string') return value;
  throw invalid(`${what} must be a Date or an ISO 8601 string`, what);
}

/** A non-negative integer version number (a number or a BigInt). */
function version(value, what) {
  if (typeof value === 'bigint' && value >= 0n) return value;
  if (Number.isSafeInteger(value) && value >= 0) return value;
  throw invalid(`${what} must be a non-negative integer, got ${String(value)}`, what);
}

/** A version number from the native half: a number, or a BigInt beyond 2^53 - 1. */
function big(value) {
  return typeof value === 'string' ? BigInt(value) : value;
}

/** A version as the package answers it: numbers as above, `at` a Date. */
function versionOut(v) {
  if (v === null || v === undefined) return null;
  const out = { ...v, ov: big(v.ov), cv: big(v.cv), at: new Date(v.at) };
  if (out.url === undefined || out.url === null) delete out.url;
  return out;
}

/**
 * JSON text for the native half. BigInt version numbers are written as plain digits so the
 * store reads them as integers.
 */
function request(body) {
  const marks = [];
  const text = JSON.stringify(body, (key, value) => {
    if (typeof value === 'bigint') {
      marks.push(value.toString());
      return `\u0000big${marks.length - 1}\u0000`;
    }
    return value;
  });
  return text.replace(/"\\u0000big(\d+)\\u0000"/g, (_, i) => marks[Number(i)]);
}

module.exports = { toJson, json, record, time, version, big, versionOut, request };
