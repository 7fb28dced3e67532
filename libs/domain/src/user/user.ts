/** An end-user, with OpenID Connect standard claim names. */
export interface User {
  readonly sub: string;
  readonly name: string | null;
  readonly email: string | null;
  readonly emailVerified: boolean;
  readonly phoneNumber: string | null;
  readonly phoneNumberVerified: boolean;
}
