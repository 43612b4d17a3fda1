// Events of a plan's stream: past tense, versioned. Bump a schema version when an event's data changes
// shape, and keep `upcast` able to read every older version (the event log is never rewritten).

import type { LearnerRef, MunicipalityId, Partner, PlanId, SchoolId } from '../ids.js';
import type { Semester } from '../semester.js';

export interface PlanDraftedData {
  readonly planId: PlanId;
  readonly learnerRef: LearnerRef;
  readonly schoolId: SchoolId;
  readonly municipalityId: MunicipalityId;
  readonly partner: Partner;
  readonly semester: Semester;
  readonly grade: number;
}

export type PlanEvent = { readonly type: 'PlanDrafted'; readonly data: PlanDraftedData };

export type PlanEventType = PlanEvent['type'];

/** Current schema version of each event type. */
export const EVENT_SCHEMA_VERSIONS: { readonly [T in PlanEventType]: number } = {
  PlanDrafted: 1,
};
