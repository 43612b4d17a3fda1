// Request and response schemas of the auditor's routes: plan histories, as-of states and diffs, chain
// verification, and Temporal workflow histories.

import { Type } from '@sinclair/typebox';
import { Instant as InstantOf, Ref, Uuid } from './common.js';

export const AuditPlanParams = Type.Object({ planId: Uuid() }, { additionalProperties: false });

const Instant = (description: string) => InstantOf(description);

export const AsOfQuery = Type.Object(
  { at: Type.Optional(Instant('the instant (RFC 3339, e.g. 2026-10-01T12:00:00Z); now when absent')) },
  { additionalProperties: false },
);

export const DiffQuery = Type.Object(
  { from: Instant('the earlier instant (RFC 3339)'), to: Type.Optional(Instant('the later instant (RFC 3339); now when absent')) },
  { additionalProperties: false },
);

export const VerifyQuery = Type.Object(
  {
    planId: Type.Optional(Uuid('verify this plan and its claims')),
    schoolId: Type.Optional(Ref("verify every plan of this school (and their claims)")),
  },
  { additionalProperties: false, description: 'neither: the whole log' },
);

export const HistoryEntrySchema = Type.Object({
  globalPosition: Type.String(),
  streamId: Type.String(),
  version: Type.Integer(),
  eventId: Type.String(),
  type: Type.String(),
  schemaVersion: Type.Integer(),
  occurredAt: Type.String({ format: 'date-time', description: 'when the decision was taken (workflow time)' }),
  recordedAt: Type.String({ format: 'date-time', description: 'when the event was written' }),
  actorId: Type.String(),
  actorRole: Type.String(),
  schoolId: Type.Union([Type.String(), Type.Null()]),
  requestId: Type.Union([Type.String(), Type.Null()]),
  correlationId: Type.Union([Type.String(), Type.Null()]),
  workflowId: Type.Union([Type.String(), Type.Null()]),
  runId: Type.Union([Type.String(), Type.Null()]),
  data: Type.Unknown(),
  prevHash: Type.Union([Type.String(), Type.Null()]),
  hash: Type.String({ description: 'sha256(prevHash + "\\n" + canonical event): the chain link' }),
});

export const PlanHistorySchema = Type.Object({
  planId: Type.String(),
  events: Type.Array(HistoryEntrySchema),
  claims: Type.Array(Type.Object({ streamId: Type.String(), events: Type.Array(HistoryEntrySchema) })),
});

const LastEvent = Type.Union([Type.Object({ eventId: Type.String(), type: Type.String(), occurredAt: Type.String() }), Type.Null()]);

export const StateAtSchema = Type.Object({
  planId: Type.String(),
  at: Type.String({ format: 'date-time' }),
  version: Type.Integer({ description: "the plan's version at that instant (0: not drafted yet)" }),
  lastEvent: LastEvent,
  state: Type.Record(Type.String(), Type.Unknown(), { description: 'the decider folded over the events up to that instant' }),
});

export const StateDiffSchema = Type.Object({
  planId: Type.String(),
  from: Type.Object({ at: Type.String(), version: Type.Integer(), status: Type.String() }),
  to: Type.Object({ at: Type.String(), version: Type.Integer(), status: Type.String() }),
  events: Type.Array(HistoryEntrySchema),
  changes: Type.Array(
    Type.Object({
      path: Type.String(),
      kind: Type.Union([Type.Literal('added'), Type.Literal('removed'), Type.Literal('changed')]),
      before: Type.Optional(Type.Unknown()),
      after: Type.Optional(Type.Unknown()),
    }),
  ),
});

const Finding = Type.Object({
  streamId: Type.String(),
  streamVersion: Type.Integer(),
  eventId: Type.Union([Type.String(), Type.Null()]),
  globalPosition: Type.Union([Type.String(), Type.Null()]),
  reason: Type.String({ description: 'hash_mismatch | prev_hash_mismatch | version_gap | truncated | checkpoint_mismatch' }),
  expected: Type.String(),
  found: Type.String(),
});

export const VerifyReportSchema = Type.Object({
  scope: Type.Object({ kind: Type.String(), planId: Type.Optional(Type.String()), schoolId: Type.Optional(Type.String()) }),
  streams: Type.Integer(),
  events: Type.Integer(),
  intact: Type.Boolean(),
  firstBreak: Type.Union([Finding, Type.Null()]),
  findings: Type.Array(Finding),
  checkpoint: Type.Union([
    Type.Object({
      id: Type.String(),
      takenAt: Type.String(),
      keyId: Type.String(),
      signatureValid: Type.Boolean(),
      keyTrusted: Type.Union([Type.Boolean(), Type.Null()]),
      problem: Type.Union([Type.String(), Type.Null()]),
      streamsChecked: Type.Integer(),
      ageSeconds: Type.Integer({ description: 'seconds since the checkpoint was taken' }),
    }),
    Type.Null(),
  ]),
});

export const WorkflowHistorySchema = Type.Object({
  planId: Type.String(),
  workflowId: Type.String(),
  history: Type.Unknown({ description: "Temporal's JSON form of the history (as `temporal workflow show --output json`), replayable" }),
});
