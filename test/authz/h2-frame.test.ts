/**
 * gRPC Length-Prefixed-Message reader of the h2 transport (src/authz/h2/lib/grpc-frame.ts) against a
 * whole-buffer reference of PROTOCOL-HTTP2's definition, for every way the body may be split into DATA frames.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FrameProblem, frameMessage, UnaryMessageReader } from '../../src/authz/h2/lib/grpc-frame.js';

const MAX = 64;

/** Reference: the whole body at once (1-byte flag, 4-byte BE length, message; exactly one message). */
function reference(body: Buffer): Buffer | FrameProblem {
  if (body.length === 0) return 'empty';
  if (body.length < 5) return 'truncated';
  if (body[0] !== 0) return 'compressed';
  const len = body.readUInt32BE(1);
  if (len > MAX) return 'too-large';
  if (body.length > 5 + len) return 'extra-data';
  if (body.length < 5 + len) return 'truncated';
  return body.subarray(5);
}

/** The reader fed `body` in the given chunk sizes: the first problem it reports, or its result at end. */
function read(body: Buffer, cuts: number[]): Buffer | FrameProblem {
  const r = new UnaryMessageReader(MAX);
  let at = 0;
  for (const c of [...cuts, body.length]) {
    const end = Math.min(body.length, at + c);
    if (end > at) {
      const p = r.push(body.subarray(at, end));
      if (p !== undefined) return p;
    }
    at = end;
    if (at >= body.length) break;
  }
  return r.finish();
}

const splits = fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 40 });

describe('UnaryMessageReader', () => {
  it('a framed message, split anywhere, comes back byte for byte', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: MAX }), splits, (msg, cuts) => {
        expect(read(frameMessage(msg), cuts)).toEqual(Buffer.from(msg));
      }),
    );
  });

  it('arbitrary bodies: same verdict as the whole-buffer reference, whatever the split', () => {
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b)),
      // Mostly-valid bodies: a real prefix with a wrong length, flag or trailing bytes.
      fc
        .tuple(
          fc.constantFrom(0, 0, 1, 0x80),
          fc.integer({ min: 0, max: MAX + 4 }),
          fc.uint8Array({ maxLength: 80 }),
        )
        .map(([flag, len, rest]) => {
          const p = Buffer.alloc(5);
          p[0] = flag;
          p.writeUInt32BE(len, 1);
          return Buffer.concat([p, rest]);
        }),
    );
    fc.assert(
      fc.property(body, splits, (b, cuts) => {
        expect(read(b, cuts)).toEqual(reference(b));
      }),
      { numRuns: 2000 },
    );
  });
});
