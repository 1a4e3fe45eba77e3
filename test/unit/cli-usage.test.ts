import { expect, it } from 'vitest';
import { commandSections, commands } from '../../pipeline/cli/commands/index.ts';
import { renderTopUsage } from '../../pipeline/cli/main.ts';

it('styleatlas --help says where to start and lists every command once, in the order of the work', () => {
  const text = renderTopUsage(commands, commandSections);
  expect(text).toMatch(/^Start here: `styleatlas demo`/m);
  const at = (name: string) => text.search(new RegExp(`^  ${name} `, 'm'));
  const order = ['models build', 'import stylegan2', 'relevance', 'merge', 'catalogue', 'site build', 'site serve', 'demo'].map(at);
  expect(order.every((p) => p > 0)).toBe(true);
  expect([...order].sort((a, b) => a - b)).toEqual(order);
  expect(new Set(commands.map((c) => c.path.join(' '))).size).toBe(commands.length);
  // A command's line is its path padded and then two spaces (`nightly` must not count `nightly status`).
  for (const c of commands) expect(text.split('\n').filter((l) => l.startsWith(`  ${c.path.join(' ')}  `))).toHaveLength(1);
});
