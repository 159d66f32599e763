/** The parsed form of a controlled-English policy (docs/policy-language.md §2–3). */

/** Who an agent reference matches, by the holder's SPIFFE ID. */
export type AgentMatch =
  | { kind: 'any-agent' }
  | { kind: 'type'; type: string }
  | { kind: 'id'; id: string }
  | { kind: 'prefix'; prefix: string }
  | { kind: 'domain'; domain: string };

/** Which task a subject is working on. */
export type TaskMatch = { kind: 'task'; id: string } | { kind: 'task-prefix'; prefix: string };

/** The subject of a rule: everyone, or an agent and/or a task. */
export interface Subject {
  anyone: boolean;
  agent?: AgentMatch;
  task?: TaskMatch;
}

/** What the subject does. */
export type Action =
  | { kind: 'tools'; tools: string[] }
  | { kind: 'route'; methods: string[] | 'any'; path: string; subtree: boolean }
  | { kind: 'anything' };

/** Comparison used by depth and body conditions. */
export type Op = '<=' | '<' | '>=' | '>';

/** A condition that must hold for the rule to match. */
export type Condition =
  | { kind: 'depth'; op: Op; n: number }
  | { kind: 'delegated-by'; agent: AgentMatch }
  | { kind: 'chain-includes'; agent: AgentMatch; negated: boolean }
  | { kind: 'body'; op: '<=' | '>'; bytes: number }
  | { kind: 'time'; zone: string; days?: string[]; from?: number; to?: number };

/** An allow or deny rule (the body limit is a deny rule on `anyone … do anything`). */
export interface RuleSentence {
  kind: 'rule';
  /** Rule name: `s<N>`, `s<N>b` for the `never` half of a compound sentence. */
  id: string;
  effect: 'allow' | 'deny';
  subject: Subject;
  action: Action;
  conditions: Condition[];
  /** The sentence's words, whitespace collapsed. */
  words: string;
  line: number;
  /** Set on the body-limit sentence (a policy-wide setting, given at most once). */
  setting?: 'body-limit';
}

/** `denied requests get status N [and message "…"]`. */
export interface StatusSentence {
  kind: 'status';
  id: string;
  status: number;
  message?: string;
  words: string;
  line: number;
}

/** One compiled sentence. */
export type Sentence = RuleSentence | StatusSentence;

/** Weekdays in `time.weekday`'s spelling. */
export const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;
