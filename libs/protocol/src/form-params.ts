import { invalidRequest } from './errors.js';

/**
 * The parameters of one `application/x-www-form-urlencoded` request, after the duplicate check.
 *
 * Empty values are dropped on the way in: RFC 6749 §3.1 says "Parameters sent without a value MUST
 * be treated as if they were omitted from the request", so `get` never returns `''` and a required
 * parameter sent empty is reported as missing.
 */
export class FormParams {
  private readonly values: ReadonlyMap<string, string>;

  constructor(values: Iterable<readonly [string, string]>) {
    this.values = new Map([...values].filter(([, value]) => value !== ''));
  }

  get(name: string): string | undefined {
    return this.values.get(name);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  names(): string[] {
    return [...this.values.keys()];
  }
}

/**
 * Accepts what Express' urlencoded parser with `extended: false` (Node `querystring`) produces:
 * each value a string, or a string[] when the key was repeated. RFC 6749 §3.1: "Request and
 * response parameters MUST NOT be included more than once."
 */
export function parseFormParams(body: unknown): FormParams {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidRequest('the request body must be application/x-www-form-urlencoded');
  }
  const entries: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(body)) {
    if (Array.isArray(value)) throw invalidRequest(`parameter ${printableName(name)} is repeated`);
    if (typeof value !== 'string') throw invalidRequest(`parameter ${printableName(name)} must be a string`);
    entries.push([name, value]);
  }
  return new FormParams(entries);
}

/** Parameter names are echoed in descriptions, so keep them short and printable. */
function printableName(name: string): string {
  return /^[\w.:-]{1,64}$/.test(name) ? name : '(unnamed)';
}
