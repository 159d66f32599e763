import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { GC_TRACE_FLAG, GcTrace, gcDelta, parseGcLine } from '../../bench/lib/gc-trace.js';

const SCAVENGE =
  '[29324:0x25ad9490]       22 ms: pause=1.5 mutator=0.8 gc=s reduce_memory=0 scavenge=0.24 total_size_before=4074320 allocated=920192 promoted=89744';
const MARK =
  '[29324:0x25ad9490]     1022 ms: pause=12.25 mutator=30.1 gc=mc reduce_memory=0 allocated=1000 promoted=0';

describe('gc-trace', () => {
  it('parses scavenge and mark-compact lines and ignores the rest', () => {
    const isolate = '29324:0x25ad9490';
    expect(parseGcLine(SCAVENGE)).toEqual({
      isolate,
      kind: 's',
      pauseMs: 1.5,
      allocated: 920192,
      promoted: 89744,
    });
    expect(parseGcLine(MARK)).toEqual({ isolate, kind: 'mc', pauseMs: 12.25, allocated: 1000, promoted: 0 });
    // V8 13 (Node 24) adds an id to the prefix.
    expect(parseGcLine(SCAVENGE.replace('0x25ad9490]', '0x25ad9490:0]'))).toEqual({
      isolate: `${isolate}:0`,
      kind: 's',
      pauseMs: 1.5,
      allocated: 920192,
      promoted: 89744,
    });
    expect(parseGcLine('{"level":30,"msg":"sigil ready","allocated":5}')).toBeUndefined();
    expect(parseGcLine('pause=1 gc=s')).toBeUndefined();
  });

  it('sums lines split across chunks and diffs snapshots', () => {
    const out = new PassThrough();
    const trace = new GcTrace(out);
    const a = trace.snapshot();
    out.write(`${SCAVENGE}\n{"msg":"log line"}\n${MARK.slice(0, 40)}`);
    out.write(`${MARK.slice(40)}\n${SCAVENGE}`);
    // A worker thread's isolate: not the main thread's, not counted.
    out.write(`\n${SCAVENGE.replace('0x25ad9490', '0x7feb80001000')}\n`);
    const d = gcDelta(a, trace.snapshot());
    expect(d).toEqual({
      scavenges: 2,
      scavengeMs: 3,
      majors: 1,
      majorMs: 12.25,
      allocated: 2 * 920192 + 1000,
      promoted: 2 * 89744,
    });
  });

  it('follows the isolate of a process that re-executed itself (same pid and stdout, new isolate)', () => {
    const out = new PassThrough();
    const trace = new GcTrace(out);
    // The first process (tsx compiling everything: more allocation than the new one so far), then execve; the
    // new isolate serves. A worker thread's isolate (id 1) is not the main one.
    const first = SCAVENGE.replace('0x25ad9490]', '0x11110000:0]');
    out.write(`${first}\n${first}\n${first}\n${SCAVENGE.replace('0x25ad9490]', '0x33330000:1]')}\n`);
    const serving = SCAVENGE.replace('0x25ad9490]', '0x22220000:0]');
    out.write(`${serving}\n${serving}\n`);
    const a = trace.snapshot();
    out.write(`${serving}\n${MARK.replace('0x25ad9490]', '0x22220000:0]')}\n`);
    expect(a.scavenges).toBe(2);
    expect(gcDelta(a, trace.snapshot())).toEqual({
      scavenges: 1,
      scavengeMs: 1.5,
      majors: 1,
      majorMs: 12.25,
      allocated: 920192 + 1000,
      promoted: 89744,
    });
  });

  it('reads what a real Node process prints under the flag', async () => {
    const child = spawn(
      process.execPath,
      [
        GC_TRACE_FLAG,
        '-e',
        'let a = []; for (let i = 0; i < 2e6; i++) { a.push({ i }); if (a.length > 1000) a = []; }',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const trace = new GcTrace(child.stdout!);
    await new Promise((r) => child.once('close', r));
    const t = trace.snapshot();
    // 2e6 small objects of at least 16 bytes each: tens of MB, so several scavenges.
    expect(t.scavenges).toBeGreaterThan(2);
    expect(t.allocated).toBeGreaterThan(16 * 2e6 * 0.5);
  });
});
