/** The admin API the dashboard talks to; mounted on the admin server (src/admin/server.ts) by src/serve. */

export { type AdminApiHandler, type AdminApiOptions, createAdminApi } from './create-admin-api.js';
