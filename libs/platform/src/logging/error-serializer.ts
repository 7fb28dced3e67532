/**
 * pino's `err` serializer. pino's standard one copies every enumerable property of an error, and
 * errors carry the request's input: TypeORM's QueryFailedError its bound `parameters` (and the pg
 * error as `driverError`); pg's DatabaseError a message, `detail` and `where` that can quote a
 * value (`invalid input syntax for type uuid: "…"`, `Key (email)=(…) already exists`, `unnamed
 * portal parameter $1 = '…'`); body-parser's errors the raw `body`; JSON.parse's message a slice of
 * the text. This one writes what an operator needs and nothing a client chose.
 */

/** pg error fields that name the failure and where it happened, never a value. */
const DATABASE_FIELDS = ['code', 'severity', 'routine', 'schema', 'table', 'column', 'dataType', 'constraint'] as const;
const SQLSTATE = /^[0-9A-Z]{5}$/;
const MAX_CAUSES = 5;
const MAX_AGGREGATED = 10;

export interface SerializedError {
  type: string;
  message: string;
  stack?: string;
  code?: string | number;
  status?: number;
  /** SQL text: placeholders only (the persistence lib binds every value). */
  query?: string;
  [field: string]: unknown;
}

export function serializeError(value: unknown): unknown {
  // pino-http hands custom serializers pino's own serialization, with the original error as `raw`.
  const raw = typeof value === 'object' && value !== null && 'raw' in value ? value.raw : value;
  return isErrorLike(raw) ? describe(raw, 0) : value;
}

interface ErrorLike {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly [field: string]: unknown;
}

function isErrorLike(value: unknown): value is ErrorLike {
  return value instanceof Error || (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string' && typeof (value as { name?: unknown }).name === 'string');
}

function describe(err: ErrorLike, depth: number): SerializedError {
  const type = typeName(err);
  const database = databaseErrorOf(err);
  const quotesInput = database !== null || derivedFromInput(err);
  const out: SerializedError = {
    type,
    message: quotesInput ? (database ? `database error ${String(database['code'])}` : '[redacted: may quote request input]') : err.message,
  };
  if (typeof err.stack === 'string') out.stack = quotesInput ? `${type}: ${out.message}\n${framesOf(err.stack)}` : err.stack;
  if (database) {
    for (const field of DATABASE_FIELDS) if (typeof database[field] === 'string') out[field] = database[field];
    if (typeof err['query'] === 'string') out.query = err['query'];
  } else {
    if (typeof err['code'] === 'string' || typeof err['code'] === 'number') out.code = err['code'];
    const status = err['status'] ?? err['statusCode'];
    if (typeof status === 'number') out.status = status;
  }
  if (depth < MAX_CAUSES && isErrorLike(err['cause'])) out['cause'] = describe(err['cause'], depth + 1);
  if (Array.isArray(err['errors'])) {
    out['aggregateErrors'] = (err['errors'] as unknown[]).slice(0, MAX_AGGREGATED).map((inner) => (isErrorLike(inner) ? describe(inner, depth + 1) : typeof inner));
  }
  return out;
}

function typeName(err: ErrorLike): string {
  const ctor = (err as { constructor?: { name?: unknown } }).constructor;
  return typeof ctor?.name === 'string' && ctor.name !== 'Object' ? ctor.name : err.name;
}

/** pg's DatabaseError (SQLSTATE `code` plus `severity`/`routine`), itself or as TypeORM's `driverError`. */
function databaseErrorOf(err: ErrorLike): Readonly<Record<string, unknown>> | null {
  const driverError = err['driverError'];
  if (typeof driverError === 'object' && driverError !== null && isPgError(driverError as Record<string, unknown>)) return driverError as Record<string, unknown>;
  if (isPgError(err)) return err;
  // A QueryFailedError whose driver error is not pg's still carries parameters: treat it alike.
  return 'parameters' in err || 'driverError' in err ? { code: 'unknown' } : null;
}

function isPgError(err: Readonly<Record<string, unknown>>): boolean {
  return typeof err['code'] === 'string' && SQLSTATE.test(err['code']) && (typeof err['severity'] === 'string' || typeof err['routine'] === 'string');
}

/** JSON.parse quotes the text it failed on; body-parser's errors carry the body; Nest copies their message into an HttpException. */
function derivedFromInput(err: ErrorLike): boolean {
  for (let current: unknown = err, depth = 0; isErrorLike(current) && depth <= MAX_CAUSES; current = current['cause'], depth++) {
    if (current instanceof SyntaxError || 'body' in current) return true;
    const type = current['type'];
    if (typeof type === 'string' && (type.startsWith('entity.') || type.startsWith('charset.') || type.startsWith('encoding.'))) return true;
  }
  return false;
}

/** The stack's frames without its first line, which repeats the message. */
function framesOf(stack: string): string {
  return stack
    .split('\n')
    .filter((line) => /^\s+at /.test(line))
    .join('\n');
}
