// Request and response schemas of the plan lifecycle routes: one body per user command, the headers every
// command takes, the plan list and the progress figures. Codes come from the domain's own lists.

import {
  APPROVAL_LEVELS,
  COMPENSATION_TYPES,
  CONSENT_GIVERS,
  CONSULTATION_MODES,
  CONSULTATION_PROVIDER_TYPES,
  LEARNER_OUTCOMES,
  PLAN_STATUSES,
  RISK_CHANGES,
  RISK_TYPES,
} from '@iap/domain';
import { Type, type Static } from '@sinclair/typebox';
import { Cents, Instant, LocalDate, Literals, LongText, Ref, Semester, Text, Uuid } from './common.js';
import { MeasureSchema, PlanSchema, RiskSchema } from './plan.js';

const Reason = (description: string) => LongText(2000, description);
const DocumentRef = (description: string) => Text(300, description);
const Age = () => Type.Integer({ minimum: 0, maximum: 150, description: "the learner's age on the day they signed (required when the learner signs)" });

/** Headers every command takes: a retry key and the version the caller last saw. */
export const CommandHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: '^[\\x21-\\x7e]+$',
      description: 'retry a write safely: per caller, operation and target, the same key with the same request answers as the first and writes nothing more; with another request, 422 (idempotency.key_reused). Keys expire after 24 h',
    }),
  ),
  'if-match': Type.Optional(
    Type.String({
      maxLength: 12,
      pattern: '^(\\*|"[0-9]{1,9}"|[0-9]{1,9})$',
      description: 'the plan version the caller last saw, as its ETag ("7"); a plan that moved on answers 412 and writes nothing',
    }),
  ),
});

export const PlanParams = Type.Object({ planId: Uuid() }, { additionalProperties: false });
export const ConsultationParams = Type.Object(
  { planId: Uuid(), consultationId: Ref('the consultation id given when it was logged') },
  { additionalProperties: false },
);

/** Commands without data accept no body, or an empty object. */
export const EmptyBody = Type.Union([Type.Object({}, { additionalProperties: false }), Type.Null()]);

export const GrantConsentBody = Type.Object(
  {
    givenBy: Literals(CONSENT_GIVERS, 'who signed the application: a parent or legal representative, or the learner from 18'),
    learnerAge: Type.Optional(Age()),
    signedOn: LocalDate('the day the application was signed (not in the future)'),
    documentRef: DocumentRef('reference of the signed application in the school’s records'),
  },
  { additionalProperties: false },
);

export const RefuseConsentBody = Type.Object(
  {
    refusedBy: Literals(CONSENT_GIVERS, 'who refused'),
    learnerAge: Type.Optional(Age()),
    reason: Type.Optional(Reason('why, if they said')),
  },
  { additionalProperties: false },
);

export const ApprovePlanBody = Type.Object(
  {
    level: Literals(APPROVAL_LEVELS, 'the level signing: school, municipality (municipal partners only), national'),
    comment: Type.Optional(Reason('an optional remark kept with the signature')),
  },
  { additionalProperties: false },
);

export const ReturnForRevisionBody = Type.Object(
  {
    level: Literals(APPROVAL_LEVELS, 'the level sending the plan back'),
    comment: Reason('what to revise'),
  },
  { additionalProperties: false },
);

const consultationForm = {
  measureId: Ref('the approved consultation measure this consultation delivers'),
  date: LocalDate('the day it was held (within the plan’s semester, not in the future)'),
  providerType: Literals(CONSULTATION_PROVIDER_TYPES, 'who held it; must match the measure'),
  subject: Type.Optional(Text(100, 'the school subject, for a teacher’s consultation')),
  minutes: Type.Integer({ minimum: 1, maximum: 1440 }),
  mode: Literals(CONSULTATION_MODES),
  directorOrderRef: Type.Optional(DocumentRef('the director’s order allowing a remote consultation (required when remote)')),
};

export const LogConsultationBody = Type.Object(
  {
    consultationId: Ref('the caller’s id for this consultation form; a repeated id is refused (409), so a retry cannot log it twice'),
    ...consultationForm,
  },
  { additionalProperties: false },
);

export const ConfirmConsultationBody = Type.Union([
  Type.Object(
    { confirmedAt: Type.Optional(Instant('when the learner signed; now when absent')) },
    { additionalProperties: false },
  ),
  Type.Null(),
]);

