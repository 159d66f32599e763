/**
 * HPACK header-block decoder (RFC 7541) for the h2c gRPC server: the static and dynamic tables (§2.3, §4),
 * prefixed integers (§5.1), string literals with a table-driven Huffman decoder (§5.2, Appendix B) and every
 * field representation (§6).
 *
 * Decoded names and values are latin1 strings copied onto the V8 heap (`latin1Slice`), never external strings:
 * node:http2 makes every received header value an external string, and full collections walking those is the
 * pause this server exists to avoid (bench/NOTES.md). Strings are only made for fields that are delivered or
 * enter the dynamic table; the rest of an oversized block is decoded into a reused scratch buffer and dropped.
 */

/** Why a header block was refused; the connection must end with GOAWAY(COMPRESSION_ERROR) (RFC 9113 §4.3). */
export class HpackError extends Error {
  readonly code = 'H2C_COMPRESSION_ERROR' as const;
  constructor(message: string) {
    super(message);
    this.name = 'HpackError';
  }
}

/**
 * Thrown (instead of HpackError) when the decoded header list exceeds maxHeaderListSize: the block itself was
 * valid, so the decoder state stays in sync and the server may answer the one stream with an error.
 */
export class HeaderListTooLarge extends Error {
  readonly code = 'H2C_HEADER_LIST_TOO_LARGE' as const;
  constructor(message: string) {
    super(message);
    this.name = 'HeaderListTooLarge';
  }
}

/** Options of {@link HpackDecoder}. */
export interface HpackDecoderOptions {
  /** SETTINGS_HEADER_TABLE_SIZE this endpoint advertised (upper bound for dynamic table size updates). Default 4096. */
  maxTableSize?: number;
  /** Bound on the decoded header list, RFC 9113 §6.5.2 size (sum of name.length + value.length + 32 per field, in octets). Default 64 KiB. */
  maxHeaderListSize?: number;
}

