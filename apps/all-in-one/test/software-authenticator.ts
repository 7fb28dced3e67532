import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

/** The JSON a page script posts after `navigator.credentials.create()` / `.get()` (WebAuthn L3 §5.1.8). */
export interface CredentialJson {
  id: string;
  rawId: string;
  type: 'public-key';
  clientExtensionResults: Record<string, never>;
  response: Record<string, unknown>;
}

/** The parts of a page's WebAuthn options (creation or request, as JSON) an authenticator reads. */
export interface WebAuthnOptions {
  readonly challenge: string;
  readonly rp?: { readonly id?: string };
  readonly rpId?: string;
  readonly user?: { readonly id: string };
  readonly [other: string]: unknown;
}

/** What a misbehaving authenticator or browser may do differently, to see the provider refuse it. */
export interface AssertionTweaks {
  readonly origin?: string;
  readonly rpId?: string;
  readonly userVerified?: boolean;
  readonly signCount?: number;
  readonly challenge?: string;
  readonly corruptSignature?: boolean;
}

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest();

/**
 * A WebAuthn authenticator in software (ES256, `none` attestation), standing in for the browser and
 * its platform authenticator in HTTP-level tests: it answers the provider's real options with the
 * bytes a real one sends (authenticator data, attestation object, DER signature), so the provider's
 * verification runs unchanged. The browser test uses Chromium's virtual authenticator instead.
 */
export class SoftwareAuthenticator {
  private readonly keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  private readonly rawId = randomBytes(32);
  private counter = 0;

  get credentialId(): string {
    return b64url(this.rawId);
  }

  /** `navigator.credentials.create()` on `origin` with the page's options. */
  create(options: WebAuthnOptions, origin: string): CredentialJson {
    const rpId = options.rp?.id ?? new URL(origin).hostname;
    const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin, crossOrigin: false }));
    const attested = Buffer.concat([Buffer.alloc(16), u16(this.rawId.length), this.rawId, this.cosePublicKey()]);
    // UP | UV | AT
    const authData = Buffer.concat([sha256(rpId), Buffer.from([0x01 | 0x04 | 0x40]), u32(this.counter), attested]);
    const attestationObject = isoCBOR.encode(
      new Map<string, unknown>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', new Uint8Array(authData)],
      ]) as never,
    );
    return {
      id: this.credentialId,
      rawId: this.credentialId,
      type: 'public-key',
      clientExtensionResults: {},
      response: { clientDataJSON: b64url(clientDataJSON), attestationObject: b64url(attestationObject), transports: ['internal'] },
    };
  }

  /** `navigator.credentials.get()` on `origin` with the page's options, each use counting up. */
  get(options: WebAuthnOptions, origin: string, tweaks: AssertionTweaks = {}): CredentialJson {
    const rpId = tweaks.rpId ?? options.rpId ?? new URL(origin).hostname;
    this.counter += 1;
    const clientDataJSON = Buffer.from(
      JSON.stringify({ type: 'webauthn.get', challenge: tweaks.challenge ?? options.challenge, origin: tweaks.origin ?? origin, crossOrigin: false }),
    );
    const flags = 0x01 | (tweaks.userVerified === false ? 0 : 0x04);
    const authenticatorData = Buffer.concat([sha256(rpId), Buffer.from([flags]), u32(tweaks.signCount ?? this.counter)]);
    const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), this.keys.privateKey);
    if (tweaks.corruptSignature) signature[signature.length - 1] ^= 0xff;
    return {
      id: this.credentialId,
      rawId: this.credentialId,
      type: 'public-key',
      clientExtensionResults: {},
      response: { clientDataJSON: b64url(clientDataJSON), authenticatorData: b64url(authenticatorData), signature: b64url(signature) },
    };
  }

  /** COSE_Key (RFC 9053) of the P-256 public key: kty EC2, alg ES256, crv P-256, x, y. */
  private cosePublicKey(): Uint8Array {
    const jwk = this.keys.publicKey.export({ format: 'jwk' });
    return isoCBOR.encode(
      new Map<number, unknown>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, new Uint8Array(Buffer.from(jwk.x!, 'base64url'))],
        [-3, new Uint8Array(Buffer.from(jwk.y!, 'base64url'))],
      ]) as never,
    );
  }
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
