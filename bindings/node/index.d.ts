// chronos-db for Node.js: the seed's API on the Rust core.

/** A JSON value as records hold them. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A record: a JSON object. `Date`s inside are stored as ISO 8601 strings. */
export type RecordData = { [key: string]: JsonValue | Date | undefined | RecordData | RecordData[] };

/** An object or collection version: a number, or a BigInt beyond Number.MAX_SAFE_INTEGER. */
export type VersionNumber = number | bigint;

export type DatabaseType = 'metadata' | 'knowledge' | 'runtime' | 'logs';
export type Tier = 'generic' | 'domain' | 'tenant';

/** Where a collection lives. */
export interface RouteContext {
  databaseType: DatabaseType;
  tier: Tier;
  tenantId?: string;
  domain?: string;
  collection: string;
}

/** A `dbConnections` entry: MongoDB, or a directory of SQLite files. */
export type DbConnection =
  | { mongoUri: string; serverSelectionTimeoutMs?: number }
  | { sqliteDir: string };

/** A `spacesConnections` entry: S3-compatible storage, or a local directory. */
export type SpacesConnection =
  | {
      endpoint: string;
      region: string;
      accessKey?: string;
      secretKey?: string;
      forcePathStyle?: boolean;
    }
  | { localPath: string }
  | { memory: true };

/** One database entry of a database type. */
export interface DatabaseEntry {
  dbConnRef: string;
  spaceConnRef: string;
  bucket: string;
  dbName: string;
  analyticsDbName?: string;
  tenantId?: string;
  domain?: string;
}

/** The databases of one database type. */
export interface DatabaseTypeConfig {
  genericDatabase?: DatabaseEntry;
  domainsDatabases?: DatabaseEntry[];
  tenantDatabases?: DatabaseEntry[];
}

/** The seed's configuration (camelCase keys, as the JSON the Rust library reads). */
export interface ChronosConfig {
  dbConnections: Record<string, DbConnection>;
  spacesConnections: Record<string, SpacesConnection>;
  databases: {
    metadata?: DatabaseTypeConfig;
    knowledge?: DatabaseTypeConfig;
    runtime?: DatabaseTypeConfig;
    logs?: DatabaseEntry;
  };
  routing?: { hashAlgo?: 'rendezvous' | 'jump'; chooseKey?: string };
  retention?: {
    ver?: { days?: number; maxPerItem?: number };
    counters?: { days?: number; weeks?: number; months?: number };
  };
  rollup?: { enabled?: boolean; manifestPeriod?: 'daily' | 'weekly' | 'monthly' };
  collectionMaps?: Record<
    string,
    {
      indexedProps?: string[];
      base64Props?: Record<string, { contentType: string; preferredText?: boolean; textCharset?: string }>;
      validation?: { requiredIndexed?: string[] };
    }
  >;
  counterRules?: {
    rules?: Array<{
      name: string;
      on?: Array<'CREATE' | 'UPDATE' | 'DELETE'>;
      scope?: 'meta' | 'payload';
      when: JsonValue;
    }>;
  };
  devShadow?: { enabled: boolean; ttlHours?: number; maxBytesPerDoc?: number };
  hardDeleteEnabled?: boolean;
  logicalDelete?: { enabled: boolean };
  versioning?: { enabled: boolean };
  writeOptimization?: {
    batchSize?: number;
    debounceMs?: number;
    compressionEnabled?: boolean;
    payloadLayout?: 'inline' | 'objects';
    durability?: 'powerLoss' | 'processCrash';
    [key: string]: JsonValue | undefined;
  };
  fallback?: {
    enabled: boolean;
    maxRetries?: number;
    retryDelayMs?: number;
    maxDelayMs?: number;
    deadLetterCollection?: string;
  };
  transactions?: { enabled?: boolean; autoDetect?: boolean };
}

/** The embedded default: SQLite files and local payload files under one directory. */
export interface EmbeddedConfig extends Partial<Omit<ChronosConfig, 'dbConnections' | 'spacesConnections' | 'databases'>> {
  embedded: string;
  tenants?: string[];
  domains?: string[];
}

