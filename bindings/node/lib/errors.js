'use strict';
// chronos-db errors as Error subclasses with a stable `code` and their fields: never a
// message to parse. Every error the native half raises is one of these.

class ChronosError extends Error {
  constructor(info) {
    super(info.message);
    this.name = this.constructor.name;
    this.code = info.code;
    this.transient = Boolean(info.transient);
    for (const [key, value] of Object.entries(info)) {
      if (!['code', 'message', 'transient'].includes(key)) this[key] = value;
    }
  }
}

class ConflictError extends ChronosError {}
class NotFoundError extends ChronosError {}
class DeletedError extends ChronosError {}
class ValidationError extends ChronosError {}
class PreconditionError extends ChronosError {}
class ConfigError extends ChronosError {}
class RouteError extends ChronosError {}
class BackendError extends ChronosError {}
class UnsupportedError extends ChronosError {}
class CorruptError extends ChronosError {}
class ShreddedError extends ChronosError {}
class InternalError extends ChronosError {}

const BY_CODE = {
  CONFLICT: ConflictError,
  NOT_FOUND: NotFoundError,
  DELETED: DeletedError,
  VALIDATION: ValidationError,
  PRECONDITION: PreconditionError,
  CONFIG: ConfigError,
  ROUTE: RouteError,
  BACKEND: BackendError,
  UNSUPPORTED: UnsupportedError,
  CORRUPT: CorruptError,
  SHREDDED: ShreddedError,
  INTERNAL: InternalError,
};

/** The ChronosError for an error of the native half (whose message is JSON); a ChronosError
 * raised on the JavaScript side (a bad argument) stays as it is. */
function fromNative(e) {
  if (e instanceof ChronosError) return e;
  let info;
  try {
    info = JSON.parse(e && e.message);
  } catch {
    info = null;
  }
  if (!info || typeof info.code !== 'string') {
    return new InternalError({ code: 'INTERNAL', message: String((e && e.message) || e) });
  }
  const Kind = BY_CODE[info.code] || ChronosError;
  return new Kind(info);
}

/** A validation error raised in JavaScript, before anything reaches the store. */
function invalid(message, path) {
  return new ValidationError({ code: 'VALIDATION', message: `invalid input: ${message}`, path });
}

module.exports = {
  ChronosError,
  ConflictError,
  NotFoundError,
  DeletedError,
  ValidationError,
  PreconditionError,
  ConfigError,
  RouteError,
  BackendError,
  UnsupportedError,
  CorruptError,
  ShreddedError,
  InternalError,
  fromNative,
  invalid,
};
