// The Kysely view of the database: one interface per table. Nullable columns are `T | null`.

import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** Append-only domain events. Rows are never updated or deleted (see the migrations). */
export interface EventsTable {
  /** Global order of appends (not commit order: async readers use `transaction_id` for that). */
  global_position: Generated<string>;
  stream_id: string;
  /** 1 for a stream's first event; unique with stream_id (optimistic concurrency). */
  stream_version: number;
  /** Derived deterministically by the writer, so a retried append is a no-op. */
  event_id: string;
  event_type: string;
  schema_version: number;
  data: ColumnType<unknown, string, never>;
  metadata: ColumnType<EventMetadata, string, never>;
  /** When the decision was taken (workflow time). */
  occurred_at: ColumnType<Date, string, never>;
  /** When the row was written (activity time); part of the hash, so it cannot be changed unseen. */
  recorded_at: ColumnType<Date, string, never>;
  /** xid8 of the writing transaction, as text: lets async readers follow commit order. */
  transaction_id: ColumnType<string, never, never>;
  prev_hash: string | null;
  hash: string;
}

export interface EventMetadata {
  actorId: string;
  actorRole: string;
  schoolId: string | null;
  requestId: string | null;
  /** The command's identity across retries (CommandMeta.commandId); absent in events recorded before it. */
  commandId?: string | null;
  correlationId: string | null;
  causationId: string | null;
  workflowId: string | null;
  runId: string | null;
}

/** Inline projection: one row per plan, written in the same transaction as its events. */
export interface PlansTable {
  plan_id: string;
  learner_ref: string;
  school_id: string;
  municipality_id: string;
  partner_type: string;
  partner_id: string;
  semester: string;
  status: string;
  version: number;
  /** The decider's folded state, as JSON: what GET /plans/:id returns. */
  state: ColumnType<unknown, string, string>;
  created_at: ColumnType<Date, string, never>;
  updated_at: ColumnType<Date, string, string>;
  last_global_position: ColumnType<string, string, string>;
}

/** Inline projection: one row per compensation claim (its reimbursement stream). */
export interface ClaimsTable {
  stream_id: string;
  claim_id: string;
  plan_id: string;
  measure_id: string;
  partner_id: string;
  partner_type: string;
  school_id: string;
  municipality_id: string;
  semester: string;
  compensation_type: string;
  amount_cents: ColumnType<string, number, number>;
  approved_cents: ColumnType<string | null, number | null, number | null>;
  paid_cents: ColumnType<string | null, number | null, number | null>;
  paid_on: ColumnType<string | null, string | null, string | null>;
  payment_ref: string | null;
  status: string;
  version: number;
  state: ColumnType<unknown, string, string>;
  submitted_at: ColumnType<Date, string, never>;
  updated_at: ColumnType<Date, string, string>;
  last_global_position: ColumnType<string, string, string>;
}

/** A partner's budget for a semester: allocated from its budget stream, approved and paid from claims. */
export interface BudgetsTable {
  partner_id: string;
  semester: string;
  allocated_cents: ColumnType<string, number, number>;
  approved_cents: ColumnType<string, number | undefined, number>;
  paid_cents: ColumnType<string, number | undefined, number>;
  /** The allocation stream's version (what the budget workflow checks a new allocation against). */
  version: number;
  /** Moves with every change to the row (allocation, approval, payment): the version and ETag clients see. */
  revision: ColumnType<number, number | undefined, number>;
  updated_at: ColumnType<Date, string, string>;
}

export interface LearnersTable {
  learner_id: string;
  school_id: string;
  learner_ref: string;
  registered_at: ColumnType<Date, string, never>;
  registered_by: string;
}

export interface LearnerRefsTable {
  school_id: string;
  learner_ref: string;
  learner_id: string;
  assigned_at: ColumnType<Date, string, never>;
}

export interface LearnerKeysTable {
  learner_id: string;
  wrapped_key: Buffer | null;
  aad_ref: string | null;
  created_at: ColumnType<Date, string, never>;
  erased_at: ColumnType<Date | null, string | null, string | null>;
  erased_by: string | null;
}

export interface LearnerIdentitiesTable {
  learner_id: string;
  ciphertext: Buffer;
  updated_at: ColumnType<Date, string, string>;
  updated_by: string;
}

export interface LearnerAccessLogTable {
  seq: ColumnType<string, never, never>;
  at: ColumnType<Date, string, never>;
  learner_id: string;
  school_id: string;
  action: string;
  actor_id: string;
  actor_role: string;
  request_id: string;
  detail: ColumnType<Record<string, unknown>, string, never>;
}

/** The API's Idempotency-Key ledger (see idempotency.ts). */
export interface IdempotencyKeysTable {
  key_hash: string;
  fingerprint: string;
  command_id: string;
  response_status: number | null;
  response_body: unknown;
  response_headers: unknown;
  created_at: ColumnType<Date, string | undefined, string>;
  expires_at: ColumnType<Date, string, string>;
}

/** The register of organisations (inline projection of the register stream): partners, municipalities, schools. */
export interface OrganisationsTable {
  kind: 'partner' | 'municipality' | 'school';
  id: string;
  name: string;
  /** A partner's type; a municipality's partner's (municipality); a school's partner's. */
  partner_type: 'municipality' | 'state_vocational';
  /** A school's municipality; a municipality's own id; null for a partner. */
  municipality_id: string | null;
  /** A school's or municipality's partner; a partner's own id. */
  partner_id: string;
  active: boolean;
  /** The register stream's version that last changed the row. */
  version: number;
  registered_at: ColumnType<Date, string, string>;
  updated_at: ColumnType<Date, string, string>;
}

export interface Database {
  idempotency_keys: IdempotencyKeysTable;
  learners: LearnersTable;
  learner_refs: LearnerRefsTable;
  learner_access_log: LearnerAccessLogTable;
  organisations: OrganisationsTable;
  learner_keys: LearnerKeysTable;
  learner_identities: LearnerIdentitiesTable;
  events: EventsTable;
  plans: PlansTable;
  claims: ClaimsTable;
  budgets: BudgetsTable;
}

export type EventRow = Selectable<EventsTable>;
export type NewEventRow = Insertable<EventsTable>;
export type PlanRow = Selectable<PlansTable>;
export type ClaimRow = Selectable<ClaimsTable>;
export type BudgetRow = Selectable<BudgetsTable>;
export type OrganisationRow = Selectable<OrganisationsTable>;
