/** Settings: log in with the admin token, and pin the checkpoint verifier key proofs are checked against. */
import { type FormEvent, useState } from 'react';
import { api, login, logout } from '../api.js';
import { parseVerifierKey } from '../../../src/ledger/browser.js';
import { ErrorBox } from '../components.js';
import { MeshSettings } from './MeshSettings.js';
import { pinnedVerifierKey, pinVerifierKey } from '../settings.js';

/** Settings: admin login/logout and the pinned verifier key. */
export function SettingsView({ authed, onAuth }: { authed: boolean; onAuth: (ok: boolean) => void }) {
  const [token, setToken] = useState('');
  const [loginError, setLoginError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [key, setKey] = useState(() => pinnedVerifierKey() ?? '');
  const [pinned, setPinned] = useState(() => pinnedVerifierKey());
  const [keyNote, setKeyNote] = useState<string>();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setLoginError(undefined);
    try {
      await login(token.trim());
      setToken('');
      onAuth(true);
    } catch (err) {
      setLoginError(err);
    } finally {
      setBusy(false);
    }
  };

  const savePin = (e: FormEvent) => {
    e.preventDefault();
    const k = key.trim();
    if (k !== '') {
      try {
        parseVerifierKey(k);
      } catch (err) {
        setKeyNote(`Not pinned: ${(err as Error).message}. Expected <name>+<8 hex digits>+<base64 key>.`);
        return;
      }
    }
    pinVerifierKey(k);
    setPinned(k === '' ? undefined : k);
    setKeyNote(k === '' ? 'Unpinned.' : 'Pinned in this browser.');
  };

  const fetchServerKey = async () => {
    try {
      const r = await api<{ key: string }>('/api/verifier-key');
      setKey(r.key);
      setKeyNote(
        'Filled in the key this server reports. Compare it with `sigil audit checkpoint` output from a machine you trust before saving: a pin only helps if it did not come from the server you are checking.',
      );
    } catch (err) {
      setKeyNote(`Could not fetch the key: ${(err as Error).message}`);
    }
  };

  return (
    <div className="settings">
      <section className="card">
        <h2>Admin access</h2>
        {authed ? (
          <>
            <p>Logged in for this browser tab. The token is kept in session storage and sent only to this server.</p>
            <button
              type="button"
              onClick={() => {
                void logout().then(() => onAuth(false));
              }}
            >
              Log out
            </button>
          </>
        ) : (
          <form onSubmit={submit}>
            <p>
              Paste the admin token: <code>sigil.admin.token</code> from the config, or the one <code>sigil serve</code>{' '}
              printed when it started.
            </p>
            <label htmlFor="admin-token">Admin token</label>
            <div className="row">
              <input
                id="admin-token"
                type="password"
                autoComplete="off"
                spellCheck={false}
                value={token}
                onChange={(e) => setToken(e.target.value)}
                className="grow"
              />
              <button type="submit" disabled={busy || token.trim().length === 0}>
                {busy ? 'Checking…' : 'Log in'}
              </button>
            </div>
            {loginError !== undefined && <ErrorBox error={loginError} />}
          </form>
        )}
      </section>
      <section className="card">
        <h2>Pinned checkpoint verifier key</h2>
        <p>
          The audit timeline checks inclusion proofs and signed checkpoints in this browser against this key, so a
          compromised server cannot fake them. Get it out of band, e.g. <code>sigil audit checkpoint</code> on the host.
        </p>
        <p>
          Currently pinned:{' '}
          {pinned ? <code data-testid="pinned-key">{pinned}</code> : <em>none — proof checks will say so</em>}
        </p>
        <form onSubmit={savePin}>
          <label htmlFor="verifier-key">Verifier key</label>
          <div className="row">
            <input
              id="verifier-key"
              spellCheck={false}
              autoComplete="off"
              value={key}
              placeholder="sigil.mesh/sigil/audit+1a2b3c4d+AQ…"
              onChange={(e) => setKey(e.target.value)}
              className="grow mono"
            />
            <button type="submit">Pin key</button>
          </div>
          {authed && (
            <button type="button" className="secondary" onClick={() => void fetchServerKey()}>
              Fill in the server's key
            </button>
          )}
          {keyNote && (
            <p className="hint" role="status">
              {keyNote}
            </p>
          )}
        </form>
      </section>
      <MeshSettings />
    </div>
  );
}
