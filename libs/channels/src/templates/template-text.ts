/** Small text rules every message template follows. */

/** Only http(s) links: a `javascript:` or `data:` URL must never become a button. */
export function checkedUrl(raw: string): string {
  const url = new URL(raw);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('a message link must be an http(s) URL');
  return url.href;
}

/** Control characters (CR/LF above all) would let a client name fake extra lines in the text part. */
export function singleLine(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
}

export function truncate(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}
