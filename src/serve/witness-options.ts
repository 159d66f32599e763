/**
 * `sigil.audit.witnesses`, `sigil.audit.witness_policy` and `sigil.witness` → the witness client, the
 * tlog-witness endpoint and the witness routes on the admin server (docs/witness.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AdminServer } from '../admin/index.js';
import type { SigilConfig } from '../config/index.js';
import type { MerkleLog } from '../ledger/index.js';
import { isSigilError } from '../lib/errors.js';
import {
  loadOrCreateCosigner,
  WitnessClient,
  WitnessService,
  witnessHandler,
  witnessMetrics,
  witnessRoutes,
} from '../witness/index.js';
import { rollbackAccepted } from '../witness/reset.js';
import { adminTokenPath } from './dashboard-options.js';

/** The running witness parts of `sigil serve`. */
export interface Witnessing {
  client?: WitnessClient;
  service?: WitnessService;
  close(): Promise<void>;
}

/** `<data_dir>/witness`: cosigner key, witnessed logs, the client's cosignatures, rollback acceptance. */
export const witnessDir = (config: SigilConfig) => join(config.data_dir, 'witness');

/** k of the policy: `witness_policy.k`, default a majority of the configured witnesses. */
export const witnessK = (config: SigilConfig) =>
  config.audit.witness_policy.k ?? Math.floor(config.audit.witnesses.length / 2) + 1;

/**
 * Starts witnessing. The witness endpoint is mounted first (sidecars that witness each other ask each other
 * at start-up); then the client checks the local log against what its witnesses cosigned and, on a rollback
 * or fork, fails start-up with `WITNESS_ROLLBACK` unless the operator accepted it (fail closed).
 */
export async function startWitnessing(
  config: SigilConfig,
  d: { log: MerkleLog; registry: Registry; logger: Logger; admin: AdminServer },
): Promise<Witnessing> {
  const dir = witnessDir(config);
  const enabled = config.witness.name !== undefined || config.audit.witnesses.length > 0;
  if (!enabled) return { close: async () => undefined };
  const metrics = witnessMetrics(d.registry);
  let service: WitnessService | undefined;
  if (config.witness.name !== undefined) {
    const cosigner = loadOrCreateCosigner(join(dir, 'cosigner.jwk'), config.witness.name);
    service = new WitnessService({
      cosigner,
      logs: config.witness.logs.map((l) => ({ origin: l.origin, keys: [l.key] })),
      stateFile: join(dir, 'witnessed.json'),
      onRefused: (origin, code, status, message) => {
        metrics.refused.inc({ origin, status: String(status) });
        d.logger.warn({ origin, code, status, reason: message }, 'witness refused a checkpoint');
      },
    });
    d.admin.mount(witnessHandler(service));
    d.logger.info({ url: `${d.admin.url}/witness`, vkey: cosigner.vkey }, 'tlog-witness endpoint ready');
  }
  if (config.audit.witnesses.length === 0) return { service, close: async () => undefined };
  const client = new WitnessClient({
    log: d.log,
    witnesses: config.audit.witnesses,
    k: witnessK(config),
    stateFile: join(dir, 'client.json'),
    metrics,
    onAlarm: (witness, alarm) => {
      if (alarm) d.logger.error({ witness, reason: alarm.reason, detail: alarm.message }, 'witness alarm');
      else d.logger.info({ witness }, 'witness alarm cleared');
    },
  });
  try {
    const first = await client.checkStartup();
    if (!first.policyMet)
      d.logger.warn(
        { cosigners: first.cosigners, k: witnessK(config) },
        'checkpoint below the witness policy',
      );
  } catch (e) {
    const origin = d.log.checkpoints.verifierKey.split('+', 1)[0] as string;
    const accepted = isSigilError(e, 'WITNESS_ROLLBACK') ? rollbackAccepted(dir, origin) : undefined;
    if (!accepted) {
      await client.close();
      throw e;
    }
    d.logger.error(
      { err: e, accepted },
      'witnesses report a rollback the operator accepted: serving, alarms stay raised',
    );
  }
  client.every(1);
  d.admin.mount(
    witnessRoutes({
      client,
      log: d.log,
      adminToken: () => config.admin.token ?? readFileSync(adminTokenPath(config.data_dir), 'utf8').trim(),
    }),
  );
  return { client, service, close: () => client.close() };
}
