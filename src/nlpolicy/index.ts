/**
 * Controlled English → Rego (docs/policy-language.md): the offline, deterministic compiler behind
 * `sigil policy compile`, and `explainPolicy` behind `sigil policy explain`.
 */

export { buildCompiledBundle, checkCompiled } from './check-compiled.js';
export {
  type Action,
  type AgentMatch,
  type CompiledPolicy,
  type CompileOptions,
  type Condition,
  compilePolicy,
  type ExplanationEntry,
  type RuleSentence,
  type Sentence,
  type StatusSentence,
  type Subject,
} from './compile-policy.js';
export {
  NLPOLICY_ERROR_CODES,
  NlPolicyError,
  type NlPolicyErrorCode,
  type NlPolicyErrorDetail,
} from './errors.js';
export { explainPolicy } from './explain-policy.js';
export { decide, ruleMatches } from './lib/decide.js';
export { inputDocument, type SampleRequest } from './lib/requests.js';
export { type RuleCase, ruleCases } from './lib/test-rego.js';