export const CorrectConsultationBody = Type.Object(
  { ...consultationForm, reason: Reason('why the form is corrected') },
  { additionalProperties: false },
);

export const ClaimCompensationBody = Type.Object(
  {
    claimId: Ref('the caller’s id for this claim; a repeated id is refused (409)'),
    measureId: Ref('the approved compensation measure claimed against'),
    compensationType: Literals(COMPENSATION_TYPES, 'must match the measure'),
    periodFrom: LocalDate('first day the claim covers (within the semester)'),
    periodTo: LocalDate('last day the claim covers (within the semester)'),
    amountCents: Cents('claimed amount in euro cents'),
    documentRefs: Type.Array(DocumentRef('a supporting document (receipt, ticket)'), { minItems: 1, maxItems: 50 }),
  },
  { additionalProperties: false },
);

export const RevisePlanBody = Type.Object(
  {
    risks: Type.Array(RiskSchema, { maxItems: 50 }),
    measures: Type.Array(MeasureSchema, { maxItems: 100 }),
    reason: Type.Optional(Reason('why; required when revising an approved plan')),
  },
  { additionalProperties: false },
);

export const ReasonBody = Type.Object({ reason: Reason('the reason, kept in the plan’s history') }, { additionalProperties: false });

export const OptionalReasonBody = Type.Union([
  Type.Object({ reason: Type.Optional(Reason('the reason, kept in the plan’s history')) }, { additionalProperties: false }),
  Type.Null(),
]);

export const EvaluatePlanBody = Type.Object(
  {
    riskOutcomes: Type.Array(
      Type.Object(
        { riskId: Ref('one of the plan’s risks'), change: Literals(RISK_CHANGES) },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 50, description: 'one outcome for every risk of the plan' },
    ),
    outcome: Literals(LEARNER_OUTCOMES, 'what became of the learner'),
    narrative: LongText(10_000, 'the narrative assessment'),
  },
  { additionalProperties: false },
);

export const CarryOverBody = Type.Object(
  { nextPlanId: Uuid('the learner’s plan for the next semester (its draft names this plan as previous)') },
  { additionalProperties: false },
);

// Query strings arrive as text and the app's Ajv does not coerce, so `limit` is checked as digits here and
// ranged in the route.
export const ListPlansQuery = Type.Object(
  {
    semester: Type.Optional(Semester('e.g. "2026/27-1"')),
    status: Type.Optional(Literals(PLAN_STATUSES)),
    riskType: Type.Optional(Literals(RISK_TYPES, 'plans naming at least one risk of this type')),
    schoolId: Type.Optional(Ref()),
    municipalityId: Type.Optional(Ref()),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 400, pattern: '^[A-Za-z0-9_-]+$', description: 'nextCursor of the previous page' }),
    ),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: 'page size, 1–200 (default 50)' })),
  },
  { additionalProperties: false },
);
export type ListPlansQuery = Static<typeof ListPlansQuery>;

export const PlanPageSchema = Type.Object({
  items: Type.Array(PlanSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as `cursor` for the next page; null on the last page' }),
});

const progressBase = {
  measureId: Type.String(),
  inPlan: Type.Boolean({ description: 'false for a measure a revision took out after support was given on it' }),
};

export const ProgressSchema = Type.Object({
  planId: Type.String(),
  version: Type.Integer(),
  status: Type.String(),
  measures: Type.Array(
    Type.Union([
      Type.Object({
        ...progressBase,
        kind: Type.Literal('consultation'),
        plannedMinutes: Type.Integer(),
        deliveredMinutes: Type.Integer({ description: 'minutes the learner confirmed in time' }),
        unconfirmedMinutes: Type.Integer({ description: 'minutes logged but not (or not yet) confirmed' }),
        consultations: Type.Integer(),
      }),
      Type.Object({
        ...progressBase,
        kind: Type.Literal('compensation'),
        plannedCents: Type.Integer(),
        claimedCents: Type.Integer({ description: 'claimed on claims not rejected' }),
        approvedCents: Type.Integer(),
        paidCents: Type.Integer(),
        rejectedCents: Type.Integer(),
      }),
      Type.Object({ ...progressBase, kind: Type.Literal('youth_initiative'), project: Type.String() }),
    ]),
  ),
});
