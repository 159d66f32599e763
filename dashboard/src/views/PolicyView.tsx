/**
 * Policy view/editor: the loaded bundle, authoring in controlled English (PolicyAuthor), its Rego sources when the bundle carries them, an evaluator that runs a
 * sample input through the same path as Check, and a bundle upload that goes through hot-reload validation.
 */
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { api, postJson } from '../api.js';
import { Empty, ErrorBox, fmtTime, Loading } from '../components.js';
import { diffLines } from '../diff.js';
import type { PolicyInfo } from '../types.js';
import { PolicyAuthor } from './PolicyAuthor.js';

/** A PolicyContext as the Check path builds it: the decoded CheckRequest plus the verified-chain summary. */
const SAMPLE_INPUT = JSON.stringify(
  {
    checkRequest: {
      attributes: {
        request: {
          http: {
            method: 'POST',
            path: '/tools/fs.read',
            host: 'agent.local',
            headers: { ':method': 'POST', ':path': '/tools/fs.read', ':authority': 'agent.local' },
          },
        },
      },
    },
    sigil: {
      valid: true,
      code: 'OK',
      sub: 'spiffe://sigil.mesh/agent/reviewer/1',
      task_id: 'task-1',
      tool: 'fs.read',
      tools: ['fs.read'],
      tool_scope: ['fs.read'],
      depth: 3,
      hops: [],
    },
  },
  null,
  2,
);

/** The policy view: bundle facts, sources, evaluator and upload. */
export function PolicyView() {
  const [info, setInfo] = useState<PolicyInfo>();
  const [error, setError] = useState<unknown>();
  const [file, setFile] = useState<string>();

  const load = useCallback(() => {
    setError(undefined);
    api<PolicyInfo>('/api/policy')
      .then((i) => {
        setInfo(i);
        setFile((f) => f ?? Object.keys(i.sources ?? {})[0]);
      })
      .catch(setError);
  }, []);
  useEffect(load, [load]);

  if (error !== undefined) return <ErrorBox error={error} retry={load} />;
  if (!info) return <Loading what="the policy" />;
  if (info.builtin)
    return (
      <div className="policy">
        <section className="card" data-testid="policy-builtin">
          <h2>Built-in policy in force</h2>
          <p>
            No policy bundle is configured (<code>sigil.policy.bundle</code>), so the built-in policy decides: a request
            is allowed when its token chain verifies and the tool is within the leaf&apos;s scope (docs/authz.md). Build
            a bundle with <code>sigil policy build</code> and configure it to see its Rego, evaluate and replay here.
          </p>
        </section>
      </div>
    );
  const sources = info.sources ?? {};
  const names = Object.keys(sources);

  return (
    <div className="policy">
      <section className="card">
        <h2>Loaded bundle</h2>
        <dl className="facts">
          <dt>Revision</dt>
          <dd className="mono" data-testid="policy-revision">
            {info.revision ?? 'none loaded'}
          </dd>
          <dt>Entrypoint</dt>
          <dd className="mono">{info.entrypoint}</dd>
          <dt>Source</dt>
          <dd className="mono">{info.source}</dd>
          <dt>Loaded</dt>
          <dd>{info.loadedAt ? fmtTime(info.loadedAt) : '—'}</dd>
          <dt>Last error</dt>
          <dd>
            {info.lastError ? (
              <span className="bad-text">
                <code>{info.lastError.code}</code> {info.lastError.message} ({fmtTime(info.lastError.at)}; the previous
                bundle stays in force)
              </span>
            ) : (
              'none'
            )}
          </dd>
        </dl>
      </section>
      <PolicyAuthor onActivated={(i) => setInfo(i)} />
      <div className="split">
        <section className="card">
          <h2>Rego sources</h2>
          {names.length === 0 ? (
            <Empty>
              This bundle carries no Rego sources (only the compiled Wasm). Build it with <code>sigil policy build</code>{' '}
              from a folder of .rego files to see them here.
            </Empty>
          ) : (
            <>
              <label htmlFor="rego-file">File</label>
              <select id="rego-file" value={file} onChange={(e) => setFile(e.target.value)}>
                {names.map((n) => (
                  <option key={n}>{n}</option>
                ))}
              </select>
              <pre className="source" tabIndex={0}>
                {file ? sources[file] : ''}
              </pre>
              {info.sourcesFull ? (
                <p className="hint" data-testid="sources-full">
                  The Rego this bundle was built from (shipped in it by <code>sigil policy build</code>).
                </p>
              ) : (
                <p className="hint" data-testid="sources-stubs">
                  As stored in the bundle: it was not built by <code>sigil policy build</code>, and{' '}
                  <code>opa build -t wasm</code> keeps only a stub of each module (package and imports); the rules
                  themselves are compiled into <code>policy.wasm</code>. Rebuild it with <code>sigil policy build</code>{' '}
                  to see them.
                </p>
              )}
            </>
          )}
          {names.length > 0 && <Diff current={sources} />}
        </section>
        <div className="stack">
          <Evaluator />
          <Upload onLoaded={(i) => setInfo(i)} />
        </div>
      </div>
    </div>
  );
}

