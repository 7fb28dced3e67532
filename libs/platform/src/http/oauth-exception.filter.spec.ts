import { describe, expect, it } from '@jest/globals';
import { type ArgumentsHost, NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { OAuthError } from '@ciba/protocol';
import { OAuthExceptionFilter } from './oauth-exception.filter.js';

function capture(exception: unknown) {
  const sent: { status?: number; headers: Record<string, string>; body?: unknown } = { headers: {} };
  const res = {
    headersSent: false,
    status(code: number) {
      sent.status = code;
      return res;
    },
    setHeader(name: string, value: string) {
      sent.headers[name.toLowerCase()] = value;
    },
    json(body: unknown) {
      sent.body = body;
    },
  };
  const host = { switchToHttp: () => ({ getResponse: () => res }) } as unknown as ArgumentsHost;
  new OAuthExceptionFilter().catch(exception, host);
  return sent;
}

describe('OAuthExceptionFilter', () => {
  it('RFC 6749 §5.2 serializes an OAuth error as exactly {error, error_description}, not cacheable', () => {
    const sent = capture(new OAuthError('invalid_client', 'client authentication failed', { headers: { 'WWW-Authenticate': 'Basic realm="ciba"' } }));
    expect(sent.status).toBe(401);
    expect(sent.body).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    expect(sent.headers['cache-control']).toBe('no-store');
    expect(sent.headers['www-authenticate']).toBe('Basic realm="ciba"');
  });

  it('an unexpected error is 500 server_error with no detail', () => {
    const sent = capture(new Error('connection to 10.0.0.5:5432 refused, password=hunter2'));
    expect(sent.status).toBe(500);
    expect(sent.body).toEqual({ error: 'server_error', error_description: 'the server encountered an unexpected condition' });
    expect(JSON.stringify(sent.body)).not.toContain('hunter2');
  });

  it('framework errors become invalid_request with their status, never Nest\'s default body', () => {
    expect(capture(new PayloadTooLargeException())).toMatchObject({ status: 413, body: { error: 'invalid_request' } });
    expect(capture(new NotFoundException())).toMatchObject({ status: 404, body: { error: 'invalid_request' } });
    const bodyParserError = Object.assign(new Error('Unexpected token'), { type: 'entity.parse.failed', status: 400 });
    expect(capture(bodyParserError)).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });
});