/** The static table (RFC 7541 Appendix A): entry `i` has index `i + 1`. */
export const STATIC_TABLE: readonly (readonly [name: string, value: string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/**
 * The Huffman code (RFC 7541 Appendix B), "code as hex aligned to LSB" column: `HUFFMAN_CODES[sym]` is the code
 * of octet `sym` in its low {@link HUFFMAN_LENGTHS}`[sym]` bits; index 256 is EOS.
 */
export const HUFFMAN_CODES: readonly number[] = [
  // 0-31
  0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7, 0xfffffe8, 0xffffea,
  0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec, 0xfffffed, 0xfffffee, 0xfffffef,
  0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3, 0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7,
  0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb,
  // 32-63: ' ' ! " # $ % & ' ( ) * + , - . / 0-9 : ; < = > ?
  0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa, 0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18,
  0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb, 0x3fc,
  // 64-95: @ A-Z [ \ ] ^ _
  0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b,
  0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc, 0x22,
  // 96-127: ` a-z { | } ~ DEL
  0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26, 0x27, 0x6, 0x74, 0x75, 0x28, 0x29, 0x2a, 0x7, 0x2b, 0x76,
  0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd, 0xffffffc,
  // 128-159
  0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9, 0x3fffd6, 0x7fffda, 0x7fffdb,
  0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb, 0x7fffdf, 0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee,
  0x7fffe1, 0x7fffe2, 0x7fffe3, 0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7,
  0xffffef,
  // 160-191
  0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde, 0x7fffea, 0x3fffdd, 0x3fffde,
  0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec, 0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed,
  0x3fffe1, 0x7fffee, 0x7fffef, 0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1,
  // 192-223
  0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec, 0x3ffffe2, 0x3ffffe3,
  0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1, 0x1ffffed, 0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0,
  0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2, 0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3,
  0x7ffffe4, 0x7ffffe5,
  // 224-255
  0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3, 0x3fffea, 0x3fffeb, 0x1ffffee,
  0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4, 0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7,
  0x7ffffe8, 0x7ffffe9, 0x7ffffea, 0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef,
  0x7fffff0, 0x3ffffee,
  // 256: EOS
  0x3fffffff,
];

/** Bit lengths of {@link HUFFMAN_CODES} (RFC 7541 Appendix B, "len in bits" column); index 256 is EOS. */
export const HUFFMAN_LENGTHS: readonly number[] = [
  // 0-31
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28,
  28, 28, 28, 28, 28,
  // 32-63
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  // 64-95
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  // 96-127
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  // 128-159
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22,
  23, 22, 23, 23, 24,
  // 160-191
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22,
  22, 23, 22, 22, 23,
  // 192-223
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26,
  26, 28, 27, 27, 27,
  // 224-255
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27,
  27, 27, 27, 27, 26,
  // 256: EOS
  30,
];

/*
 * Huffman decoding (§5.2) is a finite-state machine over the code tree that consumes 4 bits at a time (the
 * nibble-table approach of nghttp2). A state is an internal node of the tree, i.e. the bits read since the last
 * complete symbol; the prefix code has 257 leaves, hence 256 internal nodes and 256 × 16 transitions. One
 * transition packs the next state (bits 0-7), an emitted octet (bits 8-15; at most one per nibble since no code
 * is shorter than 5 bits) and three flags. ACCEPT marks states where the string may end: the root or an all-ones
 * path of at most 7 bits, i.e. padding with the most significant bits of EOS that is shorter than an octet.
 * FAIL marks a nibble that completes EOS, which a string literal must not contain.
 */
const HUFFMAN_EMIT = 0x1_0000;
const HUFFMAN_ACCEPT = 0x2_0000;
const HUFFMAN_FAIL = 0x4_0000;
const HUFFMAN_FSM = buildHuffmanFsm();

function buildHuffmanFsm(): Uint32Array {
  // The code tree: internal node n has children tree[2n] (bit 0) and tree[2n + 1] (bit 1), each an internal node
  // id or LEAF | symbol; the root is node 0.
  const LEAF = 0x200;
  const tree = new Int32Array(512).fill(-1);
  let nodes = 1;
  for (let sym = 0; sym <= 256; sym++) {
    const code = HUFFMAN_CODES[sym]!;
    let node = 0;
    for (let bit = HUFFMAN_LENGTHS[sym]! - 1; ; bit--) {
      const slot = 2 * node + ((code >>> bit) & 1);
      const next = tree[slot]!;
      if (bit === 0) {
        if (next !== -1) throw new Error('HPACK Huffman table is not prefix-free');
        tree[slot] = LEAF | sym;
        break;
      }
      if (next === -1) {
        if (nodes === 256) throw new Error('HPACK Huffman table is not prefix-free');
        tree[slot] = nodes;
        node = nodes++;
      } else if (next & LEAF) throw new Error('HPACK Huffman table is not prefix-free');
      else node = next;
    }
  }
  if (nodes !== 256 || tree.includes(-1)) throw new Error('HPACK Huffman table is not a complete code');

  const accept = new Uint8Array(256);
  accept[0] = 1;
  for (let depth = 1, node = 0; depth <= 7; depth++) {
    node = tree[2 * node + 1]!;
    accept[node] = 1;
  }

  const fsm = new Uint32Array(256 * 16);
  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let t = 0;
      for (let bit = 3; bit >= 0; bit--) {
        const next = tree[2 * node + ((nibble >>> bit) & 1)]!;
        if ((next & LEAF) === 0) {
          node = next;
          continue;
        }
        const sym = next - LEAF;
        if (sym === 256) {
          t = HUFFMAN_FAIL; // EOS
          break;
        }
        t = HUFFMAN_EMIT | (sym << 8);
        node = 0;
      }
      fsm[state * 16 + nibble] = t | node | (accept[node] ? HUFFMAN_ACCEPT : 0);
    }
  }
  return fsm;
}

/**
 * Decodes the Huffman string `src[start, end)` into `dst` from `at` (room for `⌊(end − start) · 8 / 5⌋` octets
 * needed: every code is at least 5 bits). Returns the end of the output. Throws on EOS in the string or on
 * padding that is not a prefix of EOS shorter than 8 bits (§5.2).
 */
