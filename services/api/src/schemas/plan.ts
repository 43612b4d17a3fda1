// Request and response schemas of plan routes, built from the domain's own lists of codes.

import {
  COMPENSATION_TYPES,
  CONSULTATION_PROVIDER_TYPES,
  RISK_TYPES,
  SEMESTER_PATTERN,
} from '@iap/domain';
import { Type, type Static } from '@sinclair/typebox';
import { Cents, Literals, Ref, Text, Uuid } from './common.js';

const Id = Ref;

export const RiskSchema = Type.Object(
  {
    riskId: Id('id of the risk within the plan'),
    type: Literals(RISK_TYPES, 'one of the four risk types the programme reports'),
    factor: Text(200, 'the risk factor, e.g. "unexcused absences"'),
    note: Type.String({ maxLength: 2000, pattern: '^[^\\u0000]*$' }),
  },
  { additionalProperties: false },
);

const measureBase = {
  measureId: Id('id of the measure within the plan'),
  riskIds: Type.Array(Id(), { minItems: 1, maxItems: 20, description: 'the risks this measure answers' }),
  justification: Text(2000),
};

export const MeasureSchema = Type.Union([
  Type.Object(
    {
      ...measureBase,
      kind: Type.Literal('consultation'),
      providerType: Literals(CONSULTATION_PROVIDER_TYPES),
      subject: Type.Optional(Text(100)),
      plannedMinutes: Type.Integer({ minimum: 1, maximum: 100_000 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      ...measureBase,
      kind: Type.Literal('compensation'),
      compensationType: Literals(COMPENSATION_TYPES),
      plannedCents: Cents('planned amount in euro cents'),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { ...measureBase, kind: Type.Literal('youth_initiative'), project: Text(200) },
    { additionalProperties: false },
  ),
]);

export const CreatePlanBody = Type.Object(
  {
    learnerRef: Ref('pseudonymous learner id (never a name or personal code)'),
    semester: Type.String({ pattern: SEMESTER_PATTERN, description: 'e.g. "2025/26-1"' }),
    grade: Type.Integer({ minimum: 1, maximum: 12 }),
    risks: Type.Array(RiskSchema, { maxItems: 50 }),
    measures: Type.Array(MeasureSchema, { maxItems: 100 }),
    previousPlanId: Type.Optional(Uuid("the learner's plan of the previous semester")),
  },
  { additionalProperties: false },
);
export type CreatePlanBody = Static<typeof CreatePlanBody>;

export const CommandResultSchema = Type.Object({
  planId: Type.String(),
  version: Type.Integer(),
  status: Type.String(),
  events: Type.Array(
    Type.Object({ eventId: Type.String(), type: Type.String(), version: Type.Integer(), globalPosition: Type.String() }),
  ),
});

export const PlanSchema = Type.Object({
  planId: Type.String(),
  version: Type.Integer(),
  status: Type.String(),
  learnerRef: Type.String(),
  learnerErased: Type.Boolean({ description: "the learner's identity was erased: the plan stays, pseudonymous" }),
  schoolId: Type.String(),
  municipalityId: Type.String(),
  partner: Type.Object({ type: Type.String(), id: Type.String() }),
  semester: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  state: Type.Record(Type.String(), Type.Unknown(), { description: "the plan's full state as the decider folds it" }),
});

export const PlanIdParams = Type.Object({ planId: Uuid() }, { additionalProperties: false });
