import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { FactoryProvider } from '@nestjs/common';
import { loadConfig } from '@ciba/config';
import { LoginHintTokenVerifier } from '@ciba/tokens';
import { LOGIN_HINT_DIRECTORY, hintProviders } from './hint.providers.js';
import { LoginHintDirectory } from './login-hint-directory.js';

const clock = { now: () => new Date() };
const config = (env: Record<string, string>) =>
  loadConfig({ CIBA_DATABASE_URL: 'postgres://u@127.0.0.1/db', CIBA_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'), ...env }, 'authorize', ['database', 'keys']);
const factory = (token: unknown) => hintProviders.find((p) => (p as FactoryProvider).provide === token) as FactoryProvider;

describe('hint providers', () => {
  it('no directory unless CIBA_LOGIN_HINT_DIRECTORY_URL is set', () => {
    expect(factory(LOGIN_HINT_DIRECTORY).useFactory(config({}), clock)).toBeNull();
    expect(factory(LOGIN_HINT_DIRECTORY).useFactory(config({ CIBA_LOGIN_HINT_DIRECTORY_URL: 'https://directory.example/lookup' }), clock)).toBeInstanceOf(LoginHintDirectory);
  });

  it('refuses at start a plain http directory URL outside loopback, or without the development allowance, naming the variable', () => {
    const refused = (env: Record<string, string>) => () => factory(LOGIN_HINT_DIRECTORY).useFactory(config(env), clock);
    expect(refused({ CIBA_LOGIN_HINT_DIRECTORY_URL: 'http://directory.example/lookup', CIBA_CALLBACK_ALLOW_HTTP_LOOPBACK: 'true' })).toThrow(
      'CIBA_LOGIN_HINT_DIRECTORY_URL: the endpoint must use https',
    );
    expect(refused({ CIBA_LOGIN_HINT_DIRECTORY_URL: 'http://127.0.0.1:8080/lookup' })).toThrow('CIBA_LOGIN_HINT_DIRECTORY_URL: the endpoint must use https');
    expect(refused({ CIBA_LOGIN_HINT_DIRECTORY_URL: 'http://127.0.0.1:8080/lookup', CIBA_CALLBACK_ALLOW_HTTP_LOOPBACK: 'true' })()).toBeInstanceOf(LoginHintDirectory);
  });

  it('the login_hint_token verifier is enabled only with trusted issuers', () => {
    const verifier = (env: Record<string, string>) => factory(LoginHintTokenVerifier).useFactory(config(env), clock) as LoginHintTokenVerifier;
    expect(verifier({}).enabled).toBe(false);
    expect(verifier({ CIBA_LOGIN_HINT_TOKEN_ISSUERS: JSON.stringify([{ issuer: 'https://idp.example', jwks_uri: 'https://idp.example/jwks' }]) }).enabled).toBe(true);
  });
});
