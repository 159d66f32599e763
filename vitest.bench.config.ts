import { defineConfig } from 'vitest/config';

// Tests of the benchmark harness (`npm run test:bench`, also run by CI): the end-to-end smoke run with real
// Envoy + vegeta, GC-trace parsing, the e2e report's arithmetic and the durable-commit budget (wall clock).
export default defineConfig({
  test: {
    include: ['test/bench/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
