/**
 * gRPC Length-Prefixed-Message framing (gRPC PROTOCOL-HTTP2 §Requests "Length-Prefixed-Message"):
 * 1-byte Compressed-Flag, 4-byte big-endian Message-Length, then the message. A unary call carries exactly one.
 */

/** Bytes of the Length-Prefixed-Message prefix. */
export const PREFIX_BYTES = 5;

/** Why a unary request body is not exactly one acceptable message. */
export type FrameProblem = 'too-large' | 'compressed' | 'extra-data' | 'truncated' | 'empty';

/**
 * Accumulates the DATA of one unary request and checks it as it arrives, so an oversized or surplus body is
 * refused at the first offending chunk instead of after buffering it all.
 */
export class UnaryMessageReader {
  private chunks: Buffer[] = [];
  private have = 0;
  /** Declared message length once the prefix is in, -1 before. */
  private declared = -1;
  private compressed = false;

  constructor(private readonly maxBytes: number) {}

  /** Adds a DATA chunk; returns the problem it reveals, if any (then stop feeding). */
  push(chunk: Buffer): FrameProblem | undefined {
    this.chunks.push(chunk);
    this.have += chunk.length;
    if (this.declared < 0 && this.have >= PREFIX_BYTES) {
      const head = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks);
      this.chunks = [head];
      this.compressed = head[0] !== 0;
      // Any flag byte other than 0 is treated as "compressed" (the spec only defines 0 and 1).
      if (this.compressed) return 'compressed';
      this.declared = head.readUInt32BE(1);
      if (this.declared > this.maxBytes) return 'too-large';
    }
    if (this.declared >= 0 && this.have > PREFIX_BYTES + this.declared) return 'extra-data';
    return undefined;
  }

  /** At end of stream: the single message, or why there is none. */
  finish(): Buffer | FrameProblem {
    if (this.have === 0) return 'empty';
    if (this.declared < 0 || this.have < PREFIX_BYTES + this.declared) return 'truncated';
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    return all.subarray(PREFIX_BYTES, PREFIX_BYTES + this.declared);
  }
}

/** Frames one uncompressed message. */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(PREFIX_BYTES + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, PREFIX_BYTES);
  return out;
}

/**
 * Percent-encodes a grpc-message value (PROTOCOL-HTTP2 §Responses: "Status-Message → Percent-Encoded",
 * bytes outside 0x20–0x7E and '%' itself are %XX of their UTF-8 bytes).
 */
export function percentEncode(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  let out = '';
  for (const b of Buffer.from(message, 'utf8')) {
    out +=
      b < 0x20 || b > 0x7e || b === 0x25
        ? `%${b.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(b);
  }
  return out;
}

const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/**
 * Parses a grpc-timeout header (PROTOCOL-HTTP2 §Requests: `Timeout → TimeoutValue TimeoutUnit`, at most
 * 8 ASCII digits, unit one of H M S m u n) into milliseconds; `undefined` when malformed.
 */
export function parseGrpcTimeout(value: string): number | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (m === null) return undefined;
  return Number(m[1]) * TIMEOUT_UNIT_MS[m[2]!]!;
}
