import { escapeHtml } from './escape-html.js';

/**
 * The HTML frame every email shares: one narrow column, inline styles only (mail clients drop
 * `<style>` blocks), a heading, and one button with its copyable fallback address.
 */
export const EMAIL_STYLE = {
  p: 'margin:0 0 16px;font-size:16px;line-height:24px;',
  h2: 'margin:24px 0 8px;font-size:16px;line-height:24px;',
  ul: 'margin:0 0 16px;padding-left:24px;font-size:16px;line-height:24px;',
  note: 'margin:24px 0 0;font-size:14px;line-height:20px;color:#52525b;',
} as const;

/** A whole HTML document: `title` and `heading` are plain text (escaped here), `content` is HTML lines. */
export function emailDocument(title: string, heading: string, content: readonly string[]): string {
  const e = escapeHtml;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${e(title)}</title>`,
    '</head>',
    '<body style="margin:0;padding:0;background-color:#f4f4f5;">',
    '<div style="max-width:560px;margin:0 auto;padding:24px;background-color:#ffffff;color:#18181b;font-family:Arial,Helvetica,sans-serif;">',
    `<h1 style="margin:0 0 16px;font-size:22px;line-height:28px;">${e(heading)}</h1>`,
    ...content,
    '</div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** The call to action and, for clients that break buttons, the address itself. `href` must be checked already. */
export function emailButton(href: string, text: string): string[] {
  const e = escapeHtml;
  return [
    `<p style="margin:24px 0;"><a href="${e(href)}" style="display:inline-block;padding:12px 20px;border-radius:6px;background-color:#1d4ed8;color:#ffffff;font-size:16px;font-weight:bold;text-decoration:none;">${e(text)}</a></p>`,
    `<p style="${EMAIL_STYLE.p}">If the button does not work, copy this address into your browser:<br><a href="${e(href)}" style="color:#1d4ed8;word-break:break-all;">${e(href)}</a></p>`,
  ];
}
