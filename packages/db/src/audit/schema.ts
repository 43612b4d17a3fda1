// The audit tables, kept out of the app's `Database` interface on purpose: the application never writes
// them. Audit code widens a connection with `auditDb(db)`.

import type { ColumnType, Generated, Kysely, Selectable } from 'kysely';
import type { Database } from '../schema.js';

/** One stream's head as a checkpoint saw it, with the plan and school it belongs to (for scoping). */
export interface StreamHead {
  readonly streamId: string;
  readonly version: number;
  readonly hash: string;
  readonly planId: string | null;
  readonly schoolId: string | null;
}

export interface ChainCheckpointsTable {
  id: Generated<string>;
  taken_at: ColumnType<Date, string, never>;
  global_position: ColumnType<string, string, never>;
  stream_count: number;
  event_count: ColumnType<string, string, never>;
  heads: ColumnType<StreamHead[], string, never>;
  heads_digest: string;
  key_id: string;
  public_key: string;
  signature: string;
}

export interface AuditDatabase extends Database {
  chain_checkpoints: ChainCheckpointsTable;
}

export type CheckpointRow = Selectable<ChainCheckpointsTable>;

export const auditDb = (db: Kysely<Database>): Kysely<AuditDatabase> => db.withTables<{ chain_checkpoints: ChainCheckpointsTable }>();

/** The role that writes checkpoints; the app's role may only read them. */
export const AUDITOR_DB_ROLE = 'iap_auditor';
