/** relevance.arrow on disk: written atomically (its size is C·D·4 bytes, 12 MiB for FFHQ's conv channels). */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic.ts';
import { type RelevanceRow, type RelevanceTable, encodeRelevanceArrow, readRelevanceArrow } from './relevance-arrow.ts';

export function writeRelevanceArrowFile(path: string, dim: number, metadata: Record<string, string>, pages: Iterable<readonly RelevanceRow[]>): number {
  const { bytes, rows } = encodeRelevanceArrow(dim, metadata, pages);
  writeFileAtomic(path, bytes);
  return rows;
}

export function readRelevanceArrowFile(path: string): RelevanceTable {
  return readRelevanceArrow(readFileSync(path));
}
