/** `sigil.authz.workers` (docs/authz.md §12): validated with the key's name; `auto` follows the CPU budget. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { workersFromConfig } from '../../src/serve/workers/workers-from-config.js';

const load = (authz: Record<string, unknown>) => loadConfig({ env: {}, overrides: { authz } });

describe('sigil.authz.workers', () => {
  it('defaults to 1 (the single-process path); takes 2..64 and auto', () => {
    expect(load({}).authz.workers).toBe(1);
    expect(workersFromConfig(load({}))).toBe(1);
    expect(workersFromConfig(load({ workers: 4 }))).toBe(4);
    expect(workersFromConfig(load({ workers: 'auto' }), () => 3)).toBe(3);
    expect(workersFromConfig(load({ workers: 'auto' }), () => 1)).toBe(1);
    expect(workersFromConfig(load({ workers: 'auto' }), () => 200)).toBe(64);
  });

  it.each([0, 65, 1.5, 'many', -1])('%j → CONFIG_INVALID naming sigil.authz.workers', (v) => {
    let err: unknown;
    try {
      load({ workers: v });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((err as Error).message).toContain('sigil.authz.workers');
  });
});