function huffmanDecode(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): number {
  const fsm = HUFFMAN_FSM;
  let t = HUFFMAN_ACCEPT; // the empty string is valid
  for (let i = start; i < end; i++) {
    const b = src[i]!;
    const hi = fsm[((t & 0xff) << 4) | (b >>> 4)]!;
    if (hi & HUFFMAN_EMIT) dst[at++] = (hi >>> 8) & 0xff;
    t = fsm[((hi & 0xff) << 4) | (b & 0x0f)]!;
    if ((hi | t) & HUFFMAN_FAIL) throw new HpackError('Huffman-coded string contains EOS');
    if (t & HUFFMAN_EMIT) dst[at++] = (t >>> 8) & 0xff;
  }
  if ((t & HUFFMAN_ACCEPT) === 0) throw new HpackError('invalid Huffman padding');
  return at;
}

type Latin1Slice = (this: Buffer, start: number, end: number) => string;
/** Node's undocumented latin1 slicer (what `toString('latin1', s, e)` calls after its argument checks). */
const latin1Slice: Latin1Slice =
  (Buffer.prototype as unknown as { latin1Slice?: Latin1Slice }).latin1Slice ??
  function (this: Buffer, start: number, end: number): string {
    return this.toString('latin1', start, end);
  };
/**
 * Node makes a latin1 string of 0xFBEE9 octets or more (EXTERN_APEX in src/string_bytes.cc) an external string,
 * so longer ones are concatenated from shorter slices (a cons string on the V8 heap).
 */
const LATIN1_CHUNK = 0x8_0000;

/** `buf[start, start + len)` as a latin1 string on the V8 heap. */
function latin1(buf: Buffer, start: number, len: number): string {
  if (len <= LATIN1_CHUNK) return latin1Slice.call(buf, start, start + len);
  let s = '';
  for (let at = start, end = start + len; at < end; at += LATIN1_CHUNK) {
    s += latin1Slice.call(buf, at, Math.min(end, at + LATIN1_CHUNK));
  }
  return s;
}

/**
 * Huffman output lands here, shared by all decoders: a field's name and value are made into strings (or dropped)
 * before anything else can run, so a re-entrant decode from `onField` cannot clobber bytes still in use.
 * Output larger than SCRATCH_MAX gets a one-off buffer so a single huge literal is not retained.
 */
let scratch: Buffer = Buffer.allocUnsafeSlow(1024);
const SCRATCH_MAX = 64 * 1024;

/**
 * A buffer of at least `need` octets for Huffman output when `scratch` lacks room from the wanted offset: a
 * bigger `scratch` (the old one may still hold the field's name), or a one-off buffer if `scratch` is big enough
 * but partly taken by the name, or if `need` is over SCRATCH_MAX.
 */
function freshScratch(need: number): Buffer {
  if (need <= scratch.length || need > SCRATCH_MAX) return Buffer.allocUnsafeSlow(need);
  scratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_MAX, Math.max(need, 2 * scratch.length)));
  return scratch;
}

const EMPTY: Buffer = Buffer.alloc(0);
const STATIC_COUNT = STATIC_TABLE.length;
const STATIC_NAMES = STATIC_TABLE.map((e) => e[0]);
const STATIC_VALUES = STATIC_TABLE.map((e) => e[1]);
/** Per-entry overhead in table and header list sizes (§4.1; RFC 9113 §6.5.2). */
const ENTRY_OVERHEAD = 32;
/** Largest integer accepted (§5.1 leaves the bound to the implementation). */
const MAX_INT = 0x7fff_ffff;
/** Continuation octets that can carry MAX_INT after a full prefix (5 × 7 bits ≥ 31). */
const MAX_INT_OCTETS = 5;

function sizeOption(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`HpackDecoder: ${name} must be an integer ≥ 0`);
  return v;
}

/**
 * Decodes the header blocks of one HTTP/2 connection's peer (RFC 7541 §3): one instance per connection, fed every
 * header block in order, since the dynamic table is connection state. Not re-entrant: `onField` must not call
 * `decode` on the same instance. After an HpackError (or an exception from `onField`) the table is out of sync
 * and the connection must end.
 *
 * The dynamic table starts with `maxTableSize` as its maximum size; lower it with a size update (§6.3).
 */
