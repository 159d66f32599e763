/** `sigil serve` refuses bad flags with a stable code before it binds anything. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSigilCli } from '../support/sigil-process.js';

const dir = mkdtempSync(join(tmpdir(), 'sigil-serve-cli-'));
const file = join(dir, 'sigil.yaml');
writeFileSync(file, `sigil:\n  data_dir: ${dir}\n`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sigil serve flags', () => {
  it.each([
    [['--listen', 'nope'], 'config sigil.authz.listen'],
    [['--admin', 'x:y'], 'config sigil.admin.listen'],
    [['--drain-ms', '-1'], '--drain-ms'],
  ])(
    '%j → exit 1 CONFIG_INVALID',
    async (flags, what) => {
      const r = await runSigilCli(file, ['serve', ...flags]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('CONFIG_INVALID');
      expect(r.stderr).toContain(what);
    },
    60_000,
  );
});
