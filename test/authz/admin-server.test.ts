/** The admin HTTP server alone: readiness follows its probe, handlers mount in order, a throwing handler is a 500. */
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/admin/metrics.js';
import { startAdminServer } from '../../src/admin/server.js';

describe('admin server', () => {
  it('/ready is 503 until the probe says ready; /metrics uses the instance registry; handlers in order', async () => {
    let ready = false;
    const m1 = createMetrics({ processMetrics: false, ledgerSize: () => 42 });
    const m2 = createMetrics({ processMetrics: false });
    m1.decisions.inc({ result: 'deny', code: 'AUTHZ_NO_TOKEN' });
    const admin = await startAdminServer({
      listen: '127.0.0.1:0',
      registry: m1.registry,
      isReady: () => ready,
    });
    try {
      const r1 = await fetch(`${admin.url}/ready`);
      expect([r1.status, await r1.json()]).toEqual([503, { ready: false }]);
      ready = true;
      expect((await fetch(`${admin.url}/ready`)).status).toBe(200);
      const text = await (await fetch(`${admin.url}/metrics`)).text();
      expect(text).toContain('sigil_decisions_total{result="deny",code="AUTHZ_NO_TOKEN"} 1');
      expect(text).toContain('sigil_ledger_entries 42');
      // A second instance's registry is independent.
      expect(await m2.registry.metrics()).not.toContain('AUTHZ_NO_TOKEN');

      admin.mount((req, res) => {
        if (req.url !== '/a') return false;
        res.end('first');
        return true;
      });
      admin.mount((req, res) => {
        if (!req.url?.startsWith('/a') && req.url !== '/boom') return false;
        if (req.url === '/boom') throw new Error('handler bug');
        res.end('second');
        return true;
      });
      expect(await (await fetch(`${admin.url}/a`)).text()).toBe('first');
      expect(await (await fetch(`${admin.url}/ab`)).text()).toBe('second');
      const boom = await fetch(`${admin.url}/boom`);
      expect([boom.status, ((await boom.json()) as { code: string }).code]).toEqual([500, 'ADMIN_INTERNAL']);
      expect((await fetch(`${admin.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${admin.url}/missing`)).status).toBe(404);
    } finally {
      await admin.close();
    }
  });
});
