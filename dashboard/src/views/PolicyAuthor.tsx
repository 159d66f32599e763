/**
 * Policy authoring in controlled English (docs/policy-language.md): write → Compile (Rego, generated tests and the
 * rule-by-rule explanation side by side, or the refused sentence with line:column and a suggestion) → Replay (what
 * the candidate would flip in the recorded decisions) → Activate (confirm; compiled, checked with the real OPA,
 * built and hot-swapped by the server; the new revision is shown). The server refuses any text that does not
 * compile in full, so nothing partial can be activated from here.
 */
import { useState } from 'react';
import { postJson } from '../api.js';
import { ErrorBox, fmtTime, shortId } from '../components.js';
import type { PolicyInfo } from '../types.js';

const EXAMPLE = 'research agents may call web.search and fs.read.\nresearch agents may not call shell.*.\n';

interface CompileError {
  code: string;
  message: string;
  line: number;
  column: number;
  words: string;
  suggestion: string;
}
interface Compiled {
  rego: string;
  testRego: string;
  explanation: { rule: string; line: number; words: string }[];
  errors: CompileError[];
}
type Flips = { allow_to_deny: number; deny_to_allow: number };
interface Replay {
  revision: string;
  entries: number;
  replayed: number;
  unchanged: number;
  before_policy: number;
  flips: Flips;
  by_agent: Record<string, Flips>;
  by_tool: Record<string, Flips>;
  samples: { index: number; ts: number; sub?: string; tool?: string; path?: string; was: string; now?: string }[];
  not_replayable: { count: number; reason?: string };
  unevaluable: { count: number };
}
interface Activated {
  revision: string;
  tests: string;
  rules: number;
  policy: PolicyInfo;
}

/** The authoring card; `onActivated` gets the policy now in force. */
export function PolicyAuthor({ onActivated }: { onActivated: (i: PolicyInfo) => void }) {
  const [text, setText] = useState(EXAMPLE);
  const [compiled, setCompiled] = useState<Compiled>();
  const [replay, setReplay] = useState<Replay>();
  const [activated, setActivated] = useState<Activated>();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<unknown>();

  const edit = (t: string) => {
    setText(t);
    setCompiled(undefined);
    setReplay(undefined);
    setConfirming(false);
  };
  const run = async (what: string, fn: () => Promise<void>) => {
    setBusy(what);
    setError(undefined);
    try {
      await fn();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(undefined);
    }
  };
  const compile = () =>
    run('compile', async () => {
      setActivated(undefined);
      setCompiled(await postJson<Compiled>('/api/policy/compile', { text }));
    });
  const doReplay = () => run('replay', async () => setReplay(await postJson<Replay>('/api/policy/replay', { text })));
  const activate = () =>
    run('activate', async () => {
      setConfirming(false);
      const a = await postJson<Activated>('/api/policy/activate', { text });
      setActivated(a);
      onActivated(a.policy);
    });
  const ok = compiled !== undefined && compiled.errors.length === 0;

  return (
    <section className="card author" aria-labelledby="author-title">
      <h2 id="author-title">Write a policy in English</h2>
      <p className="hint">
        Controlled English (docs/policy-language.md), one sentence per rule; deny sentences win. A sentence outside the
        grammar is refused as a whole policy.
      </p>
      <textarea
        aria-label="English policy text"
        rows={6}
        spellCheck={false}
        value={text}
        onChange={(e) => edit(e.target.value)}
      />
      <div className="row">
        <button type="button" onClick={compile} disabled={busy !== undefined}>
          {busy === 'compile' ? 'Compiling…' : 'Compile'}
        </button>
        <button type="button" className="secondary" onClick={doReplay} disabled={!ok || busy !== undefined}>
          {busy === 'replay' ? 'Replaying…' : 'Replay'}
        </button>
        {!confirming ? (
          <button type="button" className="secondary" onClick={() => setConfirming(true)} disabled={!ok || !!busy}>
            Activate…
          </button>
        ) : (
          <>
            <span>Replace the policy in force with this one?</span>
            <button type="button" onClick={activate} disabled={busy !== undefined}>
              {busy === 'activate' ? 'Activating…' : 'Confirm activation'}
            </button>
            <button type="button" className="secondary" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </>
        )}
      </div>
      {error !== undefined && <ErrorBox error={error} />}
      {activated && (
        <p className="ok-text" role="status" data-testid="author-activated">
          Active: revision <code>{activated.revision}</code> ({activated.rules} rules; opa test {activated.tests}).
        </p>
      )}
      {compiled && compiled.errors.length > 0 && (
        <div className="state state-error" role="alert" data-testid="author-errors">
          {compiled.errors.map((e) => (
            <p key={`${e.line}:${e.column}`}>
              <strong className="code">
                line {e.line}:{e.column}
              </strong>{' '}
              not understood: “{e.words}”. <span className="code">{e.code}</span>
              <br />
              Try: <q data-testid="author-suggestion">{e.suggestion}</q>
            </p>
          ))}
        </div>
      )}
      {ok && (
        <div className="author-out">
          <div>
            <h3>Explanation</h3>
            <ol data-testid="author-explanation">
              {compiled.explanation.map((e) => (
                <li key={e.rule}>
                  <code>{e.rule}</code> (line {e.line}): {e.words}
                </li>
              ))}
            </ol>
          </div>
          <div>
            <h3>Rego</h3>
            <pre className="source" data-testid="author-rego" tabIndex={0}>
              {compiled.rego}
            </pre>
          </div>
          <div>
            <h3>Tests</h3>
            <pre className="source" data-testid="author-tests" tabIndex={0}>
              {compiled.testRego}
            </pre>
          </div>
        </div>
      )}
      {replay && <ReplayResult r={replay} />}
    </section>
  );
}

