/** Configuration: schema, loading and derived values. */

export { ConfigError, type ConfigErrorCode, type LoadConfigOptions, loadConfig } from './load.js';
export type { SigilConfig } from './schema.js';
