/**
 * The log's Merkle tree in memory (docs/ledger.md §3): right frontier, node rows not known to be stored
 * yet, a cache of upper subtrees; roots and proofs read from memory first, then the file.
 */
import type { Database } from 'lmdb';
import { LedgerError } from '../errors.js';
import { EMPTY_ROOT } from './hash.js';
import type { NodeRowKey } from './keys.js';
import { nodeHashLeaf, nodeHashNode } from './node-hash.js';
import { OpenRows, readNodeHash } from './node-rows.js';
import { consistencyPath, foldFrontier, frontierOf, inclusionPath, type RangeMemo } from './proof.js';

/** Subtrees of this level and above (≥ 64 leaves) are cached in memory by readSubtree. */
const CACHE_LEVEL = 6;
const NODE_CACHE_MAX = 65_536;

/**
 * Node-cache key (not an LMDB key: nodes are stored in rows, lib/node-rows.ts). Only levels ≥ CACHE_LEVEL
 * (6) are cached, whose indices are < 2^47 in a tree of ≤ 2^53 − 1 leaves: `index · 64 + level` is exact.
 */
const nodeKey = (level: number, index: number): number => index * 64 + level;

/** Copies: the hashes may be shared with the node cache and callers may mutate what they get. */
const copies = (hashes: Uint8Array[]): Uint8Array[] => hashes.map((h) => new Uint8Array(h));

/** The in-memory tree over the `nodes` database. Bounds of sizes and indices are the caller's to check. */
export class TreeState {
  /** Right frontier of the {@link size}-leaf tree: its perfect subtrees' hashes, largest first. */
  frontier: Buffer[] = [];
  /** Node rows of the in-memory tree not known to be stored yet. */
  rows = new OpenRows();
  /** Leaves in the in-memory tree (trails the entries handed to LMDB until their hashes are filed). */
  size = 0;
  /** Tree size whose node rows the last submitted transaction stores (`meta.tree`), and when (ms). */
  submitted = 0;
  submittedAt = 0;
  /**
   * Hashes of pruned node rows (levels 0–7 below `meta.pruned`, docs/ledger.md §10), from the archive:
   * undefined when (level, index) is not pruned. @throws LedgerError `LEDGER_ARCHIVED`, `LEDGER_CORRUPT`.
   */
  archived: ((level: number, index: number) => Buffer | undefined) | undefined;
  private readonly nodeCache = new Map<number, Buffer>();
  private readonly rangeMemo: RangeMemo = new Map();

  constructor(private readonly nodes: Database<Buffer, NodeRowKey>) {}

  /** Hash of perfect subtree (level, index); level 0: the leaf hash. @throws `LEDGER_CORRUPT` if absent. */
  readonly readSubtree = (level: number, index: number): Buffer => {
    const key = nodeKey(level, index);
    // Upper levels are few and on every proof path; subtree hashes never change, so no stale entries.
    const cached = level >= CACHE_LEVEL ? this.nodeCache.get(key) : undefined;
    if (cached) return cached;
    // Nodes of the newest batches may not be stored yet (deferred tree): memory first, then the file.
    const h =
      this.rows.hashAt(level, index) ??
      readNodeHash(this.nodes, level, index) ??
      this.archived?.(level, index);
    if (!h) throw new LedgerError('LEDGER_CORRUPT', `node (${level}, ${index}) is missing or damaged`);
    if (level >= CACHE_LEVEL) {
      if (this.nodeCache.size >= NODE_CACHE_MAX) this.nodeCache.clear();
      this.nodeCache.set(key, h);
    }
    return h;
  };

  /**
   * Loads the tree stored up to watermark `tree` from the file alone (nothing in memory is trusted across
   * a reload), optionally re-checking the newest leaf and frontier nodes (docs/ledger.md §3 "Open and
   * reopen"), then re-derives the hashes of entries [tree, size) from the entries. @throws `LEDGER_CORRUPT`.
   */
  load(tree: number, size: number, entryAt: (index: number) => Buffer, checkHashes: boolean): void {
    this.rows = new OpenRows();
    const frontier = frontierOf(tree).map(([level, index]) => this.readSubtree(level, index));
    if (checkHashes && tree > 0) {
      if (!nodeHashLeaf(entryAt(tree - 1)).equals(this.readSubtree(0, tree - 1))) {
        throw new LedgerError('LEDGER_CORRUPT', `entry ${tree - 1} does not match its stored leaf hash`);
      }
      for (const [level, index] of frontierOf(tree)) {
        if (level === 0) continue;
        const h = nodeHashNode(
          this.readSubtree(level - 1, 2 * index),
          this.readSubtree(level - 1, 2 * index + 1),
        );
        if (!h.equals(this.readSubtree(level, index))) {
          throw new LedgerError(
            'LEDGER_CORRUPT',
            `stored node (${level}, ${index}) does not match its children`,
          );
        }
      }
    }
    this.rows = OpenRows.load(this.nodes, tree);
    this.frontier = frontier;
    this.size = tree;
    this.submitted = tree;
    for (let i = tree; i < size; i++) this.extend(nodeHashLeaf(entryAt(i)));
  }

  /** Forgets the tree (a damaged log opened for verify: proofs come from the file only). */
  reset(): void {
    this.frontier = [];
    this.rows = new OpenRows();
    this.size = 0;
  }

  /**
   * Adds the next leaf: records it and each perfect subtree it completes on the right edge in their rows.
   * `merged` supplies the merge hashes when the tree hasher computed them already.
   */
  extend(leafHash: Buffer, merged?: () => Buffer): void {
    let at = this.size++;
    this.rows.add(0, at, leafHash);
    let cur = leafHash;
    let level = 0;
    // Appending leaf i merges one frontier subtree per trailing 1-bit of i (i up to 2^53: no bitwise ops).
    while (at % 2 === 1) {
      const left = this.frontier.pop() as Buffer;
      cur = merged ? merged() : nodeHashNode(left, cur);
      level++;
      at = (at - 1) / 2;
      this.rows.add(level, at, cur);
    }
    this.frontier.push(cur);
  }

  /** RFC 6962 root of the first `size` leaves; O(log n) reads. */
  root(size: number): Uint8Array {
    if (size === 0) return EMPTY_ROOT;
    return new Uint8Array(
      foldFrontier(
        frontierOf(size).map(([l, i]) => this.readSubtree(l, i)),
        nodeHashNode,
      ),
    );
  }

  /** RFC 6962 §2.1.1 inclusion proof of leaf `index` in the tree of `size` leaves. */
  inclusionProof(index: number, size: number): Uint8Array[] {
    return copies(inclusionPath(index, size, this.readSubtree, nodeHashNode, this.rangeMemo));
  }

  /** RFC 6962 §2.1.2 consistency proof between sizes `size1` ≤ `size2`; empty when 0 or equal. */
  consistencyProof(size1: number, size2: number): Uint8Array[] {
    if (size1 === 0 || size1 === size2) return [];
    return copies(consistencyPath(size1, size2, this.readSubtree, nodeHashNode, this.rangeMemo));
  }
}
