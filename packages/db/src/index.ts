// @iap/db: the database side of the engine: schema, migrations, event log, hash chain, projections.
export * from './canonical.js';
export * from './connect.js';
export * from './event-store.js';
export * from './hash-chain.js';
export * from './migrate.js';
export * from './projections/plans.js';
export * from './schema.js';
export * from './admin.js';
export * from './projections/claims.js';
export * from './projections/budgets.js';
export * from './audit/index.js';
export * from './projector/index.js';
export * from './reports/index.js';
export * from './identity.js';
export * from './idempotency.js';
export * from './projections/organisations.js';