/** What kind of write made a version. */
export type VersionKind = 'create' | 'update' | 'delete' | 'enrich' | 'restore';

/** One version of a record. */
export interface Version<T = RecordData> {
  id: string;
  ov: VersionNumber;
  cv: VersionNumber;
  /** When it was written. */
  at: Date;
  deleted: boolean;
  kind: VersionKind;
  actor: string;
  reason: string;
  functionIds?: string[];
  /** The record (null where data was not asked for). */
  data: T;
  /** A presigned URL of the payload (`presign: true`, object storage). */
  url?: string;
  blobUrls?: Record<string, string>;
}

interface WriteBase {
  id: string;
  ov: VersionNumber;
  cv: VersionNumber;
  /** Set when storage refused the write for a while and it was queued (the op id). */
  queued?: string;
}
export interface CreateResult extends WriteBase { createdAt: Date }
export interface UpdateResult extends WriteBase { updatedAt: Date }
export interface DeleteResult extends WriteBase { deletedAt: Date }

export interface ReadOptions {
  presign?: boolean;
  ttlSeconds?: number;
  projection?: string[];
}

export interface ListQuery {
  filter?: JsonValue;
  limit?: number;
  afterId?: string | null;
  sort?: { [key: string]: 1 | -1 };
  includeDeleted?: boolean;
}

export interface Page<T = RecordData> {
  items: Version<T>[];
  nextAfterId: string | null;
}

export interface EnrichOptions {
  functionId?: string;
  actor?: string;
  reason?: string;
  expectedOv?: VersionNumber;
}

export type RestoreTarget = { ov: VersionNumber } | { cv: VersionNumber } | { at: string | Date };

export interface RestoreReport {
  /** Only the plan was computed; nothing was written. */
  dryRun: boolean;
  examined: number;
  unchanged: number;
  /** What was (or would be) done to each record that differs from the target. */
  actions: Array<{ action: string; id: string; [key: string]: JsonValue }>;
  /** Where a run that stopped early resumes. */
  resumeAfter: string | null;
}

export interface EraseReport {
  id: string;
  versionsRemoved: number;
  blobsRemoved: number;
}

export interface HistoryPage<T = RecordData> {
  versions: Version<T>[];
  nextAfterOv: VersionNumber | null;
}

export interface Diff {
  id: string;
  fromOv: VersionNumber;
  toOv: VersionNumber;
  patch: JsonValue[];
  changedPaths: string[];
}

export interface ChangePage<T = RecordData> {
  changes: Version<T>[];
  afterCv: VersionNumber | null;
  caughtUp: boolean;
}

export interface ChangesOptions {
  afterCv?: VersionNumber | null;
  limit?: number;
  includeData?: boolean;
}

export interface FollowOptions extends ChangesOptions {
  pollMs?: number;
  signal?: AbortSignal;
}

export interface CounterTotals {
  created: number;
  updated: number;
  deleted: number;
  [rule: string]: number;
}

export interface ImportReport {
  imported: number;
  completed: number;
  present: number;
  skipped: string[];
  versionsWritten: number;
}

