#!/usr/bin/env node
/**
 * `sigil` entry point: refuses an unsupported Node.js first (src/cli/runtime.ts), then loads the CLI. The
 * dynamic import keeps every other module out of the module graph until the check passed, so an old runtime
 * gets the `NODE_UNSUPPORTED` message instead of whatever first fails to link.
 */
import { requireSupportedNode } from './runtime.js';

requireSupportedNode();
await import('./program.js');
