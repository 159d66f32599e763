import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openIssuerStores } from '../../src/issuer/open-stores.js';
import { IssuerService } from '../../src/issuer/service.js';
import { AGENT, cleanupDirs, codeOf, OPERATOR, tempDir, testConfig, testOptions } from './helpers.js';

afterEach(cleanupDirs);

describe('operator credential', () => {
  it('none configured by default', () => {
    expect(testOptions(tempDir()).operatorCredential).toBeUndefined();
  });

  it('operator_token_file is read and trimmed; too short, or unreadable, stops start-up with a config code', () => {
    const dir = tempDir();
    const file = join(dir, 'op');
    writeFileSync(file, `${OPERATOR}\n`);
    expect(testOptions(dir, { issuer: { operator_token_file: file } }).operatorCredential).toBe(OPERATOR);
    writeFileSync(file, 'short\n');
    expect(codeOf(() => testOptions(dir, { issuer: { operator_token_file: file } }))).toBe('CONFIG_INVALID');
    expect(codeOf(() => testOptions(dir, { issuer: { operator_token_file: join(dir, 'nope') } }))).toBe(
      'CONFIG_UNREADABLE',
    );
  });

  it('a too-short inline operator_token is refused by config validation, naming the key', () => {
    expect(() => testConfig(tempDir(), { issuer: { operator_token: 'short' } })).toThrow(
      /sigil\.issuer\.operator_token/,
    );
  });

  it('the service checks the credential for remote callers only; near-misses are refused', async () => {
    const dir = tempDir();
    const options = testOptions(dir, { issuer: { operator_token: OPERATOR } });
    const stores = await openIssuerStores(options, { watch: false });
    const service = new IssuerService({ options, ...stores });
    const req = { sub: AGENT, task_id: 't', tool_scope: ['a'] };
    for (const credential of [undefined, '', OPERATOR.slice(0, -1), `${OPERATOR} `, OPERATOR.toUpperCase()]) {
      expect(codeOf(() => service.mint(req, { kind: 'remote', credential }))).toBe('ISSUER_UNAUTHORIZED');
    }
    expect(service.mint(req, { kind: 'remote', credential: OPERATOR }).depth).toBe(1);
    stores.close();
  });
});
