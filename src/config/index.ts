/** Configuration: schema, loading and derived values. */
export { configSchema, type SigilConfig } from './schema.js';
export { ConfigError, type ConfigErrorCode, issuerId, loadConfig, type LoadConfigOptions } from './load.js';
