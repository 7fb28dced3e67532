import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { invalidRequest, isUtf8FormBody, jsonValueProblem } from '@ciba/protocol';

/** The largest request body any endpoint reads; a larger one is 413. */
export const BODY_LIMIT = '64kb';
/** The most form parameters a body may have; more is 413. */
export const PARAMETER_LIMIT = 100;

const UTF8 = /^utf-?8$/i;

type UrlencodedOptions = NonNullable<Parameters<typeof express.urlencoded>[0]>;
type JsonOptions = NonNullable<Parameters<typeof express.json>[0]>;

/**
 * Form and JSON bodies, refused before routing when they are not text the endpoints can use: a
 * form whose percent-decoded bytes are not UTF-8 (RFC 6749 Appendix B), JSON that is not UTF-8
 * (RFC 8259 §8.1), or JSON holding a string with a control character (other than tab and line
 * breaks) or an unpaired surrogate. Node's decoders would otherwise turn bad bytes into U+FFFD,
 * or leave them undecoded, without a word. The errors are `invalid_request`, answered by the
 * fallback exception filter in the route's format.
 */
export function useRequestBodyParsers(app: NestExpressApplication): void {
  const parsedAsJson = new WeakSet<IncomingMessage>();
  // extended: false keeps repeated parameters as arrays, so duplicates can be rejected (CIBA §7.1).
  // Nest's typings reserve `verify` for its rawBody option, which this application does not use.
  const form: UrlencodedOptions = {
    extended: false,
    limit: BODY_LIMIT,
    parameterLimit: PARAMETER_LIMIT,
    verify: (_req, _res, body, encoding) => {
      // iso-8859-1, the only other charset the parser accepts, has no invalid byte sequences.
      if (UTF8.test(encoding) && !isUtf8FormBody(body)) throw invalidRequest('the request body is not valid UTF-8');
    },
  };
  const json: JsonOptions = {
    limit: BODY_LIMIT,
    verify: (req, _res, body, encoding) => {
      if (!UTF8.test(encoding) || !isUtf8(body)) throw invalidRequest('the request body is not valid UTF-8');
      parsedAsJson.add(req);
    },
  };
  app.useBodyParser('urlencoded', form);
  app.useBodyParser('json', json);
  app.use((req: Request, _res: Response, next: NextFunction) => {
    const problem = parsedAsJson.has(req) ? jsonValueProblem(req.body) : null;
    next(problem === null ? undefined : invalidRequest(`the JSON body ${problem}`));
  });
}
