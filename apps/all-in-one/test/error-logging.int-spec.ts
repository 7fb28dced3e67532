import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { waitFor } from '@ciba/testing';
import { type TestProvider, startTestProvider } from './provider-harness.js';

/**
 * The log is read by more people than the database: an error logged with the request's input
 * (TypeORM's bound `parameters`, pg's message, `detail` and `hint` quoting a value) leaks hints,
 * client ids and messages into it. The provider's real log output is captured and searched for a
 * marker the "attacker" put in the request.
 */
describe('error logging', () => {
  const lines: string[] = [];
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider({ CIBA_LOG_LEVEL: 'info' }, { logDestination: { write: (line: string) => void lines.push(line) } });
  }, 60_000);
  afterAll(async () => {
    await op.close();
  });

  const marker = () => `marker${randomBytes(6).toString('hex')}`;
  const loggedErrors = (code: string) => lines.map((line) => JSON.parse(line) as { err?: Record<string, unknown> }).filter((entry) => entry.err?.['code'] === code);

  it('a database error never logs the bound parameters (TypeORM QueryFailedError)', async () => {
    const clientId = marker();
    await op.db.dataSource.query('ALTER TABLE clients RENAME TO clients_elsewhere');
    try {
      // The client lookup binds the Basic client id as a parameter, and fails: the table is gone.
      const res = await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice' }, { id: clientId, secret: 'any-client-secret', method: 'basic' });
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: 'server_error', error_description: 'the server encountered an unexpected condition' });
    } finally {
      await op.db.dataSource.query('ALTER TABLE clients_elsewhere RENAME TO clients');
    }
    await waitFor(() => loggedErrors('42P01').length > 0, { description: 'the undefined-table error in the log' });
    expect(lines.join('')).not.toContain(clientId);
    // What an operator needs is still there.
    expect(loggedErrors('42P01')[0]?.err).toMatchObject({ type: 'QueryFailedError', code: '42P01', routine: expect.any(String), query: expect.stringContaining('$1') });
  });

  it('a database error never logs a message, detail or hint that quotes the input (pg DatabaseError)', async () => {
    const bindingMessage = `Approve ${marker()}`;
    // A trigger standing in for any PostgreSQL error that quotes a value (a unique violation's detail, an input syntax error).
    await op.db.dataSource.query(`
      CREATE FUNCTION refuse_binding_message() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'refused %', NEW.binding_message USING ERRCODE = 'P0001', DETAIL = 'binding ' || NEW.binding_message, HINT = NEW.binding_message;
      END $$;
      CREATE TRIGGER refuse_binding_message BEFORE INSERT ON auth_requests FOR EACH ROW EXECUTE FUNCTION refuse_binding_message();`);
    try {
      const res = await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice', binding_message: bindingMessage });
      expect(res.status).toBe(500);
    } finally {
      await op.db.dataSource.query('DROP TRIGGER refuse_binding_message ON auth_requests; DROP FUNCTION refuse_binding_message();');
    }
    await waitFor(() => loggedErrors('P0001').length > 0, { description: 'the raised error in the log' });
    expect(lines.join('')).not.toContain(bindingMessage.split(' ')[1]);
    expect(loggedErrors('P0001')[0]?.err).toMatchObject({ code: 'P0001', message: 'database error P0001' });
  });
});
