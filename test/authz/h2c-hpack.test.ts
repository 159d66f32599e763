/**
 * The h2c server's HPACK decoder (src/authz/h2c/hpack.ts): RFC 7541 Appendix C known answers, the Huffman code
 * (Appendix B) against a test-only encoder, malformed blocks (COMPRESSION_ERROR) and the header list bound.
 */
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HeaderListTooLarge,
  HpackDecoder,
  type HpackDecoderOptions,
  HpackError,
  HUFFMAN_CODES,
  HUFFMAN_LENGTHS,
  STATIC_TABLE,
} from '../../src/authz/h2c/hpack.js';
import { hpackInt as int } from '../support/h2c-raw.js';

type Field = readonly [name: string, value: string];

/** Hex as printed in RFC 7541 Appendix C (spaces and newlines ignored). */
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function decode(d: HpackDecoder, block: Uint8Array | readonly number[]): Field[] {
  const out: Field[] = [];
  d.decode(block instanceof Uint8Array ? block : Uint8Array.from(block), (n, v) => out.push([n, v]));
  return out;
}

const bytesOf = (s: string | Uint8Array): Uint8Array =>
  typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
/** A string literal without Huffman coding (§5.2, H = 0). */
const raw = (s: string | Uint8Array): number[] => {
  const b = bytesOf(s);
  return [...int(0x00, 7, b.length), ...b];
};
/** A Huffman-coded string literal (§5.2, H = 1). */
const huff = (s: string | Uint8Array): number[] => {
  const b = huffmanEncode(bytesOf(s));
  return [...int(0x80, 7, b.length), ...b];
};

/** Test-only Huffman encoder (§5.2) over the exported Appendix B table, padded with the high bits of EOS. */
function huffmanEncode(input: Uint8Array): Buffer {
  const out = Buffer.alloc(Math.ceil((input.length * 30) / 8));
  let n = 0;
  let acc = 0;
  let bits = 0;
  for (const sym of input) {
    const code = HUFFMAN_CODES[sym]!;
    for (let i = HUFFMAN_LENGTHS[sym]! - 1; i >= 0; i--) {
      acc = (acc << 1) | ((code >>> i) & 1);
      if (++bits === 8) {
        out[n++] = acc;
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) out[n++] = (acc << (8 - bits)) | (0xff >>> bits);
  return out.subarray(0, n);
}

/** Octets from a string of '0'/'1' (whitespace ignored), for hand-made Huffman strings. */
function fromBits(s: string): number[] {
  const b = s.replace(/\s+/g, '');
  if (b.length % 8 !== 0) throw new Error('not whole octets');
  const out: number[] = [];
  for (let i = 0; i < b.length; i += 8) out.push(Number.parseInt(b.slice(i, i + 8), 2));
  return out;
}
const codeBits = (sym: number): string =>
  HUFFMAN_CODES[sym]!.toString(2).padStart(HUFFMAN_LENGTHS[sym]!, '0');

/** The dynamic table, newest first, read back through indexed fields (§6.1) for indices 62, 63, … */
function dynamicTable(d: HpackDecoder): Field[] {
  const out: Field[] = [];
  for (let i = 62; ; i++) {
    try {
      out.push(...decode(d, int(0x80, 7, i)));
    } catch (e) {
      if (e instanceof HpackError) return out;
      throw e;
    }
  }
}

/** Decodes the block and checks its fields, then the dynamic table (newest first) and its size. */
function step(d: HpackDecoder, block: Uint8Array, fields: Field[], table: Field[], size: number): void {
  expect(decode(d, block)).toEqual(fields);
  expect(dynamicTable(d)).toEqual(table);
  expect(d.tableSize).toBe(size);
}

function expectHpackError(block: Uint8Array | readonly number[], opts?: HpackDecoderOptions): void {
  expect(() => decode(new HpackDecoder(opts), block)).toThrow(HpackError);
}

describe('RFC 7541 Appendix C.2: header field representations', () => {
  it('C.2.1 literal with indexing', () => {
    const d = new HpackDecoder();
    const block = hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572');
    step(d, block, [['custom-key', 'custom-header']], [['custom-key', 'custom-header']], 55);
  });

  it('C.2.2 literal without indexing', () => {
    const d = new HpackDecoder();
    step(d, hex('040c 2f73 616d 706c 652f 7061 7468'), [[':path', '/sample/path']], [], 0);
  });

  it('C.2.3 literal never indexed', () => {
    const d = new HpackDecoder();
    step(d, hex('1008 7061 7373 776f 7264 0673 6563 7265 74'), [['password', 'secret']], [], 0);
  });

  it('C.2.4 indexed', () => {
    const d = new HpackDecoder();
    step(d, hex('82'), [[':method', 'GET']], [], 0);
  });
});

const REQ1: Field[] = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':path', '/'],
  [':authority', 'www.example.com'],
];
const REQ2: Field[] = [...REQ1, ['cache-control', 'no-cache']];
const REQ3: Field[] = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':path', '/index.html'],
  [':authority', 'www.example.com'],
  ['custom-key', 'custom-value'],
];
const REQ_TABLE1: Field[] = [[':authority', 'www.example.com']];
const REQ_TABLE2: Field[] = [['cache-control', 'no-cache'], ...REQ_TABLE1];
const REQ_TABLE3: Field[] = [['custom-key', 'custom-value'], ...REQ_TABLE2];