/** The operations of one collection (the seed's `ops`). */
export interface CollectionOps {
  create(data: RecordData, actor?: string, reason?: string): Promise<CreateResult>;
  createMany(items: RecordData[], actor?: string, reason?: string): Promise<CreateResult[]>;
  update(id: string, data: RecordData, expectedOv: VersionNumber, actor?: string, reason?: string): Promise<UpdateResult>;
  delete(id: string, expectedOv: VersionNumber, actor?: string, reason?: string): Promise<DeleteResult>;
  enrich(id: string, patch: RecordData | RecordData[], options?: EnrichOptions): Promise<UpdateResult>;
  getLatest(id: string, options?: ReadOptions): Promise<Version | null>;
  getVersion(id: string, ov: VersionNumber, options?: ReadOptions): Promise<Version | null>;
  getAsOf(id: string, at: string | Date, options?: ReadOptions): Promise<Version | null>;
  listByMeta(query?: ListQuery, options?: ReadOptions): Promise<Page>;
  restoreObject(id: string, target: RestoreTarget, actor?: string, reason?: string): Promise<UpdateResult>;
  restoreCollection(
    target: { cv: VersionNumber } | { at: string | Date },
    options?: { dryRun?: boolean; actor?: string; reason?: string },
  ): Promise<RestoreReport>;
  erase(id: string, expectedOv: VersionNumber, actor?: string, reason?: string): Promise<EraseReport>;
  history(id: string, options?: { afterOv?: VersionNumber; limit?: number; includeData?: boolean }): Promise<HistoryPage>;
  diff(id: string, fromOv: VersionNumber, toOv: VersionNumber): Promise<Diff>;
  changes(options?: ChangesOptions): Promise<ChangePage>;
  follow(options?: FollowOptions): AsyncGenerator<Version, void, undefined>;
  verify(id: string): Promise<JsonValue>;
  export(): Promise<JsonValue[]>;
  import(versions: JsonValue[], options?: { skipExisting?: boolean }): Promise<ImportReport>;
}

export type QueueKind = 'pending' | 'deadLetter';

/** A chronos-db instance (the seed's `chronos`). */
export interface Chronos {
  ready(): Promise<Chronos>;
  with(route: RouteContext): CollectionOps;
  /** Counter totals of a collection, by its route or (as the seed writes it) by `{ dbName, collection }`. */
  counters: { getTotals(route: RouteContext | { dbName: string; collection: string }): Promise<CounterTotals> };
  fallback: {
    list(kind?: QueueKind): Promise<JsonValue[]>;
    retry(opId: string): Promise<JsonValue>;
    cancel(opId: string): Promise<JsonValue>;
    replayNow(): Promise<{ committed: number; alreadyApplied: number; waiting: number; rescheduled: number; deadLettered: number }>;
  };
  health(): Promise<{ backends: Array<{ role: string; connection: string; kind: string; target: string; ok: boolean; error?: string | null }> }>;
  prune(): Promise<JsonValue>;
  repair(options?: { dryRun?: boolean; minAgeSeconds?: number }): Promise<JsonValue>;
  shutdown(): Promise<void>;
}

/** Opens chronos-db (returns at once; the first call waits until it is open). */
export function initChronos(config: ChronosConfig | EmbeddedConfig): Chronos;

export type ErrorCode =
  | 'CONFLICT'
  | 'NOT_FOUND'
  | 'DELETED'
  | 'VALIDATION'
  | 'PRECONDITION'
  | 'CONFIG'
  | 'ROUTE'
  | 'BACKEND'
  | 'UNSUPPORTED'
  | 'CORRUPT'
  | 'SHREDDED'
  | 'INTERNAL';

/** Every error chronos-db raises. */
export class ChronosError extends Error {
  readonly code: ErrorCode;
  /** Whether the same call may pass later. */
  readonly transient: boolean;
}
export class ConflictError extends ChronosError {
  readonly collection: string;
  readonly id: string;
  readonly expectedOv: number;
  readonly currentOv: number;
  readonly exists: boolean;
}
export class NotFoundError extends ChronosError {}
export class DeletedError extends ChronosError {
  readonly collection: string;
  readonly id: string;
  readonly currentOv: number;
}
export class ValidationError extends ChronosError {
  /** Where in the input, when the package found it. */
  readonly path?: string;
}
export class PreconditionError extends ChronosError {}
export class ConfigError extends ChronosError {
  readonly problems: Array<{ path: string; message: string }>;
}
export class RouteError extends ChronosError {}
export class BackendError extends ChronosError {}
export class UnsupportedError extends ChronosError {}
export class CorruptError extends ChronosError {}
/** The data's encryption key was destroyed (crypto-shredding): it cannot be read again. */
export class ShreddedError extends ChronosError {}
export class InternalError extends ChronosError {}