function FlipTable({ title, m }: { title: string; m: Record<string, Flips> }) {
  const keys = Object.keys(m).sort();
  if (keys.length === 0) return null;
  return (
    <table>
      <thead>
        <tr>
          <th>{title}</th>
          <th>allow → deny</th>
          <th>deny → allow</th>
        </tr>
      </thead>
      <tbody>
        {keys.map((k) => (
          <tr key={k}>
            <td className="mono">{title === 'Agent' ? shortId(k) : k}</td>
            <td>{m[k]!.allow_to_deny}</td>
            <td>{m[k]!.deny_to_allow}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ReplayResult({ r }: { r: Replay }) {
  return (
    <div data-testid="author-replay">
      <h3>Replay over the recorded decisions</h3>
      <p>
        {r.replayed} of {r.entries} entries replayed: <strong data-testid="flips-a2d">{r.flips.allow_to_deny}</strong>{' '}
        allow → deny, <strong data-testid="flips-d2a">{r.flips.deny_to_allow}</strong> deny → allow, {r.unchanged}{' '}
        unchanged. Not replayable: <strong data-testid="not-replayable">{r.not_replayable.count}</strong>
        {r.not_replayable.reason ? ` (${r.not_replayable.reason})` : ''}. Candidate failed on {r.unevaluable.count};
        decided before the policy step: {r.before_policy}.
      </p>
      <div className="author-out">
        <FlipTable title="Agent" m={r.by_agent} />
        <FlipTable title="Tool" m={r.by_tool} />
      </div>
      {r.samples.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>#</th>
              <th>Time</th>
              <th>Agent</th>
              <th>Tool / path</th>
              <th>Was → now</th>
            </tr>
          </thead>
          <tbody>
            {r.samples.map((s) => (
              <tr key={s.index}>
                <td>{s.index}</td>
                <td>{fmtTime(s.ts)}</td>
                <td className="mono">{s.sub ? shortId(s.sub) : '—'}</td>
                <td className="mono">{s.tool ?? s.path ?? '—'}</td>
                <td>
                  {s.was} → {s.now}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