describe('RFC 7541 Appendix C.3: requests without Huffman coding', () => {
  it('decodes three requests on one connection', () => {
    const d = new HpackDecoder();
    step(d, hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'), REQ1, REQ_TABLE1, 57);
    step(d, hex('8286 84be 5808 6e6f 2d63 6163 6865'), REQ2, REQ_TABLE2, 110);
    step(
      d,
      hex('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'),
      REQ3,
      REQ_TABLE3,
      164,
    );
  });
});

describe('RFC 7541 Appendix C.4: requests with Huffman coding', () => {
  it('decodes three requests on one connection', () => {
    const d = new HpackDecoder();
    step(d, hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'), REQ1, REQ_TABLE1, 57);
    step(d, hex('8286 84be 5886 a8eb 1064 9cbf'), REQ2, REQ_TABLE2, 110);
    step(d, hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'), REQ3, REQ_TABLE3, 164);
  });
});

const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const LOCATION = 'https://www.example.com';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const RES1: Field[] = [
  [':status', '302'],
  ['cache-control', 'private'],
  ['date', DATE1],
  ['location', LOCATION],
];
const RES2: Field[] = [[':status', '307'], ...RES1.slice(1)];
const RES3: Field[] = [
  [':status', '200'],
  ['cache-control', 'private'],
  ['date', DATE2],
  ['location', LOCATION],
  ['content-encoding', 'gzip'],
  ['set-cookie', COOKIE],
];
const RES_TABLE1: Field[] = [
  ['location', LOCATION],
  ['date', DATE1],
  ['cache-control', 'private'],
  [':status', '302'],
];
const RES_TABLE2: Field[] = [[':status', '307'], ...RES_TABLE1.slice(0, 3)];
const RES_TABLE3: Field[] = [
  ['set-cookie', COOKIE],
  ['content-encoding', 'gzip'],
  ['date', DATE2],
];
/** Dynamic table size update to 256 (§6.3): C.5 and C.6 run with SETTINGS_HEADER_TABLE_SIZE 256. */
const SIZE_256 = '3fe101';

describe('RFC 7541 Appendix C.5: responses without Huffman coding (256-octet table, evictions)', () => {
  it('decodes three responses on one connection', () => {
    const d = new HpackDecoder({ maxTableSize: 256 });
    step(d, hex(SIZE_256), [], [], 0); // a block holding only a size update is valid
    step(
      d,
      hex(`4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
           2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
           6c65 2e63 6f6d`),
      RES1,
      RES_TABLE1,
      222,
    );
    step(d, hex('4803 3330 37c1 c0bf'), RES2, RES_TABLE2, 222);
    step(
      d,
      hex(`88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
           54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
           5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
           3d31`),
      RES3,
      RES_TABLE3,
      215,
    );
  });
});

describe('RFC 7541 Appendix C.6: responses with Huffman coding (256-octet table, evictions)', () => {
  it('decodes three responses on one connection, the first block lowering the table from 4096 to 256', () => {
    const d = new HpackDecoder();
    step(
      d,
      hex(`${SIZE_256}
           4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
           2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`),
      RES1,
      RES_TABLE1,
      222,
    );
    step(d, hex('4883 640e ffc1 c0bf'), RES2, RES_TABLE2, 222);
    step(
      d,
      hex(`88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
           77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
           9587 3160 65c0 03ed 4ee5 b106 3d50 07`),
      RES3,
      RES_TABLE3,
      215,
    );
  });

  it('without the size update, the 4096-octet table evicts nothing', () => {
    const d = new HpackDecoder();
    decode(
      d,
      hex(`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
           2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`),
    );
    expect(decode(d, hex('4883 640e ffc1 c0bf'))).toEqual(RES2);
    expect(dynamicTable(d)).toEqual([...RES_TABLE2, [':status', '302']]);
    expect(d.tableSize).toBe(222 + 42);
  });
});

describe('static table (Appendix A)', () => {
  it('has the 61 entries, each reachable by an indexed field', () => {
    expect(STATIC_TABLE).toHaveLength(61);
    const d = new HpackDecoder();
    for (let i = 1; i <= 61; i++) expect(decode(d, [0x80 | i])).toEqual([STATIC_TABLE[i - 1]]);
    expect(STATIC_TABLE[0]).toEqual([':authority', '']);
    expect(STATIC_TABLE[15]).toEqual(['accept-encoding', 'gzip, deflate']);
    expect(STATIC_TABLE[60]).toEqual(['www-authenticate', '']);
    expect(d.tableSize).toBe(0);
  });

  it('names a literal field by static index, with any representation', () => {
    const d = new HpackDecoder();
    const block = [...int(0x40, 6, 31), ...raw('application/grpc'), ...int(0x00, 4, 58), ...raw('x')];
    block.push(...int(0x10, 4, 23), ...huff('Bearer t'));
    expect(decode(d, block)).toEqual([
      ['content-type', 'application/grpc'],
      ['user-agent', 'x'],
      ['authorization', 'Bearer t'],
    ]);
    expect(dynamicTable(d)).toEqual([['content-type', 'application/grpc']]);
  });
});

describe('Huffman code (Appendix B)', () => {
  it('is the canonical code of its lengths, complete (Kraft sum 1), with EOS = 30 ones', () => {
    expect(HUFFMAN_CODES).toHaveLength(257);
    expect(HUFFMAN_LENGTHS).toHaveLength(257);
    const order = [...Array(257).keys()].sort((a, b) => HUFFMAN_LENGTHS[a]! - HUFFMAN_LENGTHS[b]! || a - b);
    let code = 0;
    let len = HUFFMAN_LENGTHS[order[0]!]!;
    let kraft = 0;
    for (const sym of order) {
      code *= 2 ** (HUFFMAN_LENGTHS[sym]! - len);
      len = HUFFMAN_LENGTHS[sym]!;
      expect(HUFFMAN_CODES[sym], `symbol ${sym}`).toBe(code);
      code++;
      kraft += 2 ** -len;
    }
    expect(kraft).toBe(1);
    expect([HUFFMAN_CODES[256], HUFFMAN_LENGTHS[256]]).toEqual([0x3fffffff, 30]);
    expect(Math.min(...HUFFMAN_LENGTHS)).toBe(5);
  });

  it('round-trips random octet strings through the test encoder', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 40 }), (value, name) => {
        const d = new HpackDecoder();
        const block = [0x40, ...huff(name), ...huff(value), 0xbe];
        const n = Buffer.from(name).toString('latin1');
        const v = Buffer.from(value).toString('latin1');
        expect(decode(d, block)).toEqual([
          [n, v],
          [n, v],
        ]);
        expect(d.tableSize).toBe(name.length + value.length + 32);
      }),
      { numRuns: 500 },
    );
  });

  it('decodes every symbol alone and all 256 octets in one string', () => {
    const d = new HpackDecoder();
    for (let sym = 0; sym < 256; sym++) {
      expect(decode(d, [0x00, ...huff('n'), ...huff(Uint8Array.of(sym))])).toEqual([
        ['n', String.fromCharCode(sym)],
      ]);
    }
    const all = Uint8Array.from(Array(256).keys());
    expect(decode(d, [0x00, ...raw('n'), ...huff(all)])).toEqual([
      ['n', Buffer.from(all).toString('latin1')],
    ]);
  });

  it('decodes octets ≥ 0x80 to the latin1 code points, raw or Huffman-coded', () => {
    const d = new HpackDecoder();
    const v = Uint8Array.of(0xe9, 0xff, 0x80, 0x00);
    expect(decode(d, [0x00, ...raw('a'), ...raw(v), 0x00, ...raw('b'), ...huff(v)])).toEqual([
      ['a', 'é\u00ff\u0080\u0000'],
      ['b', 'é\u00ff\u0080\u0000'],
    ]);
  });

  it('accepts padding of 1 to 7 bits and the empty string', () => {
    const d = new HpackDecoder();
    // '0' is 00000, 'a' 00011, ':' 1011100, '0'×3 = 15 bits + 1 bit padding.
    expect(decode(d, [0x00, 0x81, 0x07, 0x80])).toEqual([['0', '']]); // 00000 111
    expect(decode(d, [0x00, 0x81, 0x1f, 0x81, 0xb9])).toEqual([['a', ':']]); // 00011 111, 1011100 1
    expect(decode(d, [0x00, 0x81, 0x1f, 0x82, ...fromBits('00000 00000 00000 1')])).toEqual([['a', '000']]);
  });
});

