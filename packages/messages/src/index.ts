// The contract between the API, the workflows and the worker: task queue, workflow-id rules, Update and
// Query definitions, search attributes, and the shapes that cross them. Imported by workflow code, so it
// must stay deterministic and free of Node built-ins.

import type { Actor, PlanCommand, PlanEventType, PlanState } from '@iap/domain';
import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export const DEFAULT_TASK_QUEUE = 'iap-plans';
export const DEFAULT_NAMESPACE = 'default';

/** A plan's workflow id. Derived from the plan id only (no personal data), so a retried create finds it. */
export const planWorkflowId = (planId: string): string => `plan-${planId}`;
export const planIdFromWorkflowId = (workflowId: string): string | null =>
  workflowId.startsWith('plan-') ? workflowId.slice('plan-'.length) : null;

/** Everything about a command that is not the command itself: who, and which request. */
export interface CommandMeta {
  readonly actor: Actor;
  /** The school the actor acts for, recorded in event metadata (null for national roles). */
  readonly schoolId: string | null;
  readonly requestId: string | null;
  readonly correlationId: string | null;
  readonly causationId: string | null;
  /** If-Match: the plan version the caller saw; a different current version refuses the command. */
  readonly expectedVersion: number | null;
}

export interface CommandEnvelope {
  readonly command: PlanCommand;
  readonly meta: CommandMeta;
}

export interface RecordedEventRef {
  readonly eventId: string;
  readonly type: PlanEventType;
  readonly version: number;
  readonly globalPosition: string;
}

export interface CommandResult {
  readonly planId: string;
  readonly version: number;
  readonly status: PlanState['status'];
  readonly events: readonly RecordedEventRef[];
}

/** Every plan command arrives through this Update; its validator runs the decider. */
export const planCommandUpdate = defineUpdate<CommandResult, [CommandEnvelope]>('plan.command');
export const planStateQuery = defineQuery<PlanState>('plan.state');

/** ApplicationFailure types the workflow uses for refusals, so the API can map them to HTTP. */
export const FAILURE_TYPES = {
  domain: 'DomainError',
  staleVersion: 'StaleVersion',
} as const;

/** Details attached to a domain refusal's ApplicationFailure. */
export interface RefusalDetails {
  readonly code: string;
  readonly kind: 'conflict' | 'rule' | 'forbidden' | 'stale';
  readonly field: string | null;
}

// Search attributes, so `temporal workflow list --query "PlanStatus='awaiting_consent'"` works.
export const SA = {
  school: defineSearchAttributeKey('PlanSchool', 'KEYWORD'),
  municipality: defineSearchAttributeKey('PlanMunicipality', 'KEYWORD'),
  semester: defineSearchAttributeKey('PlanSemester', 'KEYWORD'),
  status: defineSearchAttributeKey('PlanStatus', 'KEYWORD'),
  riskTypes: defineSearchAttributeKey('PlanRiskTypes', 'KEYWORD_LIST'),
} as const;

/** name → type in the form `temporal server start-dev --search-attribute NAME=TYPE` takes. */
export const SEARCH_ATTRIBUTE_DEFS: ReadonlyArray<readonly [string, 'Keyword' | 'KeywordList']> = [
  ['PlanSchool', 'Keyword'],
  ['PlanMunicipality', 'Keyword'],
  ['PlanSemester', 'Keyword'],
  ['PlanStatus', 'Keyword'],
  ['PlanRiskTypes', 'KeywordList'],
];
