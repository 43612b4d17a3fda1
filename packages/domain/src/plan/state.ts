// A plan's state, folded from its events. A union on `status`.

import type { PlanDraftedData } from './events.js';

export type PlanStatus = 'draft';

export type PlanState =
  | { readonly status: 'none'; readonly version: 0 }
  | ({ readonly status: 'draft'; readonly version: number; readonly draftedAt: string } & PlanDraftedData);

export const initialState = (): PlanState => ({ status: 'none', version: 0 });
