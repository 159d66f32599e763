/** What the witness client reads of the local ledger (the `MerkleLog` public API fits it). */
export { b64decode, b64encode } from '../../ledger/browser.js';

/** A signed checkpoint of the local log. */
export interface SignedCheckpointLike {
  size: number;
  root: Uint8Array;
  note: string;
}

/** The local log: size, roots, consistency proofs and its checkpoints. */
export interface WitnessedLog {
  readonly size: number;
  root(size: number): Uint8Array;
  consistencyProof(size1: number, size2: number): Uint8Array[];
  readonly checkpoints: {
    readonly verifierKey: string;
    make(): Promise<SignedCheckpointLike>;
    latest(): SignedCheckpointLike | undefined;
  };
}
