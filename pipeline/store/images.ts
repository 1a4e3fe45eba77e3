/** Image files (PNG, WebP) from RGB bytes, through sharp. */
import sharp from 'sharp';
import { writeFileAtomic } from './atomic.ts';

export async function encodeRGB(data: Uint8Array, width: number, height: number, format: 'png' | 'webp', scale = 1): Promise<Uint8Array> {
  let img = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels: 3 } });
  // Nearest-neighbour enlargement keeps small generator pixels crisp in contact sheets.
  if (scale !== 1) img = img.resize(Math.round(width * scale), Math.round(height * scale), { kernel: 'nearest' });
  const buf = format === 'png' ? await img.png({ compressionLevel: 9 }).toBuffer() : await img.webp({ quality: 85 }).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export async function writeRGB(path: string, data: Uint8Array, width: number, height: number, scale = 1): Promise<void> {
  const format = path.toLowerCase().endsWith('.webp') ? 'webp' : 'png';
  writeFileAtomic(path, await encodeRGB(data, width, height, format, scale));
}

/** Decode any image sharp reads into RGB bytes (used by tests to look at what was written). */
export async function decodeRGB(bytes: Uint8Array): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}
