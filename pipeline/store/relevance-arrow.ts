/**
 * `relevance.arrow` (DESIGN §4): one row per channel with its statistics and its relevance
 * direction Δi_c as a FixedSizeList<Float32>[D]; provenance in the schema metadata. μ and σ are
 * Float64, as the style statistics hold them and as the perturbations (μ ± α_p σ) and Δs (r·σ)
 * use them, so Δs from this file (the browser's) is Δs from build.sqlite (the catalogue's).
 * Encoded batch by batch (Arrow IPC file format), read back as typed arrays. Pure (browser-safe).
 */
import {
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int16,
  Int32,
  RecordBatch,
  RecordBatchFileWriter,
  Schema,
  Struct,
  Utf8,
  makeData,
  tableFromIPC,
  vectorFromArray,
} from 'apache-arrow';
import { fail } from '../core/errors.ts';

export interface RelevanceRow {
  /** Global index of the channel in s [C_total] (all layers, manifest order). */
  channel: number;
  layer: string;
  layerIndex: number;
  channelInLayer: number;
  resolution: number;
  mu: number;
  sigma: number;
  effect: number;
  consistency: number;
  degenerate: number;
  direction: Float32Array;
}

export function relevanceSchema(dim: number, metadata: Record<string, string>): Schema {
  return new Schema(
    [
      new Field('channel', new Int32(), false),
      new Field('layer', new Utf8(), false),
      new Field('layer_index', new Int16(), false),
      new Field('channel_in_layer', new Int32(), false),
      new Field('resolution', new Int32(), false),
      new Field('mu', new Float64(), false),
      new Field('sigma', new Float64(), false),
      new Field('effect', new Float32(), false),
      new Field('consistency', new Float32(), false),
      new Field('degenerate', new Int32(), false),
      new Field('direction', new FixedSizeList(dim, new Field('item', new Float32(), false)), false),
    ],
    new Map(Object.entries(metadata)),
  );
}

function toBatch(schema: Schema, dim: number, rows: readonly RelevanceRow[]): RecordBatch {
  const n = rows.length;
  const dirs = new Float32Array(n * dim);
  rows.forEach((r, i) => dirs.set(r.direction, i * dim));
  const col = <T>(f: (r: RelevanceRow) => T) => rows.map(f);
  const fields = schema.fields;
  const children = [
    makeData({ type: new Int32(), length: n, data: Int32Array.from(col((r) => r.channel)) }),
    vectorFromArray(col((r) => r.layer), new Utf8()).data[0],
    makeData({ type: new Int16(), length: n, data: Int16Array.from(col((r) => r.layerIndex)) }),
    makeData({ type: new Int32(), length: n, data: Int32Array.from(col((r) => r.channelInLayer)) }),
    makeData({ type: new Int32(), length: n, data: Int32Array.from(col((r) => r.resolution)) }),
    makeData({ type: new Float64(), length: n, data: Float64Array.from(col((r) => r.mu)) }),
    makeData({ type: new Float64(), length: n, data: Float64Array.from(col((r) => r.sigma)) }),
    makeData({ type: new Float32(), length: n, data: Float32Array.from(col((r) => r.effect)) }),
    makeData({ type: new Float32(), length: n, data: Float32Array.from(col((r) => r.consistency)) }),
    makeData({ type: new Int32(), length: n, data: Int32Array.from(col((r) => r.degenerate)) }),
    makeData({
      type: fields[10].type as FixedSizeList<Float32>,
      length: n,
      nullCount: 0,
      child: makeData({ type: new Float32(), length: n * dim, data: dirs }),
    }),
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children }));
}

/**
 * The bytes of `relevance.arrow` from pages of rows (channel order); each page becomes a record
 * batch. Returns the bytes and the row count. Pure: pipeline/store/relevance-file.ts writes files.
 */
export function encodeRelevanceArrow(dim: number, metadata: Record<string, string>, pages: Iterable<readonly RelevanceRow[]>): { bytes: Uint8Array; rows: number } {
  const schema = relevanceSchema(dim, metadata);
  const writer = new RecordBatchFileWriter();
  writer.reset(undefined, schema);
  let rows = 0;
  for (const page of pages) {
    if (page.length === 0) continue;
    writer.write(toBatch(schema, dim, page));
    rows += page.length;
  }
  writer.finish();
  return { bytes: writer.toUint8Array(true), rows };
}

export interface RelevanceTable {
  metadata: Record<string, string>;
  dim: number;
  rows: number;
  channel: Int32Array;
  layer: string[];
  layerIndex: Int16Array;
  channelInLayer: Int32Array;
  resolution: Int32Array;
  mu: Float64Array;
  sigma: Float64Array;
  effect: Float32Array;
  consistency: Float32Array;
  degenerate: Int32Array;
  /** Δi rows, [rows, dim]: the fs3 matrix. */
  direction: Float32Array;
}

export function readRelevanceArrow(bytes: Uint8Array): RelevanceTable {
  let table;
  try {
    table = tableFromIPC(bytes);
  } catch (e) {
    return fail('E_STORE', `not a readable relevance.arrow: ${(e as Error).message}`);
  }
  const dirField = table.schema.fields.find((f) => f.name === 'direction');
  if (!dirField || !(dirField.type instanceof FixedSizeList)) fail('E_STORE', 'relevance.arrow has no FixedSizeList column "direction"');
  const dim = (dirField.type as FixedSizeList).listSize;
  const num = <T extends Int32Array | Int16Array | Float32Array | Float64Array>(name: string, Ctor: { from(a: ArrayLike<number>): T }): T => {
    const v = table.getChild(name);
    if (!v) fail('E_STORE', `relevance.arrow has no column "${name}"`);
    return Ctor.from(v.toArray() as ArrayLike<number>);
  };
  const dirVec = table.getChild('direction')!;
  const direction = new Float32Array(table.numRows * dim);
  let off = 0;
  for (const d of dirVec.data) {
    const child = d.children[0];
    const values = (child.values as Float32Array).subarray(child.offset + d.offset * dim, child.offset + (d.offset + d.length) * dim);
    direction.set(values, off);
    off += values.length;
  }
  return {
    metadata: Object.fromEntries(table.schema.metadata),
    dim,
    rows: table.numRows,
    channel: num('channel', Int32Array),
    layer: Array.from(table.getChild('layer')!.toArray() as Iterable<string>),
    layerIndex: num('layer_index', Int16Array),
    channelInLayer: num('channel_in_layer', Int32Array),
    resolution: num('resolution', Int32Array),
    mu: num('mu', Float64Array),
    sigma: num('sigma', Float64Array),
    effect: num('effect', Float32Array),
    consistency: num('consistency', Float32Array),
    degenerate: num('degenerate', Int32Array),
    direction,
  };
}
