import type { Request, Response } from 'express';
import { CORRELATION_HEADER } from '@ciba/platform';

/** The correlation id the request logger gave this request (from `X-Correlation-Id`, or minted), for the events it causes. */
export function correlationIdOf(res: Response): string | null {
  const value = res.getHeader(CORRELATION_HEADER);
  return typeof value === 'string' ? value : null;
}

/** One string value from a urlencoded body; repeated or missing fields are null. */
export function formField(req: Request, name: string): string | null {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null) return null;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : null;
}

/** One value of a request header; a repeated header is null. */
export function headerValue(value: string | string[] | undefined): string | null {
  return typeof value === 'string' ? value : null;
}
