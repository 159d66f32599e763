/** Settings card of the Mesh view: the collector's URL, its token, and the pinned witness policy. */
import { type FormEvent, useState } from 'react';
import { meshSettings, saveMeshSettings } from '../mesh.js';

/** The mesh collector settings form. */
export function MeshSettings() {
  const [s, setS] = useState(meshSettings);
  const [note, setNote] = useState<string>();
  const save = (e: FormEvent) => {
    e.preventDefault();
    try {
      saveMeshSettings(s);
      setNote('Saved in this browser.');
    } catch (err) {
      setNote(`Not saved: ${(err as Error).message}`);
    }
  };
  return (
    <section className="card">
      <h2>Mesh collector</h2>
      <form onSubmit={save}>
        <p>
          The Mesh view asks a collector (<code>sigil audit collect --serve</code>) and verifies every answer here
          against this policy (<a href="https://c2sp.org/tlog-policy">c2sp.org/tlog-policy</a>: its <code>log</code>{' '}
          lines pin the sidecars' log keys). The dashboard's server must list the collector's origin in{' '}
          <code>sigil.admin.connect_src</code>.
        </p>
        <label htmlFor="mesh-url">Collector URL</label>
        <input
          id="mesh-url"
          className="grow mono"
          value={s.url}
          onChange={(e) => setS({ ...s, url: e.target.value })}
          placeholder="http://127.0.0.1:9290"
        />
        <label htmlFor="mesh-token">Collector token</label>
        <input
          id="mesh-token"
          type="password"
          className="grow mono"
          value={s.token}
          onChange={(e) => setS({ ...s, token: e.target.value })}
        />
        <label htmlFor="mesh-policy">Witness policy</label>
        <textarea
          id="mesh-policy"
          className="mono"
          rows={6}
          value={s.policy}
          onChange={(e) => setS({ ...s, policy: e.target.value })}
        />
        <button type="submit">Save mesh settings</button>
        {note && (
          <p className="hint" role="status">
            {note}
          </p>
        )}
      </form>
    </section>
  );
}
