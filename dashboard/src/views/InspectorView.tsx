/**
 * Token inspector: paste a TBIT, see every hop and what it narrowed, and the verification result with the exact
 * stable error code. The token goes only to this server's /api/verify-token (CSP connect-src 'self'); it is not
 * stored anywhere in the browser.
 */
import { type FormEvent, useState } from 'react';
import { postJson } from '../api.js';
import { ErrorBox, fmtNumericDate, shortId } from '../components.js';
import type { TokenInspection } from '../types.js';

/** The token inspector view. */
export function InspectorView() {
  const [token, setToken] = useState('');
  const [result, setResult] = useState<TokenInspection>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const inspect = async (e?: FormEvent) => {
    e?.preventDefault();
    setBusy(true);
    setError(undefined);
    setResult(undefined);
    try {
      setResult(await postJson<TokenInspection>('/api/verify-token', { token: token.trim() }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="inspector">
      <form className="card" onSubmit={inspect}>
        <label htmlFor="tbit">Task-Bound Identity Token</label>
        <textarea
          id="tbit"
          rows={5}
          spellCheck={false}
          autoComplete="off"
          className="mono"
          placeholder="Paste a TBIT (the whole chain, as sent in Authorization: Bearer …)"
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        <div className="row">
          <button type="submit" disabled={busy || token.trim() === ''}>
            {busy ? 'Verifying…' : 'Inspect'}
          </button>
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setToken('');
              setResult(undefined);
              setError(undefined);
            }}
          >
            Clear
          </button>
          <span className="hint">Sent only to this SIGIL's verify endpoint; never stored.</span>
        </div>
      </form>
      {error !== undefined && <ErrorBox error={error} retry={() => void inspect()} />}
      {result && <InspectionResult r={result} />}
      {!result && error === undefined && !busy && (
        <div className="state state-empty">
          Paste a token above and press Inspect. Get one with <code>sigil mint</code> or <code>sigil delegate</code>.
        </div>
      )}
    </div>
  );
}

function InspectionResult({ r }: { r: TokenInspection }) {
  return (
    <section className="card">
      <div className={r.valid ? 'verdict ok' : 'verdict bad'} data-testid="inspect-verdict" role="status">
        {r.valid ? (
          <>
            <strong>Valid chain</strong> · depth {r.hops.length}
          </>
        ) : (
          <>
            <strong>Invalid</strong> <code className="code" data-testid="inspect-code">{r.code}</code>
            {r.hop !== undefined && <span> at hop {r.hop + 1}</span>}
            {r.error && <div className="reason">{r.error.replace(/^hop \d+: /, '')}</div>}
          </>
        )}
      </div>
      {r.hops.length === 0 ? (
        <p className="hint">The token could not be decoded into hops.</p>
      ) : (
        <div className="table-wrap">
          <table className="hops">
            <caption>Hops, root first (decoded; the verdict above says whether they verified)</caption>
            <thead>
              <tr>
                <th>#</th>
                <th>sub (holder)</th>
                <th>iss</th>
                <th>tool_scope</th>
                <th>exp</th>
                <th>narrowed</th>
              </tr>
            </thead>
            <tbody>
              {r.hops.map((h, i) => (
                <tr key={h.jti || i} className={r.hop === i ? 'bad-row' : undefined}>
                  <td>{h.dep}</td>
                  <td title={h.sub}>{shortId(h.sub)}</td>
                  <td title={h.iss}>{shortId(h.iss)}</td>
                  <td className="mono">{h.tool_scope.join(', ')}</td>
                  <td>{fmtNumericDate(h.exp)}</td>
                  <td>{h.narrowed.length ? h.narrowed.join('; ') : i === 0 ? 'root' : 'nothing'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {r.hops[0] && (
        <p className="hint">
          task <code>{r.hops[0].task_id}</code>
        </p>
      )}
    </section>
  );
}
