/**
 * Vite build of the dashboard: a static bundle in dist/dashboard/ that `sigil serve` hands out on the admin port.
 * Paths are relative to this file so the build works from any working directory.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  plugins: [react()],
  // The admin server sends a strict CSP (no inline scripts), so keep everything in external files.
  build: {
    outDir: fileURLToPath(new URL('../dist/dashboard', import.meta.url)),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
  logLevel: 'warn',
});
