// Commands a plan accepts: imperative, one per user intention.

import type { PlanDraftedData } from './events.js';

export type DraftPlan = { readonly type: 'DraftPlan'; readonly data: PlanDraftedData };

export type PlanCommand = DraftPlan;

export type PlanCommandType = PlanCommand['type'];
