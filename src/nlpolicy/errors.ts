/** The nlpolicy module's error type and its stable codes (docs/policy-language.md §5). */
import { GrpcStatus, SigilError } from '../lib/errors.js';

/** Every stable code the controlled-English compiler can raise. */
export const NLPOLICY_ERROR_CODES = [
  /** A sentence is outside the grammar. */
  'NLPOLICY_UNSUPPORTED_SENTENCE',
  /** A value in a supported position is invalid (tool, SPIFFE ID, time, zone, day, size, method, path, status). */
  'NLPOLICY_INVALID_VALUE',
  /** A sentence's conditions exclude each other (no request could meet them all). */
  'NLPOLICY_CONTRADICTION',
  /** The body limit or the deny status is set twice. */
  'NLPOLICY_DUPLICATE_SETTING',
  /** The text holds no sentence. */
  'NLPOLICY_EMPTY',
  /** `sigil policy compile --check`: `opa check --strict` or `opa test` failed on the generated Rego (or opa is missing). */
  'NLPOLICY_CHECK_FAILED',
] as const;

/** One of {@link NLPOLICY_ERROR_CODES}. */
export type NlPolicyErrorCode = (typeof NLPOLICY_ERROR_CODES)[number];

/** Where and why a sentence was refused. */
export interface NlPolicyErrorDetail {
  /** 1-based line of the first word not understood (or of the sentence). */
  line: number;
  /** 1-based column of that word. */
  column: number;
  /** The words quoted in the message: from the first word not understood to the end of the sentence. */
  words: string;
  /** The whole sentence, as written (whitespace collapsed). */
  sentence: string;
  /** The nearest supported phrasing. */
  suggestion: string;
}

/** A refused policy text; nothing was compiled. */
export class NlPolicyError extends SigilError<NlPolicyErrorCode> {
  readonly line: number;
  readonly column: number;
  readonly words: string;
  readonly sentence: string;
  readonly suggestion: string;

  constructor(code: NlPolicyErrorCode, message: string, detail: NlPolicyErrorDetail) {
    super(code, message, { grpc: GrpcStatus.INVALID_ARGUMENT, http: 400 });
    this.line = detail.line;
    this.column = detail.column;
    this.words = detail.words;
    this.sentence = detail.sentence;
    this.suggestion = detail.suggestion;
  }
}
