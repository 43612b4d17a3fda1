// Commands of one compensation claim's reimbursement: submitted by the school, worked by finance staff.

import type { LocalDate } from '../dates.js';
import type { PartnerId, PlanId } from '../ids.js';
import type { Cents } from '../money.js';
import type { ClaimId, CompensationType, MeasureId } from '../plan/model.js';

export interface SubmitClaimData {
  readonly claimId: ClaimId;
  readonly planId: PlanId;
  readonly measureId: MeasureId;
  /** Whose compensation budget pays: partners keep separate accounts. */
  readonly partnerId: PartnerId;
  readonly compensationType: CompensationType;
  readonly periodFrom: LocalDate;
  readonly periodTo: LocalDate;
  readonly amountCents: Cents;
  readonly documentRefs: readonly string[];
}

export type ReimbursementCommand =
  | { readonly type: 'SubmitClaim'; readonly data: SubmitClaimData }
  | { readonly type: 'VerifyDocuments'; readonly data: { readonly note?: string } }
  /** reason is required when approvedCents is less than claimed (a partial approval). */
  | { readonly type: 'ApproveClaim'; readonly data: { readonly approvedCents: Cents; readonly reason?: string } }
  | { readonly type: 'RejectClaim'; readonly data: { readonly reason: string } }
  | { readonly type: 'PayClaim'; readonly data: { readonly paidOn: LocalDate; readonly paymentRef: string } };

export type ReimbursementCommandType = ReimbursementCommand['type'];
