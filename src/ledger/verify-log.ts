/**
 * Full integrity check of a stored log (`sigil audit verify`, docs/ledger.md §Verification): recompute
 * every leaf and perfect-subtree hash from the entries and compare with what is stored, then check every
 * stored checkpoint (signature, root at its size) and consistency between consecutive checkpoints.
 */

import { existsSync } from 'node:fs';
import type { Database } from 'lmdb';
import type { AppendLog } from './lib/append-log.js';
import { readPruned, readTileSummary } from './lib/compaction.js';
import type { NodeRowKey } from './lib/keys.js';
import { type LogStore, readWatermark } from './lib/log-store.js';
import { nodeHashLeaf, nodeHashNode } from './lib/node-hash.js';
import { readNodeHash } from './lib/node-rows.js';
import { parseVerifierKey } from './lib/note-key.js';
import { foldFrontier } from './lib/proof.js';
import {
  decodeBundle,
  hashTile,
  readArchiveFile,
  readLeafTile,
  TILE_HEIGHT,
  TILE_WIDTH,
  tilePath,
  tilesOf,
} from './lib/tiles.js';
import { openCheckpoint } from './parse-checkpoint.js';
import { verifyConsistency } from './verify-consistency.js';

/** One integrity problem. */
export interface VerifyProblem {
  /** What is wrong: `entry`, `missing`, `node`, `size`, `checkpoint`, `consistency`. */
  kind: 'entry' | 'missing' | 'node' | 'size' | 'checkpoint' | 'consistency' | 'archive';
  /** First entry index affected (for nodes: first leaf of the smallest disagreeing subtree). */
  index?: number;
  message: string;
}

/** One perfect subtree on the right edge: stored-chain hash `s` and pure recomputation `p`. */
interface Frame {
  level: number;
  s: Buffer;
  p: Buffer;
}

/** Result of {@link verifyLog}. */
export interface VerifyReport {
  ok: boolean;
  /** Size recorded in the meta database. */
  size: number;
  /** Entries re-hashed. */
  entries: number;
  /** Checkpoints whose signature and root were checked. */
  checkpoints: number;
  /** Entries whose bodies are pruned (docs/ledger.md §10) and, of those, how many were read from the archive. */
  pruned: number;
  archived: number;
  /** Size of the archive's checkpoint, when an archive was checked. */
  archiveCheckpoint?: number;
  /**
   * Consecutive checkpoint pairs whose consistency proof needs pruned nodes while no archive is mounted.
   * (Without the archive, the root of a checkpoint whose size falls inside a pruned tile is not
   * recomputed either: only its signature is checked.)
   */
  consistencyUnchecked?: number;
  /** Smallest entry index found bad, if any. */
  firstBadIndex?: number;
  problems: VerifyProblem[];
}

/** Options of {@link verifyLog}. */
export interface VerifyOptions {
  /** Verifier key to check checkpoints with (default: the log's own key file). */
  verifierKey?: string;
  /** Called every 100 000 entries and at the end. */
  onProgress?: (done: number, total: number) => void;
  /** Called with each entry's bytes as it is re-hashed (e.g. to tally record kinds); must not keep `bytes`. */
  onEntry?: (index: number, bytes: Uint8Array) => void;
  /**
   * The tlog-tiles archive to verify with the local log as one tree (default: the log's own). Without
   * one (or when the directory does not exist), pruned entries are checked from their kept leaf hashes up.
   */
  archiveDir?: string;
}

/** Verification stops after this many problems. */
const MAX_PROBLEMS = 100;

