// Test tiers by file suffix: *.unit.test.ts (pure, no servers), *.int.test.ts (real Postgres and
// Temporal, started once by the global setup), *.e2e.test.ts (over a real port), *.browser.test.ts (a real
// Chromium against the console on the real stack; run alone with `vitest run --project int browser`).
import { defineConfig } from 'vitest/config';

const sources = ['packages/*/src', 'workflows/src', 'activities/src', 'services/*/src', 'infra/src'];

export default defineConfig({
  resolve: { conditions: ['source', 'module', 'node', 'development|production'] },
  ssr: { resolve: { conditions: ['source', 'module', 'node', 'development|production'] } },
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: sources.map((s) => `${s}/**/*.unit.test.ts`) },
      },
      {
        extends: true,
        test: {
          name: 'int',
          include: sources.flatMap((s) => [`${s}/**/*.int.test.ts`, `${s}/**/*.e2e.test.ts`, `${s}/**/*.browser.test.ts`]),
          globalSetup: ['infra/src/testing/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Two cores: files run two at a time against the shared servers, each in its own database.
          maxWorkers: 2,
          minWorkers: 1,
        },
      },
    ],
  },
});
