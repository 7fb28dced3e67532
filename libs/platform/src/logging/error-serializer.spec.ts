import { describe, expect, it } from '@jest/globals';
import { BadRequestException } from '@nestjs/common';
import pg from 'pg';
import { pinoHttp } from 'pino-http';
import { QueryFailedError } from 'typeorm';
import { OAuthError } from '@ciba/protocol';
import { pinoParams } from './logging.js';
import { serializeError } from './error-serializer.js';

const MARKER = 'alice-marker@example.com';

/** What pg raises for `WHERE email = $1` given a value it cannot take, with every field that can quote it. */
function pgError(): pg.DatabaseError {
  const err = new pg.DatabaseError(`invalid input syntax for type uuid: "${MARKER}"`, 120, 'error');
  Object.assign(err, {
    severity: 'ERROR',
    code: '22P02',
    detail: `Key (email)=(${MARKER}) already exists.`,
    hint: MARKER,
    where: `unnamed portal parameter $1 = '${MARKER}'`,
    internalQuery: `SELECT '${MARKER}'`,
    schema: 'public',
    table: 'users',
    column: 'email',
    constraint: 'users_email_key',
    routine: 'string_to_uuid',
  });
  return err;
}

const serialized = (value: unknown) => JSON.stringify(serializeError(value));

describe('serializeError', () => {
  it('a database error never logs the bound parameters, nor a message, detail, hint or where quoting them (QueryFailedError)', () => {
    const err = new QueryFailedError('SELECT * FROM users WHERE email = $1', [MARKER], pgError());
    expect(serialized(err)).not.toContain(MARKER);
    expect(serializeError(err)).toMatchObject({
      type: 'QueryFailedError',
      message: 'database error 22P02',
      code: '22P02',
      severity: 'ERROR',
      routine: 'string_to_uuid',
      table: 'users',
      column: 'email',
      constraint: 'users_email_key',
      query: 'SELECT * FROM users WHERE email = $1',
    });
    expect((serializeError(err) as { stack: string }).stack).toMatch(/^QueryFailedError: database error 22P02\n\s+at /);
  });

  it('a database error never logs a message, detail or where quoting the input (pg DatabaseError from the pool)', () => {
    expect(serialized(pgError())).not.toContain(MARKER);
    expect(serializeError(pgError())).toMatchObject({ type: 'DatabaseError', code: '22P02', table: 'users' });
  });

  it('never logs a body-parser error\'s raw body, nor JSON.parse\'s quote of the text (also when Nest wraps it)', () => {
    let syntaxError: unknown;
    try {
      JSON.parse(`{"login_hint": ${MARKER}}`);
    } catch (err) {
      syntaxError = err;
    }
    const bodyParserError = Object.assign(syntaxError as Error, { status: 400, type: 'entity.parse.failed', body: `{"login_hint": ${MARKER}}` });
    expect(serialized(bodyParserError)).not.toContain(MARKER);
    expect(serializeError(bodyParserError)).toMatchObject({ type: 'SyntaxError', status: 400 });
    const wrapped = new BadRequestException((syntaxError as Error).message, { cause: syntaxError });
    expect(serialized(wrapped)).not.toContain(MARKER);
  });

  it('keeps message, stack, code and cause of ordinary errors', () => {
    const err = new Error('connect ECONNREFUSED 127.0.0.1:5432', { cause: new OAuthError('invalid_request', 'bad') });
    Object.assign(err, { code: 'ECONNREFUSED', secretish: MARKER });
    expect(serializeError(err)).toMatchObject({
      type: 'Error',
      message: 'connect ECONNREFUSED 127.0.0.1:5432',
      code: 'ECONNREFUSED',
      cause: { type: 'OAuthError', message: 'invalid_request: bad', status: 400 },
    });
    expect(serialized(err)).not.toContain(MARKER);
  });

  it('leaves values that are not errors as they are', () => {
    expect(serializeError('plain')).toBe('plain');
    expect(serializeError(undefined)).toBeUndefined();
  });

  it('is the err serializer of every service logger (what Nest\'s Logger writes through)', () => {
    const lines: string[] = [];
    const params = pinoParams('test', 'info', { write: (line: string) => void lines.push(line) });
    const [options, destination] = params.pinoHttp as [object, { write(line: string): void }];
    const { logger } = pinoHttp(options, destination);
    logger.error({ err: new QueryFailedError('SELECT $1', [MARKER], pgError()) }, 'unexpected error');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(MARKER);
    expect(JSON.parse(lines[0])).toMatchObject({ err: { type: 'QueryFailedError', code: '22P02' } });
  });
});
