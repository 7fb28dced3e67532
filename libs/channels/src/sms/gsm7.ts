/**
 * GSM 03.38 (3GPP TS 23.038 §6.2.1) default alphabet, one septet per octet ("unpacked"), which is
 * what SMPP 3.4 carries for data_coding 0. Characters outside the basic table and its extension
 * table force UCS-2 (data_coding 8), which also shrinks a single SMS from 160 to 70 characters.
 */
const BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const EXTENSION: Readonly<Record<string, number>> = { '\f': 0x0a, '^': 0x14, '{': 0x28, '}': 0x29, '\\': 0x2f, '[': 0x3c, '~': 0x3d, ']': 0x3e, '|': 0x40, '€': 0x65 };
const ESCAPE = 0x1b;

const basicIndex = new Map<string, number>([...BASIC].map((ch, i) => [ch, i]));

/** Single-segment limits (SMPP short_message without UDH). */
export const GSM7_SINGLE_SEGMENT = 160;
export const UCS2_SINGLE_SEGMENT = 70;

export function isGsm7(text: string): boolean {
  for (const ch of text) {
    if (ch === '\u001b' || (!basicIndex.has(ch) && !(ch in EXTENSION))) return false;
  }
  return true;
}

/** Length as the handset counts it: septets for GSM-7 (extension characters take two), UTF-16 units otherwise. */
export function smsLength(text: string): number {
  if (!isGsm7(text)) return text.length;
  let n = 0;
  for (const ch of text) n += ch in EXTENSION ? 2 : 1;
  return n;
}

export function encodeGsm7(text: string): Buffer {
  const out: number[] = [];
  for (const ch of text) {
    const basic = basicIndex.get(ch);
    if (basic !== undefined && basic !== ESCAPE) out.push(basic);
    else if (ch in EXTENSION) out.push(ESCAPE, EXTENSION[ch]);
    else throw new RangeError('text is not GSM-7 encodable');
  }
  return Buffer.from(out);
}

/** UCS-2 as SMSCs accept it in practice: UTF-16 big-endian (astral characters as surrogate pairs). */
export function encodeUcs2(text: string): Buffer {
  const le = Buffer.from(text, 'utf16le');
  return le.swap16();
}
