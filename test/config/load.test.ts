/** `loadConfig`: environment overrides keep string keys as strings, and listen errors say the expected form. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { listenerOptions } from '../../src/serve/check-from-config.js';
import { messageOf } from './helpers.js';

describe('loadConfig environment overrides', () => {
  it('keeps a value verbatim where the schema expects a string', () => {
    const c = loadConfig({
      env: { SIGIL__AGENT__SPIFFE_ID: 'spiffe://x/agent/1', SIGIL__ADMIN__TOKEN: '1234567890123456' },
    });
    expect(c.agent.spiffe_id).toBe('spiffe://x/agent/1');
    // A numeric-looking token stays a string instead of failing as "received number".
    expect(c.admin.token).toBe('1234567890123456');
  });

  it('still parses numbers and booleans for non-string keys', () => {
    const c = loadConfig({ env: { SIGIL__ISSUER__MAX_TTL: '120', SIGIL__AUTHZ__STRIP_TOKEN: 'false' } });
    expect(c.issuer.max_ttl).toBe(120);
    expect(c.authz.strip_token).toBe(false);
  });

  it('accepts host:port, [v6]:port and unix:/path for listen keys', () => {
    const c = loadConfig({
      env: {
        SIGIL__AUTHZ__LISTEN: '0.0.0.0:19191',
        SIGIL__ADMIN__LISTEN: '[::1]:19190',
        SIGIL__ISSUER__LISTEN_HTTP: 'unix:/tmp/sigil.sock',
      },
    });
    expect([c.authz.listen, c.admin.listen, c.issuer.listen_http]).toEqual([
      '0.0.0.0:19191',
      '[::1]:19190',
      'unix:/tmp/sigil.sock',
    ]);
  });

  it.each(['SIGIL__AUTHZ__LISTEN', 'SIGIL__ADMIN__LISTEN', 'SIGIL__ISSUER__LISTEN_GRPC'])(
    '%s=19191 (a bare port) names the key and the expected form',
    (name) => {
      const msg = messageOf(() => loadConfig({ env: { [name]: '19191' } }));
      expect(msg).toContain(
        `config sigil.${name.slice('SIGIL__'.length).toLowerCase().replaceAll('__', '.')}`,
      );
      expect(msg).toContain('host:port, [v6]:port or unix:/path');
      expect(msg).not.toContain('received number');
    },
  );
});

describe('loadConfig listen keys in a file', () => {
  it('a bare port in YAML names the key and the expected form', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-config-'));
    try {
      const file = join(dir, 'sigil.yaml');
      writeFileSync(file, 'sigil:\n  authz:\n    listen: 19191\n');
      const msg = messageOf(() => loadConfig({ file, env: {} }));
      expect(msg).toContain('config sigil.authz.listen');
      expect(msg).toContain('host:port, [v6]:port or unix:/path');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sigil.authz.idle_timeout_s', () => {
  it('defaults to 300 s and reaches the listener as idleTimeoutMs (0 = never)', () => {
    expect(listenerOptions(loadConfig({ env: {} })).idleTimeoutMs).toBe(300_000);
    const off = loadConfig({ env: { SIGIL__AUTHZ__IDLE_TIMEOUT_S: '0' } });
    expect(listenerOptions(off)).toMatchObject({ idleTimeoutMs: 0, transport: 'h2c' });
  });

  it.each(['-1', '86401', '1.5', 'soon'])('%s is refused, naming the key', (v) => {
    const msg = messageOf(() => loadConfig({ env: { SIGIL__AUTHZ__IDLE_TIMEOUT_S: v } }));
    expect(msg).toContain('config sigil.authz.idle_timeout_s');
  });
});
