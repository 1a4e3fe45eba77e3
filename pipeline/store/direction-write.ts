/** A direction's three downloads on disk, each written atomically. */
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.ts';
import { type Direction, directionJson, directionNpz, directionSafetensors } from './direction-files.ts';

export function writeDirectionFiles(dir: string, stem: string, d: Direction): string[] {
  const files: [string, Uint8Array | string][] = [
    [`${stem}.safetensors`, directionSafetensors(d)],
    [`${stem}.npz`, directionNpz(d)],
    [`${stem}.json`, directionJson(d)],
  ];
  return files.map(([name, data]) => {
    writeFileAtomic(join(dir, name), data);
    return join(dir, name);
  });
}
