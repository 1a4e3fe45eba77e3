import { mergeShards } from '../../stages/merge.ts';
import { requireStr } from '../args.ts';
import { defineCommand } from '../command.ts';

export default defineCommand({
  path: ['merge'],
  summary: 'join the shards of a relevance build (relevance --shard i/n) into one build',
  usage: '--out DIR SHARD_DIR…',
  details: `Checks that the shards were built with identical settings and bundles, that every shard
0…n−1 is there exactly once and complete, then writes one build folder (build.sqlite,
relevance.arrow, fs3.npy) equal to what a single uninterrupted build gives.

  --out DIR   the merged build folder (must not hold a build yet)`,
  options: { out: { type: 'string' } },
  positionals: true,
  async run({ values, positionals, io }) {
    const out = mergeShards(positionals, requireStr(values, 'out'));
    io.err(`merge: ${positionals.length} shards, ${out.channels} channels → ${out.arrow}`);
    io.out(out.arrow);
  },
});
