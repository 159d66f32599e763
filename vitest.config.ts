import { defineConfig } from 'vitest/config';

// Default run (`npm test`): tests of the product only. test/slow (DoS/slow: `npm run test:slow`) and
// test/bench (the benchmark harness, e.g. the real Envoy + vegeta smoke run: `npm run test:bench`) are separate.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/slow/**', 'test/bench/**', 'node_modules/**', 'dist/**'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
