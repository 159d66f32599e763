/** The command groups, in help order. Each module exports `register(program: Command): void`. */
import type { Command } from 'commander';
import { register as registerAudit } from './audit.js';
import { register as registerDelegate } from './delegate.js';
import { register as registerDemo } from './demo.js';
import { register as registerInspect } from './inspect.js';
import { register as registerKeys } from './keys.js';
import { register as registerMint } from './mint.js';
import { register as registerPolicy } from './policy.js';
import { register as registerRevoke } from './revoke.js';
import { register as registerServe } from './serve.js';
import { register as registerVerify } from './verify.js';

/** Registers one command group on the program. */
export type Register = (program: Command) => void;

export const commands: Register[] = [
  registerServe,
  registerDemo,
  registerKeys,
  registerMint,
  registerDelegate,
  registerVerify,
  registerInspect,
  registerRevoke,
  registerAudit,
  registerPolicy,
];
