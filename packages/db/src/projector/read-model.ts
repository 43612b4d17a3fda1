// The report read models' tables as Kysely sees them, and the groups the projector builds and swaps as one.
// Each group is named as the rebuild and check commands name it.

import type { ColumnType } from 'kysely';
import type { Database } from '../schema.js';

/** What every report table carries so a report filters and scopes on one table. */
export interface ScopeColumns {
  learner_ref: string;
  school_id: string;
  municipality_id: string;
  partner_id: string;
  partner_type: string;
  semester: string;
  school_year: string;
  /** False for plans that never went ahead: deleted, consent refused or expired. */
  counted: boolean;
}

type Bigint = ColumnType<string, number | string, number | string>;
type NullableBigint = ColumnType<string | null, number | string | null, number | string | null>;
type Timestamp = ColumnType<Date, string, string>;
type NullableTimestamp = ColumnType<Date | null, string | null, string | null>;

export interface RptPlansTable extends ScopeColumns {
  plan_id: string;
  status: string;
  risk_types: string[];
  drafted_at: Timestamp;
  /** When the plan was first approved at every level (the final, national signature). */
  approved_at: NullableTimestamp;
  evaluation_overdue: boolean;
  evaluated_at: NullableTimestamp;
  outcome: string | null;
  version: number;
  last_global_position: Bigint;
}

export interface RptPlanStatesTable {
  plan_id: string;
  state: ColumnType<unknown, string, string>;
  last_global_position: Bigint;
}

export interface RptPlanRisksTable extends ScopeColumns {
  plan_id: string;
  risk_id: string;
  risk_type: string;
  /** reduced / unchanged / increased, once the plan is evaluated. */
  change: string | null;
}

export interface RptMeasuresTable extends ScopeColumns {
  plan_id: string;
  measure_id: string;
  kind: string;
  in_plan: boolean;
  risk_types: string[];
  provider_type: string | null;
  subject: string | null;
  compensation_type: string | null;
  planned_minutes: number;
  delivered_minutes: number;
  unconfirmed_minutes: number;
  consultations: number;
  confirmed_consultations: number;
  planned_cents: Bigint;
}

export interface RptClaimsTable extends ScopeColumns {
  stream_id: string;
  plan_id: string;
  claim_id: string;
  compensation_type: string;
  status: string;
  amount_cents: Bigint;
  approved_cents: NullableBigint;
  paid_cents: NullableBigint;
  paid_on: ColumnType<string | null, string | null, string | null>;
  version: number;
}

export interface RptClaimStatesTable {
  stream_id: string;
  plan_id: string;
  state: ColumnType<unknown, string, string>;
  last_global_position: Bigint;
}

export interface ProjectorCheckpointsTable {
  name: string;
  /** xid8 as text. */
  transaction_id: ColumnType<string, string, string>;
  global_position: Bigint;
  events_applied: Bigint;
  updated_at: ColumnType<Date, string | undefined, string>;
}

export interface ReportTables {
  rpt_plans: RptPlansTable;
  rpt_plan_states: RptPlanStatesTable;
  rpt_plan_risks: RptPlanRisksTable;
  rpt_measures: RptMeasuresTable;
  rpt_claims: RptClaimsTable;
  rpt_claim_states: RptClaimStatesTable;
  projector_checkpoints: ProjectorCheckpointsTable;
}

export type ReportDatabase = Database & ReportTables;

/** The report tables, built and swapped together: they share one checkpoint. */
export const REPORT_TABLES = ['rpt_plans', 'rpt_plan_states', 'rpt_plan_risks', 'rpt_measures', 'rpt_claims', 'rpt_claim_states'] as const;
export type ReportTableName = (typeof REPORT_TABLES)[number];

/** The checkpoint row of the report projector. */
export const REPORTS_PROJECTOR = 'reports';

/**
 * Projections the rebuild and check commands know: `reports` (async, the tables above), and the inline
 * `plans` and `claims` the append activity writes.
 */
export const PROJECTIONS = ['plans', 'claims', 'reports'] as const;
export type ProjectionName = (typeof PROJECTIONS)[number];

export const tablesOf = (p: ProjectionName): readonly string[] => (p === 'reports' ? REPORT_TABLES : [p]);

/** Where the projector writes: the live tables, or a set being built beside them (`rpt_plans__next`). */
export interface TableSet {
  readonly suffix: string;
  /** The table's name in this set, typed as the live table (same columns) for Kysely. */
  name<T extends ReportTableName>(table: T): T;
}

export const tableSet = (suffix = ''): TableSet => ({ suffix, name: <T extends ReportTableName>(t: T) => `${t}${suffix}` as T });
