// @iap/infra: starting the servers the engine stands on (dev stack, Temporal cluster, tests).
export * from './demo.js';
export * from './postgres.js';
export * from './processes.js';
export * from './temporal-server.js';
export * from './cluster.js';
