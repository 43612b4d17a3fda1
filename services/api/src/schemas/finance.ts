// Request and response schemas of the finance routes: the claims queue, the reimbursement steps and
// partners' budgets.

import { COMPENSATION_TYPES, REIMBURSEMENT_STATUSES } from '@iap/domain';
import { Type, type Static } from '@sinclair/typebox';
import { Cents, LocalDate, Literals, LongText, Ref, Semester, Text, Uuid } from './common.js';

export const ClaimParams = Type.Object({ planId: Uuid(), claimId: Ref('the claim id given when it was claimed') }, { additionalProperties: false });

export const ClaimSchema = Type.Object({
  planId: Type.String(),
  claimId: Type.String(),
  measureId: Type.String(),
  partnerId: Type.String(),
  partnerType: Type.String(),
  schoolId: Type.String(),
  municipalityId: Type.String(),
  semester: Type.String(),
  compensationType: Type.String(),
  status: Type.String(),
  version: Type.Integer(),
  amountCents: Type.Integer(),
  approvedCents: Type.Union([Type.Integer(), Type.Null()]),
  paidCents: Type.Union([Type.Integer(), Type.Null()]),
  paidOn: Type.Union([Type.String(), Type.Null()]),
  paymentRef: Type.Union([Type.String(), Type.Null()]),
  submittedAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  documentRefs: Type.Array(Type.String()),
});

export const ListClaimsQuery = Type.Object(
  {
    status: Type.Optional(Literals(REIMBURSEMENT_STATUSES)),
    partnerId: Type.Optional(Ref()),
    schoolId: Type.Optional(Ref()),
    semester: Type.Optional(Semester()),
    type: Type.Optional(Literals(COMPENSATION_TYPES, 'compensation type')),
    olderThanDays: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: 'only claims submitted at least this many days ago' })),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: '1–200, default 50' })),
    cursor: Type.Optional(Type.String({ maxLength: 400 })),
  },
  { additionalProperties: false },
);
export type ListClaimsQuery = Static<typeof ListClaimsQuery>;

export const ClaimPageSchema = Type.Object({ items: Type.Array(ClaimSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const ClaimResultSchema = Type.Object({
  planId: Type.String(),
  claimId: Type.String(),
  version: Type.Integer(),
  status: Type.String(),
  events: Type.Array(Type.Object({ eventId: Type.String(), type: Type.String(), version: Type.Integer(), globalPosition: Type.String() })),
});

export const VerifyBody = Type.Union([
  Type.Object({ note: Type.Optional(LongText(2000)) }, { additionalProperties: false }),
  Type.Null(),
]);
export const ApproveBody = Type.Object(
  {
    approvedCents: Cents('the amount approved, at most the amount claimed'),
    reason: Type.Optional(LongText(2000, 'required when less than the amount claimed is approved')),
  },
  { additionalProperties: false },
);
export const RejectBody = Type.Object({ reason: LongText(2000, 'why the claim is rejected, kept in its history') }, { additionalProperties: false });
export const PayBody = Type.Object(
  { paidOn: LocalDate('the payment date'), paymentRef: Text(100, 'the payment order or bank reference') },
  { additionalProperties: false },
);

export const BudgetParams = Type.Object(
  { partnerId: Ref(), semester: Semester('e.g. "2025/26-1" (URL-encode the slash)') },
  { additionalProperties: false },
);
export const SetBudgetBody = Type.Object(
  {
    allocatedCents: Type.Integer({ minimum: 0, maximum: 100_000_000_000, description: 'the compensation budget in euro cents' }),
    note: Type.Optional(Text(500)),
  },
  { additionalProperties: false },
);
export const BudgetSchema = Type.Object({
  partnerId: Type.String(),
  semester: Type.String(),
  version: Type.Integer(),
  allocatedCents: Type.Integer(),
  approvedCents: Type.Integer(),
  paidCents: Type.Integer(),
  remainingCents: Type.Integer({ description: 'allocated minus approved: what further approvals may use' }),
});