function Evaluator() {
  const [input, setInput] = useState(SAMPLE_INPUT);
  const [result, setResult] = useState<unknown>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const run = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setResult(undefined);
    let doc: unknown;
    try {
      doc = JSON.parse(input);
    } catch (err) {
      setError(new Error(`The input is not valid JSON: ${(err as Error).message}`));
      return;
    }
    setBusy(true);
    try {
      setResult((await postJson<{ result: unknown }>('/api/policy/eval', { input: doc })).result);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" onSubmit={run}>
      <h2>Evaluate an input</h2>
      <label htmlFor="policy-input">
        Input: <code>checkRequest</code> (decoded CheckRequest) and <code>sigil</code> (chain summary), evaluated
        like a Check
      </label>
      <textarea
        id="policy-input"
        rows={12}
        className="mono"
        spellCheck={false}
        value={input}
        onChange={(e) => setInput(e.target.value)}
      />
      <div className="row">
        <button type="submit" disabled={busy}>
          {busy ? 'Evaluating…' : 'Evaluate'}
        </button>
        <button type="button" className="secondary" onClick={() => setInput(SAMPLE_INPUT)}>
          Reset sample
        </button>
      </div>
      {error !== undefined && <ErrorBox error={error} />}
      {result !== undefined && (
        <pre className="result mono" data-testid="policy-result" tabIndex={0}>
          {JSON.stringify(result, null, 2)}
        </pre>
      )}
    </form>
  );
}

function Upload({ onLoaded }: { onLoaded: (i: PolicyInfo) => void }) {
  const [file, setFile] = useState<File>();
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const [busy, setBusy] = useState(false);

  const send = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      const info = await api<PolicyInfo>('/api/policy/bundle', {
        method: 'POST',
        headers: { 'content-type': 'application/gzip' },
        body: await file.arrayBuffer(),
      });
      onLoaded(info);
      setDone(`Loaded revision ${info.revision ?? '?'}.`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" onSubmit={send}>
      <h2>Upload a bundle</h2>
      <p className="hint">
        A <code>bundle.tar.gz</code> from <code>opa build -t wasm</code>. It goes through the same checks as hot reload;
        a refused bundle leaves the current one in force.
      </p>
      <div className="row">
        <input
          aria-label="Bundle file"
          type="file"
          accept=".gz,.tgz,application/gzip"
          onChange={(e) => setFile(e.target.files?.[0])}
        />
        <button type="submit" disabled={!file || busy}>
          {busy ? 'Uploading…' : 'Upload'}
        </button>
      </div>
      {error !== undefined && <ErrorBox error={error} />}
      {done && (
        <p className="ok-text" role="status">
          {done}
        </p>
      )}
    </form>
  );
}

/** Diff of a file in force against a candidate text (pasted, or read from a .rego file picked here). */
function Diff({ current }: { current: Record<string, string> }) {
  const names = Object.keys(current);
  const [file, setFile] = useState(names[0] ?? '');
  const [candidate, setCandidate] = useState('');
  const [shown, setShown] = useState<{ file: string; text: string }>();
  const lines = shown ? diffLines(current[shown.file] ?? '', shown.text) : [];
  const changed = lines.filter((l) => l.op !== ' ').length;
  return (
    <form
      className="diff"
      aria-label="Diff against a candidate"
      onSubmit={(e) => {
        e.preventDefault();
        setShown({ file, text: candidate });
      }}
    >
      <h3>Diff against a candidate</h3>
      <label htmlFor="diff-file">File in force</label>
      <select id="diff-file" value={file} onChange={(e) => setFile(e.target.value)}>
        {names.map((n) => (
          <option key={n}>{n}</option>
        ))}
      </select>
      <label htmlFor="diff-candidate">Candidate Rego (paste, or pick a .rego file)</label>
      <textarea id="diff-candidate" className="mono" rows={8} value={candidate} onChange={(e) => setCandidate(e.target.value)} />
      <input
        type="file"
        accept=".rego,text/plain"
        aria-label="Candidate .rego file"
        onChange={(e) => {
          const f = e.target.files?.[0];
          if (f) void f.text().then(setCandidate);
        }}
      />
      <button type="submit">Show diff</button>
      {shown && (
        <>
          <p className="hint" data-testid="diff-summary">
            {changed === 0
              ? 'No differences.'
              : `${changed} changed line${changed === 1 ? '' : 's'} (− in force, + candidate).`}
          </p>
          <pre className="source diff-out" data-testid="diff" tabIndex={0}>
            {lines.map((l, i) => (
              <div key={i} className={l.op === '+' ? 'diff-add' : l.op === '-' ? 'diff-del' : ''}>
                {l.op} {l.text}
              </div>
            ))}
          </pre>
        </>
      )}
    </form>
  );
}
