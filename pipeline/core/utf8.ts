/**
 * Text files the user writes (prompt files, template lists) are UTF-8 or refused: Node's 'utf8'
 * decoding turns a bad byte into U+FFFD, which would then be stored and encoded as a prompt.
 * Pure (browser-safe).
 */
import { fail } from './errors.ts';

/**
 * The offset of the first byte that does not begin a well-formed UTF-8 sequence (Unicode's
 * Table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF), or -1 when all are.
 */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const c = bytes[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let more: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) more = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      more = 2;
      if (c === 0xe0) lo = 0xa0; // overlong
      if (c === 0xed) hi = 0x9f; // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      more = 3;
      if (c === 0xf0) lo = 0x90; // overlong
      if (c === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k <= more; k++) {
      const d = i + k < bytes.length ? bytes[i + k] : -1;
      if (d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return i;
    }
    i += more + 1;
  }
  return -1;
}

/** `bytes` as text, or E_INPUT naming the byte offset of the first thing that is not UTF-8. */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  const at = invalidUtf8Offset(bytes);
  if (at >= 0) {
    const shown = Array.from(bytes.subarray(at, at + 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    fail('E_INPUT', `${what} is not UTF-8: the bytes at offset ${at} (${shown}) are not a UTF-8 character`, 'save the file as UTF-8');
  }
  return new TextDecoder('utf-8').decode(bytes);
}
