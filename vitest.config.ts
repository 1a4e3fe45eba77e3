import { defineConfig } from 'vitest/config';

// Test projects split by what they need: `npx vitest run --project unit` runs only pure tests.
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 600_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'contract', include: ['test/contract/**/*.test.ts'] } },
      { extends: true, test: { name: 'parity', include: ['test/parity/**/*.test.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'] } },
      // Minutes each (full-size models in a real browser): `npx vitest run --project slow`.
      { extends: true, test: { name: 'slow', include: ['test/slow/**/*.test.ts'] } },
      // A real single-node Slurm (test/helpers/slurm.ts): `npx vitest run --project cluster`.
      { extends: true, test: { name: 'cluster', include: ['test/cluster/**/*.test.ts'] } },
    ],
  },
});
