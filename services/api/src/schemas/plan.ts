// Request and response schemas of plan routes, built from the domain's own lists of codes.

import { COMPENSATION_TYPES, CONSULTATION_PROVIDER_TYPES, RISK_TYPES } from '@iap/domain';
import { Type, type Static, type TObject } from '@sinclair/typebox';
import { Cents, Literals, LongText, Ref, Semester, Text, Uuid } from './common.js';

const Id = Ref;

export const RiskSchema = Type.Object(
  {
    riskId: Id('id of the risk within the plan'),
    type: Literals(RISK_TYPES, 'one of the four risk types the programme reports'),
    factor: Text(200, 'the risk factor, e.g. "unexcused absences"'),
    note: LongText(2000, 'the note on the risk (may be empty)', 0),
  },
  { additionalProperties: false },
);

const measureBase = {
  measureId: Id('id of the measure within the plan'),
  riskIds: Type.Array(Id(), { minItems: 1, maxItems: 20, description: 'the risks this measure answers' }),
  justification: LongText(2000),
};

/**
 * A union of objects told apart by `property` (a literal in every branch), as `oneOf` with an OpenAPI
 * `discriminator`: Ajv (its `discriminator` option) validates only the branch the value names, so an error
 * names that branch's field, not the first branch's; the OpenAPI document describes the same union.
 */
export function Discriminated<T extends TObject[]>(property: string, branches: [...T], description?: string) {
  return Type.Unsafe<Static<T[number]>>({
    type: 'object',
    oneOf: branches,
    discriminator: { propertyName: property },
    required: [property],
    ...(description ? { description } : {}),
  });
}

export const MeasureSchema = Discriminated('kind', [
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
], 'a support measure; `kind` says which fields it has');

export const CreatePlanBody = Type.Object(
  {
    learnerRef: Ref('pseudonymous learner id (never a name or personal code)'),
    semester: Semester(),
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
