/** pipeline/core/sha256.ts (the browser's fallback where crypto.subtle is missing) against node:crypto, across the padding boundaries. */
import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { sha256Hex } from '../../pipeline/core/sha256.ts';

it('gives node:crypto’s sha256 for every length around a block and its padding', () => {
  for (const n of [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 1000, 70_001]) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 131 + n) & 255);
    expect(sha256Hex(bytes), `${n} bytes`).toBe(createHash('sha256').update(bytes).digest('hex'));
  }
  expect(sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'); // FIPS 180-2 example
});