describe('integers (§5.1)', () => {
  it('decodes C.1.2 (1337 on a 5-bit prefix) exactly', () => {
    const update1337 = [0x3f, 0x9a, 0x0a];
    expect(int(0x20, 5, 1337)).toEqual(update1337);
    expect(decode(new HpackDecoder({ maxTableSize: 1337 }), update1337)).toEqual([]);
    expectHpackError(update1337, { maxTableSize: 1336 });
  });

  it('accepts up to 2^31 − 1 and five continuation octets, rejects more', () => {
    const big = { maxTableSize: 2 ** 32 - 1 };
    expect(decode(new HpackDecoder(big), int(0x20, 5, 2 ** 31 - 1))).toEqual([]);
    expectHpackError(int(0x20, 5, 2 ** 31), big);
    expect(decode(new HpackDecoder(), [0x3f, 0x80, 0x80, 0x80, 0x80, 0x00])).toEqual([]); // 31, padded
    expectHpackError([0x3f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]);
  });

  it('reaches dynamic entries past index 127 (multi-octet indices) as the ring grows', () => {
    const d = new HpackDecoder();
    const block: number[] = [];
    for (let i = 0; i < 100; i++) block.push(0x40, ...raw(`h${i}`), ...raw('v'));
    decode(d, block);
    const table = dynamicTable(d);
    expect(table).toHaveLength(100);
    expect(table[0]).toEqual(['h99', 'v']);
    expect(table[99]).toEqual(['h0', 'v']);
    expect(decode(d, int(0x80, 7, 161))).toEqual([['h0', 'v']]);
    expect(decode(d, [...int(0x00, 4, 161), ...raw('w')])).toEqual([['h0', 'w']]);
    expect(() => decode(d, int(0x80, 7, 162))).toThrow(HpackError);
  });
});

