// Runs the migrations in name order. The list is static (not read from disk) so the compiled package
// and the tests run exactly the same set.

import { Migrator, type Kysely, type Migration, type MigrationResultSet } from 'kysely';
import * as m0001 from './migrations/2026_11_23_0001_event_log.js';
import * as m0002 from './migrations/2026_11_23_0002_plans_projection.js';
import * as m0003 from './migrations/2026_11_23_0003_claims_projection.js';
import * as m0004 from './migrations/2026_11_23_0004_app_role.js';
import * as m0200 from './migrations/2026_11_23_0200_report_projections.js';
import * as m0100 from './migrations/2026_11_23_0100_chain_checkpoints.js';
import * as m0005 from './migrations/2026_11_23_0005_budgets.js';
import * as m0006 from './migrations/2026_11_23_0006_learner_identity.js';
import * as m0300 from './migrations/2026_11_23_0300_append_function.js';
import * as m0310 from './migrations/2026_11_23_0310_append_plan_function.js';
import * as m0320 from './migrations/2026_11_23_0320_append_function_stops.js';
import * as m1207 from './migrations/2026_12_07_0001_learner_register.js';
import * as m1207b from './migrations/2026_12_07_0100_idempotency_keys.js';
import * as m1207_0500 from './migrations/2026_12_07_0500_budget_revision.js';
import * as m0500organisations from './migrations/2026_12_07_0500_organisations.js';

export const migrations: Record<string, Migration> = {
  '2026_11_23_0001_event_log': m0001,
  '2026_11_23_0002_plans_projection': m0002,
  '2026_11_23_0003_claims_projection': m0003,
  '2026_11_23_0004_app_role': m0004,
  '2026_11_23_0200_report_projections': m0200,
  '2026_11_23_0100_chain_checkpoints': m0100,
  '2026_11_23_0005_budgets': m0005,
  '2026_11_23_0006_learner_identity': m0006,
  '2026_11_23_0300_append_function': m0300,
  '2026_11_23_0310_append_plan_function': m0310,
  '2026_11_23_0320_append_function_stops': m0320,
  '2026_12_07_0001_learner_register': m1207,
  '2026_12_07_0100_idempotency_keys': m1207b,
  '2026_12_07_0500_budget_revision': m1207_0500,
  '2026_12_07_0500_organisations': m0500organisations,
};

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

/** Migrates to the latest version; returns the names applied now (empty when already up to date). */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results }: MigrationResultSet = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new MigrationError(`migration ${failed?.migrationName ?? '?'} failed: ${String(error)}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Names of migrations not yet applied. */
export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const all = await migrator.getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
