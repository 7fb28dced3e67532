import type { Client } from '../client/client.js';

/**
 * A client registered at the registration endpoint (RFC 7591 §3), as opposed to one from the
 * bootstrap file: only such a client has a registration, and only it can be read, updated or
 * deleted with its registration access token (RFC 7592).
 */
export interface ClientRegistration {
  readonly clientId: string;
  /** SHA-256 (base64url) of the registration access token; the token itself is never stored. */
  readonly registrationAccessTokenHash: string;
  /** RFC 7591 §3.2.1 `client_id_issued_at`. */
  readonly clientIdIssuedAt: Date;
  /** The metadata as registered (RFC 7591 names, defaults filled in), echoed in responses; never a secret. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface ClientRegistrations {
  /** Stores a new client and its registration in one transaction; never replaces an existing client. */
  create(client: Client, registration: ClientRegistration): Promise<void>;
  /** The registration and its client, read from the database (never a cache). */
  find(clientId: string): Promise<{ readonly client: Client; readonly registration: ClientRegistration } | null>;
  /** Replaces a registered client and its metadata in one transaction; false when it is no longer registered. */
  update(client: Client, metadata: Readonly<Record<string, unknown>>): Promise<boolean>;
  /**
   * Deletes a registered client with everything that lets it act: its registration, its
   * authentication requests (with their decision links and callbacks) and its refresh tokens.
   * False when it was not registered (a bootstrap client is never deleted here).
   */
  delete(clientId: string): Promise<boolean>;
}
