/** Shared by the config tests. */
import { expect } from 'vitest';
import { ConfigError } from '../../src/config/load.js';

/** The message of the CONFIG_INVALID ConfigError `f` throws; fails the test on success or another error. */
export function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).code).toBe('CONFIG_INVALID');
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}
