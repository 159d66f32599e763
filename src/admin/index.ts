/** Admin HTTP server (metrics, health, readiness) and SIGIL's Prometheus metrics. The dashboard API is in ./api/. */

export { createMetrics, type MetricsOptions, type SigilMetrics } from './metrics.js';
export { type AdminHandler, type AdminServer, type AdminServerOptions, startAdminServer } from './server.js';
