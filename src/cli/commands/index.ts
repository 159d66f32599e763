/** The command groups, in help order. Each module exports `register(program: Command): void`. */
import type { Command } from 'commander';

/** Registers one command group on the program. */
export type Register = (program: Command) => void;

export const commands: Register[] = [];
