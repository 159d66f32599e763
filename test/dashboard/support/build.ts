/**
 * Builds the dashboard from the current sources into dist/dashboard, as `npm run build:dashboard` does: a
 * production bundle even inside vitest (which sets NODE_ENV=test, and vite would then bundle React's development
 * build, several times slower — timings measured on it would mean nothing).
 */
import { build } from 'vite';

/** Runs the vite production build of the dashboard. */
export async function buildDashboard(): Promise<void> {
  const env = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: 'dashboard/vite.config.ts', logLevel: 'error', mode: 'production' });
  } finally {
    if (env === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = env;
  }
}