/** Recomputes and checks everything; never throws for integrity problems, only reports them. */
export function verifyLog(log: AppendLog, options: VerifyOptions = {}): VerifyReport {
  const { entries, nodes, meta } = log.lmdb;
  const problems: VerifyProblem[] = [];
  const add = (kind: VerifyProblem['kind'], index: number | undefined, message: string) => {
    if (problems.length < MAX_PROBLEMS)
      problems.push(index === undefined ? { kind, message } : { kind, index, message });
  };
  const sizeEntry = meta.getEntry('size');
  const size = typeof sizeEntry?.value === 'number' ? (sizeEntry.value as number) : -1;
  if (size < 0 || sizeEntry?.version !== size) add('size', undefined, 'size record missing or inconsistent');
  // Node rows are stored up to the tree watermark; the nodes of later entries are derived at open
  // (docs/ledger.md §3).
  let tree = readWatermark(meta.get('tree'), Math.max(size, 0));
  if (tree === undefined) {
    add('size', undefined, 'tree watermark is invalid');
    tree = Math.max(size, 0);
  }
  const treeSize = tree;

  // Checkpoints by size, so roots can be compared when the recomputation passes their size.
  const cps = [...log.checkpoints.stored()];
  let vkey: string | undefined = options.verifierKey;
  if (vkey === undefined && cps.length > 0) {
    try {
      vkey = log.checkpoints.verifierKey;
    } catch (e) {
      add('checkpoint', undefined, `cannot load the checkpoint key: ${(e as Error).message}`);
    }
  }
  const parsedKey = vkey !== undefined ? parseVerifierKey(vkey) : undefined;
  const cpRoots = new Map<number, Uint8Array>();
  for (const c of cps) {
    if (!parsedKey) break;
    try {
      const cp = openCheckpoint(c.note, parsedKey, log.origin);
      if (cp.size !== c.size)
        add('checkpoint', undefined, `checkpoint stored under size ${c.size} says size ${cp.size}`);
      else cpRoots.set(c.size, cp.root);
    } catch (e) {
      add('checkpoint', Math.max(0, c.size - 1), `checkpoint ${c.size}: ${(e as Error).message}`);
    }
  }

  // Pruned entries (docs/ledger.md §10): bodies from the archive's bundles, else only their kept leaf hash.
  let pruned = 0;
  try {
    pruned = readPruned(log.lmdb as LogStore, Math.max(size, 0));
  } catch (e) {
    add('size', undefined, (e as Error).message);
  }
  // An archive dir that does not exist is not mounted (it may live on a file server only).
  const configured = options.archiveDir ?? log.archive;
  const archiveDir = configured !== undefined && existsSync(configured) ? configured : undefined;
  let archived = 0;
  let archiveCp: number | undefined;
  if (archiveDir !== undefined && (pruned > 0 || readArchiveFile(archiveDir, 'checkpoint'))) {
    archiveCp = checkArchive(archiveDir, parsedKey, log.origin, Math.max(size, 0), nodes, add);
    if (archiveCp !== undefined && !cpRoots.has(archiveCp)) {
      const note = readArchiveFile(archiveDir, 'checkpoint')?.toString('utf8') ?? '';
      if (parsedKey) cpRoots.set(archiveCp, openCheckpoint(note, parsedKey, log.origin).root);
    }
  }
  // Pruned tiles: the archive's level-0 tile (checked against the kept level-8 node) stands in for the
  // pruned node rows of levels 0–7, and the bundle for the bodies; without them the kept level-8 node
  // stands for the whole tile (the tree above it is still checked).
  let tile: { n: number; levels: Buffer[][] } | undefined;
  const prunedLow = (level: number, at: number) => level < TILE_HEIGHT && (at + 1) * 2 ** level <= pruned;
  const storedAt = (level: number, at: number): Buffer | undefined => {
    const h = readNodeHash(nodes, level, at);
    if (h || !tile || !prunedLow(level, at)) return h;
    return tile.levels[level]?.[at - tile.n * (TILE_WIDTH / 2 ** level)];
  };
  /** The stored hash of (level, at) and whether it matches `computed` (or is absent past the watermark). */
  const against = (level: number, at: number, computed: Buffer) => {
    const stored = storedAt(level, at);
    const ok =
      stored === undefined
        ? (at + 1) * 2 ** level > treeSize || prunedLow(level, at)
        : computed.equals(stored);
    return { stored, ok };
  };
  function* walk(): Generator<{ key: number; value?: Uint8Array; node8?: Buffer }> {
    for (let n = 0; n < pruned / TILE_WIDTH; n++) {
      const first = n * TILE_WIDTH;
      const kept = readNodeHash(nodes, TILE_HEIGHT, n);
      let bodies: Buffer[] | undefined;
      tile = undefined;
      if (archiveDir !== undefined) {
        const path = tilePath('entries', n);
        const bytes = readArchiveFile(archiveDir, path);
        bodies = bytes ? decodeBundle(bytes, TILE_WIDTH) : undefined;
        if (!bodies)
          add('archive', first, `archive ${path} is ${bytes ? 'not a full entry bundle' : 'missing'}`);
        try {
          if (kept) tile = { n, levels: readLeafTile(archiveDir, n, kept) };
        } catch {
          // reported by checkArchive
        }
      }
      if (bodies) {
        // The archive index must describe the bundle it stands for (docs/ledger.md §10 "Archive index").
        const stored = readTileSummary(log.lmdb as LogStore, n);
        const computed = stored && log.summarizeTile(bodies);
        if (stored && computed && !Buffer.from(computed).equals(Buffer.from(stored)))
          add('archive', first, `the archive index of tile ${n} does not match ${tilePath('entries', n)}`);
        archived += TILE_WIDTH;
        for (let i = 0; i < TILE_WIDTH; i++) yield { key: first + i, value: bodies[i] as Buffer };
      } else if (kept) yield { key: first, node8: kept };
      else {
        add('missing', first, `pruned entries ${first}.. have no kept node (${TILE_HEIGHT}, ${n})`);
        return;
      }
    }
    tile = undefined;
    for (const { key, value } of entries.getRange({ start: pruned })) yield { key, value };
  }

  const frontier: Frame[] = [];
  const recomputedRoots = new Map<number, Uint8Array>();
  let expected = 0; // entries checked so far, and the next index due
  let nextProgress = 100_000;
  for (const { key, value, node8 } of walk()) {
    if (key !== expected) {
      add('missing', expected, `entry ${expected} is missing (next stored is ${key})`);
      break; // the tree past a hole cannot be recomputed
    }
    if (key >= size) {
      add('size', key, `entry ${key} lies beyond the recorded size ${size}`);
      break;
    }
    // Each stored hash is checked against its own stored children (level 0: against the entry bytes) and
    // the walk continues with the STORED hash (`s`), so a problem is reported once, at the smallest
    // subtree that disagrees, not at every ancestor. Alongside runs the pure recomputation from entry
    // bytes alone (`p`), compared with the signed checkpoints; while both agree one hash serves both.
    let cur: Frame;
    let at: number;
    if (node8) {
      cur = { level: TILE_HEIGHT, s: node8, p: node8 };
      at = key / TILE_WIDTH;
    } else {
      const bytes = value as Uint8Array;
      options.onEntry?.(key, bytes);
      const leaf = nodeHashLeaf(bytes);
      const { stored: storedLeaf, ok: leafOk } = against(0, key, leaf);
      if (!leafOk) {
        add('entry', key, `entry ${key} ${storedLeaf ? 'does not match its' : 'has no'} stored leaf hash`);
      }
      const s0 = storedLeaf ?? leaf;
      cur = { level: 0, s: s0, p: leafOk ? s0 : leaf };
      at = key;
    }
    while (frontier.length > 0 && (frontier[frontier.length - 1] as Frame).level === cur.level) {
      const left = frontier.pop() as Frame;
      const computed = nodeHashNode(left.s, cur.s);
      const pureHash = left.p === left.s && cur.p === cur.s ? computed : nodeHashNode(left.p, cur.p);
      const level = cur.level + 1;
      at = Math.floor(at / 2);
      const { stored, ok } = against(level, at, computed);
      if (!ok) {
        add(
          'node',
          at * 2 ** level,
          `stored node (${level}, ${at}) ${stored ? 'differs from' : 'missing for'} the recomputed one`,
        );
      }
      const s = ok ? computed : (stored ?? computed);
      cur = { level, s, p: pureHash === computed && ok ? s : pureHash };
    }
    frontier.push(cur);
    expected += node8 ? TILE_WIDTH : 1;
    if (cpRoots.has(expected)) {
      const pure = frontier.map((f) => f.p);
      recomputedRoots.set(expected, foldFrontier(pure, nodeHashNode));
    }
    if (options.onProgress && expected >= nextProgress) {
      options.onProgress(expected, size);
      nextProgress += 100_000;
    }
    if (problems.length >= MAX_PROBLEMS) break;
  }
  if (problems.length === 0 && expected !== size) {
    add('missing', expected, `log records size ${size} but holds ${expected} entries`);
  }
  options.onProgress?.(expected, size);

  // Checkpoint roots against the recomputation, then consistency between consecutive checkpoints.
  let checked = 0;
  let unchecked = 0;
  let prev: { size: number; root: Uint8Array } | undefined;
  for (const [cpSize, cpRoot] of [...cpRoots.entries()].sort((a, b) => a[0] - b[0])) {
    checked++;
    if (cpSize > expected) {
      add('checkpoint', expected, `checkpoint ${cpSize} covers entries the log no longer holds`);
      continue;
    }
    const mine = cpSize === 0 ? undefined : recomputedRoots.get(cpSize);
    if (mine && !Buffer.from(mine).equals(Buffer.from(cpRoot))) {
      add('checkpoint', cpSize - 1, `root at size ${cpSize} differs from signed checkpoint`);
    }
    if (prev && problems.length === 0) {
      let consistent = false;
      let archivedProof = false;
      try {
        const proof = log.consistencyProof(prev.size, cpSize);
        consistent = verifyConsistency(prev.size, cpSize, proof, prev.root, cpRoot);
      } catch (e) {
        // No proof between them: not consistent, unless it runs through pruned nodes and no archive is
        // mounted (§10): then it cannot be checked here, which the report counts.
        archivedProof = (e as { code?: unknown }).code === 'LEDGER_ARCHIVED';
      }
      if (archivedProof) unchecked++;
      else if (!consistent) {
        add('consistency', prev.size, `checkpoints ${prev.size} and ${cpSize} are not consistent`);
      }
    }
    prev = { size: cpSize, root: cpRoot };
  }
  const bad = problems.map((p) => p.index).filter((i): i is number => i !== undefined);
  return {
    ok: problems.length === 0,
    size,
    entries: expected,
    checkpoints: checked,
    pruned,
    archived,
    ...(unchecked > 0 ? { consistencyUnchecked: unchecked } : {}),
    ...(archiveCp !== undefined ? { archiveCheckpoint: archiveCp } : {}),
    ...(bad.length > 0 ? { firstBadIndex: Math.min(...bad) } : {}),
    problems,
  };
}

