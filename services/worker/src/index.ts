// @iap/worker: the Temporal worker for plan workflows.
export * from './worker.js';
export * from './checkpoint.js';
