/**
 * Mesh view (docs/dashboard.md §Mesh): "where was the authority of task T used, by whom, allowed or denied",
 * across the sidecars a mesh collector polls; each answer's proof and witness quorum verified in this browser.
 */
import { type FormEvent, useState } from 'react';
import { ErrorBox, Empty, fmtTime, Loading, useTimeZone } from '../components.js';
import { askMesh, type MeshAnswer, meshSettings } from '../mesh.js';

/** The Mesh tab: a task search over the collector and the verified answers. */
export function MeshView() {
  const [task, setTask] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [answer, setAnswer] = useState<MeshAnswer>();
  const [tz] = useTimeZone();
  const configured = meshSettings().url !== '';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (task.trim() === '') return;
    setBusy(true);
    setError(undefined);
    // Never leave the previous task's rows on screen while the new answer is verified.
    setAnswer(undefined);
    try {
      setAnswer(await askMesh(task.trim()));
    } catch (err) {
      setAnswer(undefined);
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="mesh">
      <form onSubmit={submit} className="row">
        <label htmlFor="mesh-task">Task</label>
        <input
          id="mesh-task"
          value={task}
          onChange={(e) => setTask(e.target.value)}
          placeholder="task_id"
          className="grow mono"
        />
        <button type="submit" disabled={busy}>
          Ask the mesh
        </button>
      </form>
      {!configured && <p className="hint">Set the mesh collector's URL and witness policy under Settings.</p>}
      {busy && <Loading what="answers from the mesh" />}
      {error !== undefined && <ErrorBox error={error} />}
      {answer && answer.rows.length === 0 && <Empty>No sidecar reports a use of task {answer.task}.</Empty>}
      {answer && answer.rows.length > 0 && (
        <table className="table" data-testid="mesh-table">
          <thead>
            <tr>
              <th>Time</th>
              <th>Sidecar (log)</th>
              <th>Decision</th>
              <th>Agent</th>
              <th>Tool</th>
              <th>Proof</th>
              <th>Witnesses</th>
            </tr>
          </thead>
          <tbody>
            {answer.rows.map((r) => (
              <tr
                key={`${r.sidecar}/${r.index}`}
                data-testid="mesh-row"
                data-sidecar={r.sidecar}
                data-proof={r.proof ? 'ok' : 'failed'}
                data-policy={r.policyMet ? 'met' : 'unmet'}
              >
                <td className="nowrap">{fmtTime(r.record.ts, tz)}</td>
                <td title={r.origin}>
                  {r.sidecar} <span className="muted mono">#{r.index}</span>
                </td>
                <td>
                  <span className={r.record.decision === 'allow' ? 'pill allow' : 'pill deny'}>{r.record.decision}</span>
                </td>
                <td className="mono">{r.record.sub ?? '—'}</td>
                <td className="mono">{r.record.tool ?? '—'}</td>
                <td title={r.failure ?? 'log signature (pinned key) and inclusion verified in this browser'}>
                  {r.proof ? '✓ verified' : `✗ failed${r.failure ? ` (${r.failure.split(':', 1)[0]})` : ''}`}
                </td>
                <td title={r.cosigners.join(', ')}>
                  {r.policyMet ? `✓ ${r.cosigners.length} cosigned` : '✗ policy not met'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {answer && answer.pending.length > 0 && (
        <p className="hint">
          Not yet cosigned (no proof yet): {answer.pending.map((p) => `${p.sidecar} #${p.index}`).join(', ')}
        </p>
      )}
      {answer?.errors.map((e) => (
        <p key={e.sidecar} className="hint" role="alert" data-testid="mesh-error">
          {e.sidecar}: {e.code} — {e.message}
        </p>
      ))}
    </div>
  );
}
