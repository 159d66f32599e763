/** The admin API the dashboard talks to; mounted by src/admin/server.ts. */

export { adminLedger } from './admin-ledger.js';
export { type AdminPolicyOptions, adminPolicy } from './admin-policy.js';
export { adminTokens, type InspectOptions } from './admin-tokens.js';
export { type AdminApiHandler, createAdminApi } from './create-admin-api.js';
export { type DashboardApiOptions, dashboardApi } from './dashboard-api.js';
export type {
  AdminApiDeps,
  AdminLedger,
  AdminPolicy,
  AdminTokens,
  CheckpointNote,
  DecisionEntry,
  DecisionFilter,
  InspectedHop,
  PolicyInfo,
  TokenInspection,
} from './deps.js';
export { AdminApiError, type AdminApiErrorCode } from './errors.js';
export { buildGraph, type GraphData, type GraphEdge, type GraphNode } from './lib/graph.js';
