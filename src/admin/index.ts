/** Admin HTTP server (metrics, health, readiness), SIGIL's Prometheus metrics and the dashboard API (./api/). */

export { type AdminApiHandler, type AdminApiOptions, createAdminApi } from './api/create-admin-api.js';
export { createMetrics, type MetricsOptions, type SigilMetrics } from './metrics.js';
export { type AdminHandler, type AdminServer, type AdminServerOptions, startAdminServer } from './server.js';
