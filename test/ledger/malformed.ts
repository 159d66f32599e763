/**
 * THE shared table of malformed ledger inputs (noble style): every ledger parser must reject each entry
 * with a LedgerError of the listed code — never another exception, never a crash, never acceptance.
 * `target` names the parser: note (verifyNote), vkey (parseVerifierKey), checkpoint (parseCheckpoint),
 * bundle (parseProofBundle), record (decodeRecord).
 */
import type { LedgerErrorCode } from '../../src/ledger/errors.js';

export interface MalformedLedgerInput {
  name: string;
  target: 'note' | 'vkey' | 'checkpoint' | 'bundle' | 'record';
  input: unknown;
  code: LedgerErrorCode;
}

/** The C2SP signed-note spec example (c2sp.org/signed-note), used as a known-good base. */
export const SPEC_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
export const SPEC_NOTE =
  'This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

const SIG_LINE = SPEC_NOTE.slice(SPEC_NOTE.indexOf('\u2014'));
const ROOT = 'Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2OM=';
const enc = (s: string) => new TextEncoder().encode(s);

export const MALFORMED_LEDGER: readonly MalformedLedgerInput[] = [
  // ---- signed notes
  { name: 'note: not a string', target: 'note', input: 42, code: 'LEDGER_NOTE_MALFORMED' },
  { name: 'note: empty', target: 'note', input: '', code: 'LEDGER_NOTE_MALFORMED' },
  {
    name: 'note: no trailing newline',
    target: 'note',
    input: SPEC_NOTE.slice(0, -1),
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'note: no blank line',
    target: 'note',
    input: `This is an example message.\n${SIG_LINE}`,
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'note: ASCII hyphen instead of em dash',
    target: 'note',
    input: SPEC_NOTE.replace('\u2014', '-'),
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'note: tab control character',
    target: 'note',
    input: SPEC_NOTE.replace('example message', 'example\tmessage'),
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'note: CR line ending',
    target: 'note',
    input: SPEC_NOTE.replace('message.\n', 'message.\r\n'),
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'note: NUL byte',
    target: 'note',
    input: SPEC_NOTE.replace('This', 'Th\u0000is'),
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'note: lone surrogate',
    target: 'note',
    input: SPEC_NOTE.replace('This', 'Th\uD800is'),
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'note: signature not base64',
    target: 'note',
    input: SPEC_NOTE.replace('Uw2QOkn8', 'Uw2QO*n8'),
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'note: signature base64 without padding',
    target: 'note',
    input: SPEC_NOTE.replace('IneyaQM=', 'IneyaQM'),
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'note: signature too short for a key id',
    target: 'note',
    input: 'm\n\n\u2014 example.com/foo AAAA\n',
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'note: double space in signature line',
    target: 'note',
    input: SPEC_NOTE.replace('\u2014 example', '\u2014  example'),
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'note: only the text',
    target: 'note',
    input: 'This is an example message.\n\n',
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'note: 1 MiB',
    target: 'note',
    input: `${'a'.repeat(1 << 20)}\n\n${SIG_LINE}`,
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'note: 1000 unknown signatures',
    target: 'note',
    input: `m\n\n${'\u2014 x.example AAAAAAAA\n'.repeat(1000)}`,
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'note: text changed (forged)',
    target: 'note',
    input: SPEC_NOTE.replace('example', 'exemple'),
    code: 'LEDGER_SIGNATURE_INVALID',
  },
  {
    name: 'note: signature byte flipped',
    target: 'note',
    input: SPEC_NOTE.replace('Uw2QOkn8', 'Uw2QOkn9'),
    code: 'LEDGER_SIGNATURE_INVALID',
  },
  {
    name: 'note: only unknown-key signatures',
    target: 'note',
    input: SPEC_NOTE.replace('example.com/foo', 'example.com/bar'),
    code: 'LEDGER_SIGNATURE_INVALID',
  },
  {
    name: 'note: known key, truncated signature',
    target: 'note',
    input:
      'This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72Iney\n',
    code: 'LEDGER_SIGNATURE_INVALID',
  },
  // ---- verifier keys
  { name: 'vkey: not a string', target: 'vkey', input: null, code: 'LEDGER_NOTE_MALFORMED' },
  {
    name: 'vkey: two parts',
    target: 'vkey',
    input: 'example.com/foo+530d903a',
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'vkey: empty name',
    target: 'vkey',
    input: SPEC_VKEY.replace('example.com/foo', ''),
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'vkey: space in name',
    target: 'vkey',
    input: SPEC_VKEY.replace('example.com/foo', 'example.com/f o'),
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'vkey: uppercase key id',
    target: 'vkey',
    input: SPEC_VKEY.replace('530d903a', '530D903A'),
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'vkey: wrong key id',
    target: 'vkey',
    input: SPEC_VKEY.replace('530d903a', '530d903b'),
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'vkey: renamed (id no longer matches)',
    target: 'vkey',
    input: SPEC_VKEY.replace('example.com/foo', 'example.com/bar'),
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'vkey: type byte 0x02',
    target: 'vkey',
    input: SPEC_VKEY.replace('AekyeRrm', 'AukyeRrm'),
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'vkey: key 32 bytes (no type byte)',
    target: 'vkey',
    input: 'example.com/foo+530d903a+6TJ5Guvnq+g3ZeVNGsWZMuk9wCJyJT4BsnI7bg7ck7g=',
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'vkey: key not base64',
    target: 'vkey',
    input: 'example.com/foo+530d903a+!!!!',
    code: 'LEDGER_NOTE_MALFORMED',
  },
  // ---- checkpoints
  { name: 'checkpoint: two lines', target: 'checkpoint', input: 'o\n1\n', code: 'LEDGER_NOTE_MALFORMED' },
  {
    name: 'checkpoint: no final newline',
    target: 'checkpoint',
    input: `o\n1\n${ROOT}`,
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'checkpoint: empty origin',
    target: 'checkpoint',
    input: `\n1\n${ROOT}\n`,
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'checkpoint: leading zero size',
    target: 'checkpoint',
    input: `o\n01\n${ROOT}\n`,
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'checkpoint: negative size',
    target: 'checkpoint',
    input: `o\n-1\n${ROOT}\n`,
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'checkpoint: size beyond 2^53',
    target: 'checkpoint',
    input: `o\n9007199254740993\n${ROOT}\n`,
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'checkpoint: hex size',
    target: 'checkpoint',
    input: `o\n0x10\n${ROOT}\n`,
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'checkpoint: root 31 bytes',
    target: 'checkpoint',
    input: 'o\n1\nUw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2A==\n',
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'checkpoint: root base64url',
    target: 'checkpoint',
    input: 'o\n1\nUw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2O_=\n',
    code: 'LEDGER_NOTE_MALFORMED',
  },
  {
    name: 'checkpoint: empty extension line',
    target: 'checkpoint',
    input: `o\n1\n${ROOT}\n\n`,
    code: 'LEDGER_NOTE_MALFORMED',
  },
  // ---- tlog-proof bundles
  {
    name: 'bundle: wrong header',
    target: 'bundle',
    input: 'c2sp.org/tlog-proof@v2\nindex 0\n\no\n1\nx\n',
    code: 'LEDGER_BUNDLE_MALFORMED',
  },
  {
    name: 'bundle: missing index',
    target: 'bundle',
    input: 'c2sp.org/tlog-proof@v1\n\no\n',
    code: 'LEDGER_BUNDLE_MALFORMED',
  },
  {
    name: 'bundle: index with leading zero',
    target: 'bundle',
    input: 'c2sp.org/tlog-proof@v1\nindex 01\n\no\n',
    code: 'LEDGER_BUNDLE_MALFORMED',
  },
  {
    name: 'bundle: extra not base64',
    target: 'bundle',
    input: 'c2sp.org/tlog-proof@v1\nextra ***\nindex 0\n\no\n',
    code: 'LEDGER_BUNDLE_MALFORMED',
  },
  {
    name: 'bundle: proof hash 33 bytes',
    target: 'bundle',
    input: `c2sp.org/tlog-proof@v1\nindex 0\n${'A'.repeat(44)}\n\no\n`,
    code: 'LEDGER_BUNDLE_MALFORMED',
  },
  {
    name: 'bundle: no checkpoint',
    target: 'bundle',
    input: `c2sp.org/tlog-proof@v1\nindex 0\n${ROOT}\n`,
    code: 'LEDGER_BUNDLE_MALFORMED',
  },
  {
    name: 'bundle: 65 proof hashes',
    target: 'bundle',
    input: `c2sp.org/tlog-proof@v1\nindex 0\n${`${ROOT}\n`.repeat(65)}\no\n`,
    code: 'LEDGER_BUNDLE_MALFORMED',
  },
  {
    name: 'bundle: not a string',
    target: 'bundle',
    input: Buffer.from('c2sp.org/tlog-proof@v1'),
    code: 'LEDGER_BUNDLE_MALFORMED',
  },
  // ---- decision records
  { name: 'record: not bytes', target: 'record', input: '{}', code: 'LEDGER_RECORD_INVALID' },
  {
    name: 'record: invalid UTF-8',
    target: 'record',
    input: Uint8Array.of(0x7b, 0xff, 0x7d),
    code: 'LEDGER_RECORD_INVALID',
  },
  { name: 'record: not JSON', target: 'record', input: enc('{v:1}'), code: 'LEDGER_RECORD_INVALID' },
  { name: 'record: array', target: 'record', input: enc('[]'), code: 'LEDGER_RECORD_INVALID' },
  {
    name: 'record: v 2',
    target: 'record',
    input: enc('{"code":"OK","decision":"allow","http_status":200,"id":"a","ts":1,"v":2}'),
    code: 'LEDGER_RECORD_INVALID',
  },
  {
    name: 'record: unknown field (raw token)',
    target: 'record',
    input: enc('{"code":"OK","decision":"allow","http_status":200,"id":"a","token":"eyJ","ts":1,"v":1}'),
    code: 'LEDGER_RECORD_INVALID',
  },
  {
    name: 'record: keys not sorted',
    target: 'record',
    input: enc('{"v":1,"code":"OK","decision":"allow","http_status":200,"id":"a","ts":1}'),
    code: 'LEDGER_RECORD_INVALID',
  },
  {
    name: 'record: whitespace',
    target: 'record',
    input: enc('{"code": "OK","decision":"allow","http_status":200,"id":"a","ts":1,"v":1}'),
    code: 'LEDGER_RECORD_INVALID',
  },
  {
    name: 'record: float ts',
    target: 'record',
    input: enc('{"code":"OK","decision":"allow","http_status":200,"id":"a","ts":1.5,"v":1}'),
    code: 'LEDGER_RECORD_INVALID',
  },
  {
    name: 'record: decision maybe',
    target: 'record',
    input: enc('{"code":"OK","decision":"maybe","http_status":200,"id":"a","ts":1,"v":1}'),
    code: 'LEDGER_RECORD_INVALID',
  },
  {
    name: 'record: http_status 99',
    target: 'record',
    input: enc('{"code":"OK","decision":"allow","http_status":99,"id":"a","ts":1,"v":1}'),
    code: 'LEDGER_RECORD_INVALID',
  },
  {
    name: 'record: missing id',
    target: 'record',
    input: enc('{"code":"OK","decision":"allow","http_status":200,"ts":1,"v":1}'),
    code: 'LEDGER_RECORD_INVALID',
  },
  {
    name: 'record: hop with unknown field',
    target: 'record',
    input: enc(
      '{"chain":[{"exp":1,"iss":"i","jti":"j","sig":"x","sub":"s","tool_scope":[]}],"code":"OK","decision":"allow","http_status":200,"id":"a","ts":1,"v":1}',
    ),
    code: 'LEDGER_RECORD_INVALID',
  },
  {
    name: 'record: deep nesting',
    target: 'record',
    input: enc(`${'['.repeat(5000)}${']'.repeat(5000)}`),
    code: 'LEDGER_RECORD_INVALID',
  },
  {
    name: 'record: escaped duplicate key',
    target: 'record',
    input: enc('{"code":"OK","decision":"allow","decision":"deny","http_status":200,"id":"a","ts":1,"v":1}'),
    code: 'LEDGER_RECORD_INVALID',
  },
  {
    name: 'record: too large',
    target: 'record',
    input: enc(`{"code":"${'x'.repeat(70_000)}"}`),
    code: 'LEDGER_RECORD_INVALID',
  },
];
