import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources of the workspace packages, not their dist.
    alias: {
      // The SDK's subpath entry points first: an alias also matches `<key>/...`.
      '@gatehouse/sdk/fastify': src('./packages/sdk/src/fastify.ts'),
      '@gatehouse/sdk/express': src('./packages/sdk/src/express.ts'),
      '@gatehouse/sdk': src('./packages/sdk/src/index.ts'),
      '@gatehouse/demo-services': src('./packages/demo-services/src/index.ts'),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // 2-core machine: two files at a time; servers are reused within a file.
    maxWorkers: 2,
  },
});
