const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

/** What a template may refer to: the route's parameters, the subject token's claims, the method and path. */
export interface TemplateContext {
  readonly params: Readonly<Record<string, string>>;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly method: string;
  readonly path: string;
}

export class TemplateError extends Error {}

export function templatePlaceholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]);
}

/**
 * Fills a template. Deterministic: the same request and subject token always give the same text
 * (no clock, no randomness), so what the user approves can be checked against what was asked. A
 * claim that is missing, or is not a string or number, is an error rather than an empty hole in
 * the message the user reads.
 */
export function renderTemplate(template: string, context: TemplateContext): string {
  return template.replace(PLACEHOLDER, (_match, placeholder: string) => {
    if (placeholder === 'method') return context.method;
    if (placeholder === 'path') return context.path;
    const [scope, name] = placeholder.split('.');
    const value = scope === 'params' ? context.params[name] : scope === 'claims' ? context.claims[name] : undefined;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    throw new TemplateError(`the ${scope === 'claims' ? `subject token has no string claim ${name}` : `placeholder {{${placeholder}}} has no value`}`);
  });
}

/** Every string inside a JSON value rendered as a template (RFC 9396 authorization_details). */
export function renderJsonTemplate(value: unknown, context: TemplateContext): unknown {
  if (typeof value === 'string') return renderTemplate(value, context);
  if (Array.isArray(value)) return value.map((v) => renderJsonTemplate(v, context));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderJsonTemplate(v, context)]));
  }
  return value;
}
