import { readFileSync } from 'node:fs';
import { type CibaClient, type ClientCredentials, type PollResult, type StartApprovalParams, type StartedApproval, discover, pollOnce, startApproval } from '@ciba/client';
import { importJWK, importPKCS8 } from 'jose';
import type { Policy, ProviderPolicy } from './policy/policy.js';

/**
 * The CIBA providers of the policy, each a `@ciba/client` client made on first use (discovery, or
 * the endpoints the policy names). A failed discovery is tried again on the next request.
 */
export class CibaProviders {
  private readonly clients = new Map<string, Promise<CibaClient>>();

  constructor(
    private readonly policy: Policy,
    private readonly allowInsecureRequests: boolean,
  ) {}

  async start(provider: string, params: StartApprovalParams): Promise<StartedApproval> {
    return startApproval(await this.client(provider), params);
  }

  async poll(provider: string, authReqId: string, interval: number): Promise<PollResult> {
    return pollOnce(await this.client(provider), authReqId, { interval });
  }

  /** The client of `provider`, for another use of the same credentials (the audit reports). */
  client(provider: string): Promise<CibaClient> {
    let client = this.clients.get(provider);
    if (!client) {
      const settings = this.policy.providers[provider];
      if (!settings) return Promise.reject(new Error(`no provider named ${provider}`));
      client = this.connect(settings);
      client.catch(() => this.clients.delete(provider));
      this.clients.set(provider, client);
    }
    return client;
  }

  private async connect(settings: ProviderPolicy): Promise<CibaClient> {
    const credentials = await clientCredentials(settings);
    const options = { allowInsecureRequests: this.allowInsecureRequests, timeoutSeconds: 10 };
    if (settings.issuer !== undefined) return discover(settings.issuer, settings.client.clientId, credentials, options);
    // No discovery: a stand-in document serving the endpoints the policy names, so the client kit
    // is used the same way for both.
    const metadata = {
      issuer: new URL(settings.tokenEndpoint ?? '').origin,
      backchannel_authentication_endpoint: settings.cibaEndpoint,
      token_endpoint: settings.tokenEndpoint,
    };
    const served: typeof fetch = async (input, init) => {
      const target = input instanceof Request ? input.url : String(input);
      if (target.endsWith('/.well-known/openid-configuration')) {
        return new Response(JSON.stringify(metadata), { status: 200, headers: { 'content-type': 'application/json' } });
      }
      return fetch(input, init);
    };
    return discover(metadata.issuer, settings.client.clientId, credentials, { ...options, fetch: served });
  }
}

type PrivateKey = Extract<ClientCredentials, { method: 'private_key_jwt' }>['privateKey'];

async function clientCredentials(settings: ProviderPolicy): Promise<ClientCredentials> {
  const { clientSecret, privateKeyJwt } = settings.client;
  if (clientSecret !== undefined) return { method: 'client_secret_basic', clientSecret };
  if (!privateKeyJwt) throw new Error('the provider has no client credentials');
  const text = readFileSync(privateKeyJwt.keyFile, 'utf8').trim();
  if (text.startsWith('{')) {
    const jwk = JSON.parse(text) as Record<string, unknown>;
    const privateKey = (await importJWK(jwk, privateKeyJwt.alg)) as PrivateKey;
    const kid = privateKeyJwt.kid ?? (typeof jwk['kid'] === 'string' ? jwk['kid'] : undefined);
    return { method: 'private_key_jwt', privateKey, ...(kid !== undefined ? { kid } : {}) };
  }
  const privateKey = await importPKCS8(text, privateKeyJwt.alg);
  return { method: 'private_key_jwt', privateKey, ...(privateKeyJwt.kid !== undefined ? { kid: privateKeyJwt.kid } : {}) };
}