export class HpackDecoder {
  private readonly maxTableSize: number;
  private readonly maxHeaderListSize: number;
  /** The dynamic table's maximum size, as last set by a size update (§4.2). */
  private capacity: number;
  /** The dynamic table's size (§4.1). */
  private size = 0;
  /** The dynamic table as a ring (§2.3.3): the newest entry sits at `tail − 1`, the oldest at `tail − count`. */
  private names: string[] = new Array<string>(16).fill('');
  private values: string[] = new Array<string>(16).fill('');
  private mask = 15;
  private tail = 0;
  private count = 0;
  /** The block being decoded and the read position in it. */
  private src: Buffer = EMPTY;
  private pos = 0;
  /** Where the last {@link readString} put its octets: `strBuf[returned start, + strLen)`. */
  private strBuf: Buffer = EMPTY;
  private strLen = 0;

  constructor(opts?: HpackDecoderOptions) {
    this.maxTableSize = sizeOption('maxTableSize', opts?.maxTableSize ?? 4096);
    this.maxHeaderListSize = sizeOption('maxHeaderListSize', opts?.maxHeaderListSize ?? 64 * 1024);
    this.capacity = this.maxTableSize;
  }

  /** Current dynamic table size in octets (for tests). */
  get tableSize(): number {
    return this.size;
  }

  /**
   * Decodes one complete header block (the HEADERS payload plus any CONTINUATION payloads, concatenated,
   * padding/priority already removed). Calls onField(name, value) for each field in order. Throws HpackError on
   * any malformed input. Even when the list is too large, the whole block MUST still be decoded so the dynamic
   * table stays in sync; then throw HeaderListTooLarge at the end (do not call onField for fields past the limit).
   */
  decode(block: Uint8Array, onField: (name: string, value: string) => void): void {
    this.src = Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    this.pos = 0;
    try {
      this.decodeFields(onField);
    } finally {
      this.src = EMPTY;
      this.strBuf = EMPTY;
    }
  }

  private decodeFields(onField: (name: string, value: string) => void): void {
    const src = this.src;
    const end = src.length;
    const limit = this.maxHeaderListSize;
    let listSize = 0;
    let fields = false;
    while (this.pos < end) {
      const first = src[this.pos]!;
      if (first & 0x80) {
        // §6.1 Indexed Header Field: 1xxxxxxx, index with a 7-bit prefix.
        const index = this.readInt(0x7f);
        let name: string;
        let value: string;
        if (index === 0) throw new HpackError('index 0');
        if (index <= STATIC_COUNT) {
          name = STATIC_NAMES[index - 1]!;
          value = STATIC_VALUES[index - 1]!;
        } else {
          const at = this.dynamicSlot(index);
          name = this.names[at]!;
          value = this.values[at]!;
        }
        fields = true;
        listSize += name.length + value.length + ENTRY_OVERHEAD;
        if (listSize <= limit) onField(name, value);
        continue;
      }
      if ((first & 0xe0) === 0x20) {
        // §6.3 Dynamic Table Size Update: 001xxxxx, size with a 5-bit prefix; only at the start of a block (§4.2).
        if (fields) throw new HpackError('dynamic table size update after a header field');
        const max = this.readInt(0x1f);
        if (max > this.maxTableSize)
          throw new HpackError('dynamic table size update above SETTINGS_HEADER_TABLE_SIZE');
        this.capacity = max;
        this.evictTo(max);
        continue;
      }
      // §6.2 Literal Header Field: 01xxxxxx with incremental indexing (6-bit prefix, §6.2.1), 0000xxxx without
      // indexing and 0001xxxx never indexed (4-bit prefix, §6.2.2, §6.2.3). Index 0 means a literal name follows.
      const indexing = (first & 0x40) !== 0;
      const index = this.readInt(indexing ? 0x3f : 0x0f);
      let name: string | undefined;
      let nameBuf = EMPTY;
      let nameStart = 0;
      let nameLen: number;
      if (index === 0) {
        nameStart = this.readString(0);
        nameBuf = this.strBuf;
        nameLen = this.strLen;
      } else {
        name = index <= STATIC_COUNT ? STATIC_NAMES[index - 1]! : this.names[this.dynamicSlot(index)]!;
        nameLen = name.length;
      }
      // Keep a Huffman-decoded name intact: the value's Huffman output goes after it.
      const valueStart = this.readString(nameBuf === scratch ? nameStart + nameLen : 0);
      const valueLen = this.strLen;
      const entrySize = nameLen + valueLen + ENTRY_OVERHEAD;
      fields = true;
      listSize += entrySize;
      const emit = listSize <= limit;
      if (emit || (indexing && entrySize <= this.capacity)) {
        name ??= latin1(nameBuf, nameStart, nameLen);
        const value = latin1(this.strBuf, valueStart, valueLen);
        if (indexing) this.insert(name, value, entrySize);
        if (emit) onField(name, value);
      } else if (indexing) this.evictTo(0); // §4.4: an entry larger than the table empties it
    }
    if (listSize > limit) {
      throw new HeaderListTooLarge(`header list of ${listSize} octets exceeds the limit of ${limit}`);
    }
  }

