// The async report projector (commit-order reader, checkpoint, background loop), and the rebuild and
// check of every projection.
export * from './apply.js';
export * from './build.js';
export * from './check.js';
export * from './commit-order.js';
export * from './lease.js';
export * from './projector.js';
export * from './read-model.js';
export * from './rebuild.js';
export * from './report-rows.js';
export * from './tables.js';