describe('dynamic table (§4)', () => {
  it('evicts the oldest entries as new ones arrive (ring wrap-around)', () => {
    const d = new HpackDecoder({ maxTableSize: 200 }); // 5 entries of 37 octets
    for (let i = 0; i < 50; i++) decode(d, [0x40, ...raw(`k${i % 10}`), ...raw('v')]);
    expect(dynamicTable(d)).toEqual(['k9', 'k8', 'k7', 'k6', 'k5'].map((k) => [k, 'v']));
    expect(d.tableSize).toBe(5 * 35);
  });

  it('a size update lowers the maximum, evicting; 0 empties the table; two updates may open a block', () => {
    const d = new HpackDecoder();
    decode(d, hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'));
    decode(d, hex('8286 84be 5808 6e6f 2d63 6163 6865'));
    expect(d.tableSize).toBe(110);
    expect(decode(d, int(0x20, 5, 60))).toEqual([]);
    expect(dynamicTable(d)).toEqual([['cache-control', 'no-cache']]);
    expect(d.tableSize).toBe(53);
    expect(decode(d, [0x20, ...int(0x20, 5, 4096), 0x82])).toEqual([[':method', 'GET']]);
    expect(d.tableSize).toBe(0);
    decode(d, [0x40, ...raw('a'), ...raw('b')]);
    expect(d.tableSize).toBe(34);
  });

  it('an entry larger than the table empties it and is not added (§4.4)', () => {
    const d = new HpackDecoder({ maxTableSize: 64 });
    decode(d, [0x40, ...raw('a'), ...raw('b')]);
    expect(d.tableSize).toBe(34);
    expect(decode(d, [0x40, ...raw('big'), ...raw('x'.repeat(30))])).toEqual([['big', 'x'.repeat(30)]]);
    expect(d.tableSize).toBe(0);
    expect(dynamicTable(d)).toEqual([]);
  });

  it('a new entry may take its name from the entry its insertion evicts (§4.4)', () => {
    const d = new HpackDecoder({ maxTableSize: 90 });
    decode(d, [0x40, ...raw('abcdefghij'), ...raw('x')]); // 43 octets
    expect(decode(d, [0x7e, ...raw('y'.repeat(15))])).toEqual([['abcdefghij', 'y'.repeat(15)]]); // 57 octets
    expect(dynamicTable(d)).toEqual([['abcdefghij', 'y'.repeat(15)]]);
    expect(d.tableSize).toBe(57);
  });

  it('a table of size 0 keeps nothing', () => {
    const d = new HpackDecoder({ maxTableSize: 0 });
    expect(decode(d, [0x20, 0x40, ...raw('a'), ...raw('b')])).toEqual([['a', 'b']]);
    expect(d.tableSize).toBe(0);
    expect(() => decode(d, [0xbe])).toThrow(HpackError);
  });
});

describe('malformed blocks throw HpackError (COMPRESSION_ERROR)', () => {
  const cases: [string, number[], HpackDecoderOptions?][] = [
    ['truncated integer (prefix full, no continuation)', [0xff]],
    ['truncated integer (continuation bit set on the last octet)', [0xff, 0x80]],
    ['integer overflow past 2^31 − 1', [0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]],
    ['integer with six continuation octets', [0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]],
    ['index 0', [0x80]],
    ['index 0 after a valid field', [0x82, 0x80]],
    ['indexed field past the (empty) dynamic table', [0xbe]],
    ['indexed field past the dynamic table', [0x40, ...raw('a'), ...raw('b'), 0xbf]],
    ['literal name index past the table', [0x7e, ...raw('v')]],
    ['literal name index past the table, without indexing', [0x0f, 0x30, ...raw('v')]],
    ['literal with no name octet at all', [0x40]],
    ['literal, never indexed, with no name octet', [0x10]],
    ['declared-length name with no octets', [0x40, 0x03]],
    ['declared-length value with no octets', [0x04, 0x02]],
    ['truncated name', [0x40, 0x05, 0x61, 0x62]],
    ['missing value', [0x40, ...raw('a')]],
    ['truncated value', [0x40, ...raw('a'), 0x03, 0x61]],
    ['truncated Huffman value', [0x04, 0x83, 0xf1, 0xe3]],
    ['string length overflowing 2^31 − 1', [0x04, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]],
    ['Huffman string of EOS', [0x04, 0x84, ...fromBits(`${codeBits(256)}11`)]],
    [
      'Huffman string with EOS after a symbol',
      [0x04, 0x85, ...fromBits(`${codeBits(97)}${codeBits(256)}11111`)],
    ],
    [
      'Huffman string with EOS before a symbol',
      [0x04, 0x85, ...fromBits(`${codeBits(256)}${codeBits(97)}11111`)],
    ],
    // EOS completes inside a high nibble and the low nibble, read on from there, would decode symbol 22.
    [
      'Huffman string with EOS ending mid-octet',
      [0x04, 0x85, ...fromBits(`${codeBits(97)}${codeBits(256)}1 0111`)],
    ],
    ['Huffman padding of 8 bits', [0x04, 0x81, 0xff]],
    ['Huffman padding of 11 bits', [0x04, 0x82, ...fromBits(`${codeBits(97)}111 11111111`)]],
    ['Huffman padding with a zero bit', [0x04, 0x81, ...fromBits(`${codeBits(97)}110`)]],
    ['Huffman padding of zeros', [0x04, 0x81, 0x00]],
    ['Huffman name with bad padding', [0x40, 0x81, ...fromBits(`${codeBits(97)}011`), ...raw('v')]],
    ['size update above maxTableSize', int(0x20, 5, 4097)],
    ['size update above a small maxTableSize', int(0x20, 5, 101), { maxTableSize: 100 }],
    ['size update after an indexed field', [0x82, 0x20]],
    ['size update after a literal field', [0x04, ...raw('/'), 0x20]],
    ['size update between fields', [0x20, 0x82, 0x3f, 0xe1, 0x01]],
    ['truncated size update', [0x3f]],
  ];
  it.each(cases)('%s', (_label, block, opts) => {
    expectHpackError(block, opts);
  });

  it('reports a malformed block even after the header list went over the limit', () => {
    const d = new HpackDecoder({ maxHeaderListSize: 40 });
    expect(() => decode(d, [0x82, 0x82, 0x04, 0x81, 0xff])).toThrow(HpackError);
  });

  it('never throws anything else for random octets', () => {
    const opts = fc.record({
      maxTableSize: fc.integer({ min: 0, max: 5000 }),
      maxHeaderListSize: fc.integer({ min: 0, max: 5000 }),
    });
    const blocks = fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(opts, blocks, (o, bs) => {
        const d = new HpackDecoder(o);
        for (const b of bs) {
          try {
            d.decode(b, () => {});
          } catch (e) {
            expect(e instanceof HpackError || e instanceof HeaderListTooLarge, String(e)).toBe(true);
            if (e instanceof HpackError) return; // the connection would end here
          }
          expect(d.tableSize).toBeLessThanOrEqual(o.maxTableSize);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws anything else for truncated or bit-flipped Appendix C blocks', () => {
    const blocks = [
      hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'),
      hex(`88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
           77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
           9587 3160 65c0 03ed 4ee5 b106 3d50 07`),
      hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'),
    ];
    const onlyHpackError = (b: Uint8Array) => {
      try {
        new HpackDecoder().decode(b, () => {});
      } catch (e) {
        expect(e).toBeInstanceOf(HpackError);
      }
    };
    for (const block of blocks) {
      for (let n = 0; n < block.length; n++) onlyHpackError(block.subarray(0, n));
      for (let bit = 0; bit < block.length * 8; bit++) {
        const flipped = Buffer.from(block);
        flipped[bit >> 3]! ^= 0x80 >> (bit & 7);
        onlyHpackError(flipped);
      }
    }
  });
});

describe('maxHeaderListSize (RFC 9113 §6.5.2)', () => {
  it('throws HeaderListTooLarge after the whole block, delivering only the fields within the limit', () => {
    const d = new HpackDecoder({ maxHeaderListSize: 200 });
    const value = 'v'.repeat(150); // custom-key: 10 + 150 + 32 = 192 octets
    const fields: Field[] = [];
    const block = [
      0x82,
      0x40,
      ...raw('custom-key'),
      ...raw(value),
      0x84,
      0x00,
      ...huff('x-big'),
      ...huff(value),
    ];
    block.push(0x40, ...huff('x-second'), ...raw('2'));
    expect(() => d.decode(Uint8Array.from(block), (n, v) => fields.push([n, v]))).toThrow(HeaderListTooLarge);
    expect(fields).toEqual([[':method', 'GET']]);
    // The oversized block's insertions happened: the table is in sync with the peer's encoder.
    expect(d.tableSize).toBe(192 + 41);
    expect(decode(d, [0xbf])).toEqual([['custom-key', value]]);
    expect(decode(d, [0xbe, 0x83])).toEqual([
      ['x-second', '2'],
      [':method', 'POST'],
    ]);
  });

  it('counts name, value and 32 octets per field; exactly at the limit is fine', () => {
    const atLimit = new HpackDecoder({ maxHeaderListSize: 42 + 38 });
    expect(decode(atLimit, [0x82, 0x84])).toEqual([
      [':method', 'GET'],
      [':path', '/'],
    ]);
    const over = new HpackDecoder({ maxHeaderListSize: 42 + 38 - 1 });
    expect(() => decode(over, [0x82, 0x84])).toThrow(HeaderListTooLarge);
  });

  it('stops delivering at the first field over the limit, even if later ones are small', () => {
    const d = new HpackDecoder({ maxHeaderListSize: 50 });
    const fields: string[] = [];
    expect(() => d.decode(Uint8Array.of(0x82, 0x82, 0x84), (n) => fields.push(n))).toThrow(
      HeaderListTooLarge,
    );
    expect(fields).toEqual([':method']);
    expect(new HeaderListTooLarge('x').code).toBe('H2C_HEADER_LIST_TOO_LARGE');
    expect(new HpackError('x').code).toBe('H2C_COMPRESSION_ERROR');
  });
});

describe('inputs', () => {
  it('accepts a plain Uint8Array view at an offset', () => {
    const bytes = hex('ffff 8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff ffff');
    const view = new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length), 2, 17);
    expect(decode(new HpackDecoder(), view)).toEqual(REQ1);
  });

  it('an empty block decodes to no fields', () => {
    expect(decode(new HpackDecoder(), [])).toEqual([]);
  });

  it('decodes values beyond 1 MB, raw and Huffman-coded (long strings are built from chunks)', () => {
    const d = new HpackDecoder({ maxHeaderListSize: 8 * 1024 * 1024 });
    const long = Buffer.alloc(1_200_000);
    for (let i = 0; i < long.length; i++) long[i] = 0x61 + (i % 26);
    const s = long.toString('latin1');
    const fields = decode(d, [0x00, ...raw('a'), ...raw(long), 0x00, ...huff('b'), ...huff(long)]);
    expect(fields).toHaveLength(2);
    expect(fields[0]![0]).toBe('a');
    expect(fields[0]![1] === s).toBe(true);
    expect(fields[1]![0]).toBe('b');
    expect(fields[1]![1] === s).toBe(true);
  });

  it('makes no external strings, even for values past the 0xFBEE9 octets where Node latin1 goes external', () => {
    // V8 natives (%HaveSameMap) need --allow-natives-syntax, so this runs in a child process.
    const module = pathToFileURL('src/authz/h2c/hpack.ts').href;
    const script = `
      import { HpackDecoder } from ${JSON.stringify(module)};
      const N = 1_040_000; // over 0xFBEE9, under 2^20
      const len = (first, n) => { const o = [first | 0x7f]; n -= 0x7f; while (n >= 128) { o.push((n % 128) | 0x80); n = Math.floor(n / 128); } o.push(n); return o; };
      const aaaa = Buffer.from('18c6318c63', 'hex'); // 'a' × 8 in Huffman code, 5 bits each
      const block = Buffer.concat([
        Buffer.from([0x40, 0x01, 0x72, ...len(0, N)]), Buffer.alloc(N, 0x72),
        Buffer.from([0x00, 0x01, 0x68, ...len(0x80, (N / 8) * 5)]), Buffer.concat(Array(N / 8).fill(aaaa)),
        Buffer.from([0x00, 0x01, 0x73, 0x03, 0x61, 0x62, 0x63, 0xbe]),
      ]);
      const out = [];
      new HpackDecoder({ maxTableSize: 1 << 22, maxHeaderListSize: 1 << 23 }).decode(block, (n, v) => out.push(n, v));
      const external = Buffer.alloc(N, 0x78).latin1Slice(0, N);
      console.log(JSON.stringify({
        control: %HaveSameMap(Buffer.alloc(N, 0x79).latin1Slice(0, N), external),
        external: out.map((s) => %HaveSameMap(s, external)),
        lengths: out.map((s) => s.length),
      }));`;
    const stdout = execFileSync(
      process.execPath,
      ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(stdout)).toEqual({
      control: true,
      external: Array(8).fill(false),
      lengths: [1, 1_040_000, 1, 1_040_000, 1, 3, 1, 1_040_000],
    });
  });

  it('keeps a Huffman-coded name while the value outgrows the scratch buffer', () => {
    const d = new HpackDecoder({ maxTableSize: 1 << 20, maxHeaderListSize: 1 << 20 });
    for (const n of [10, 900, 3000, 20_000, 70_000, 200_000]) {
      const name = `name-${n}`;
      const value = 'q'.repeat(n);
      expect(decode(d, [0x40, ...huff(name), ...huff(value), 0xbe])).toEqual([
        [name, value],
        [name, value],
      ]);
    }
  });
});
