// Auditing the event log: histories and as-of states, chain verification, signed checkpoints, exports.
export * from './chain.js';
export * from './checkpoint-key.js';
export * from './checkpoint.js';
export * from './diff.js';
export * from './export.js';
export * from './history.js';
export * from './schema.js';
export * from './scope.js';
export * from './verify.js';
export * from './workflows.js';