/**
 * Checks the archive's own files (docs/ledger.md §10): its checkpoint (signature, origin, size within the
 * log) and every hash tile of that checkpoint's tree against the log's stored nodes. Returns the
 * checkpoint's size when it verified (its root is then compared with the recomputation like any other).
 */
function checkArchive(
  dir: string,
  key: ReturnType<typeof parseVerifierKey> | undefined,
  origin: string,
  size: number,
  nodes: Database<Buffer, NodeRowKey>,
  add: (kind: VerifyProblem['kind'], index: number | undefined, message: string) => void,
): number | undefined {
  const note = readArchiveFile(dir, 'checkpoint');
  if (!note) {
    add('archive', undefined, 'the archive has no checkpoint');
    return undefined;
  }
  if (!key) return undefined;
  let cpSize: number;
  try {
    cpSize = openCheckpoint(note.toString('utf8'), key, origin).size;
  } catch (e) {
    add('archive', undefined, `archive checkpoint: ${(e as Error).message}`);
    return undefined;
  }
  if (cpSize > size) {
    add('archive', size, `archive checkpoint ${cpSize} is beyond the log's size ${size}`);
    return undefined;
  }
  for (const { level, full, partial } of tilesOf(cpSize)) {
    for (let n = 0; n <= full; n++) {
      const width = n < full ? TILE_WIDTH : partial;
      if (width === 0) continue;
      const path = tilePath(level, n, width);
      const bytes = readArchiveFile(dir, path);
      let expected: Buffer | undefined;
      try {
        expected = hashTile(level, n, width, (l, i) => {
          const h = readNodeHash(nodes, l, i);
          if (!h) throw new Error('not stored');
          return h;
        });
      } catch {
        expected = undefined; // past the tree watermark: the tiles are checked through the root instead
      }
      const kept = readNodeHash(nodes, TILE_HEIGHT, n);
      if (!expected && bytes && level === 0 && width === TILE_WIDTH && kept) {
        // A pruned level-0 tile: its rows are gone locally, its root must be the kept level-8 node.
        try {
          readLeafTile(dir, n, kept);
        } catch {
          add('archive', n * TILE_WIDTH, `archive ${path} differs from the log's tree`);
        }
      }
      if (!bytes) add('archive', n * TILE_WIDTH ** (level + 1), `archive ${path} is missing`);
      else if (expected && !bytes.equals(expected)) {
        add('archive', n * TILE_WIDTH ** (level + 1), `archive ${path} differs from the log's tree`);
      }
    }
  }
  return cpSize;
}