  /** The ring slot of dynamic-table index `index` (> 61, §2.3.3), or HpackError if there is no such entry. */
  private dynamicSlot(index: number): number {
    const d = index - STATIC_COUNT - 1;
    if (d >= this.count) throw new HpackError('index beyond the dynamic table');
    return (this.tail - 1 - d) & this.mask;
  }

  /** §5.1: an integer whose prefix is the low bits `mask` of the current octet; at most MAX_INT. */
  private readInt(mask: number): number {
    const src = this.src;
    const end = src.length;
    let pos = this.pos;
    if (pos >= end) throw new HpackError('truncated integer');
    let value = src[pos++]! & mask;
    if (value === mask) {
      let b: number;
      let shift = 0;
      do {
        if (pos >= end) throw new HpackError('truncated integer');
        if (shift === 7 * MAX_INT_OCTETS) throw new HpackError('integer has too many octets');
        b = src[pos++]!;
        value += (b & 0x7f) * 2 ** shift;
        shift += 7;
      } while (b & 0x80);
      if (value > MAX_INT) throw new HpackError('integer overflow');
    }
    this.pos = pos;
    return value;
  }

  /**
   * §5.2 String Literal: H bit, length with a 7-bit prefix, octets. Leaves the octets at
   * `strBuf[returned, + strLen)`: in the block itself, or Huffman-decoded into the scratch buffer from `at`.
   */
  private readString(at: number): number {
    const src = this.src;
    if (this.pos >= src.length) throw new HpackError('truncated string literal');
    const huffman = src[this.pos]! & 0x80;
    const len = this.readInt(0x7f);
    const start = this.pos;
    if (len > src.length - start) throw new HpackError('truncated string literal');
    this.pos = start + len;
    if (huffman === 0) {
      this.strBuf = src;
      this.strLen = len;
      return start;
    }
    const room = Math.floor((len * 8) / 5);
    let dst = scratch;
    if (at + room > dst.length) {
      dst = freshScratch(room);
      at = 0;
    }
    this.strBuf = dst;
    this.strLen = huffmanDecode(src, start, start + len, dst, at) - at;
    return at;
  }

  /** §4.4: adds an entry of `size` octets, evicting the oldest ones first, or empties the table if it is too big. */
  private insert(name: string, value: string, size: number): void {
    if (size > this.capacity) {
      this.evictTo(0);
      return;
    }
    this.evictTo(this.capacity - size);
    if (this.count > this.mask) this.grow();
    this.names[this.tail] = name;
    this.values[this.tail] = value;
    this.tail = (this.tail + 1) & this.mask;
    this.count++;
    this.size += size;
  }

  /** §4.3, §4.4: evicts the oldest entries until the table size is at most `target`. */
  private evictTo(target: number): void {
    while (this.size > target && this.count > 0) {
      const at = (this.tail - this.count) & this.mask;
      this.size -= this.names[at]!.length + this.values[at]!.length + ENTRY_OVERHEAD;
      this.names[at] = '';
      this.values[at] = '';
      this.count--;
    }
  }

  /** Doubles the ring, oldest entry first at slot 0. */
  private grow(): void {
    const n = 2 * (this.mask + 1);
    const names = new Array<string>(n).fill('');
    const values = new Array<string>(n).fill('');
    for (let i = 0; i < this.count; i++) {
      const at = (this.tail - this.count + i) & this.mask;
      names[i] = this.names[at]!;
      values[i] = this.values[at]!;
    }
    this.names = names;
    this.values = values;
    this.mask = n - 1;
    this.tail = this.count;
  }
}
