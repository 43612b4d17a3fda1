// Events of a claim's reimbursement stream: past tense, versioned like the plan's.

import type { LocalDate } from '../dates.js';
import type { Cents } from '../money.js';
import type { SubmitClaimData } from './commands.js';

export type ClaimSubmittedData = SubmitClaimData & { readonly submittedBy: string };

export type ReimbursementEvent =
  | { readonly type: 'ClaimSubmitted'; readonly data: ClaimSubmittedData }
  | { readonly type: 'DocumentsVerified'; readonly data: { readonly by: string; readonly note: string | null } }
  | {
      readonly type: 'ClaimApproved';
      readonly data: { readonly approvedCents: Cents; readonly partial: boolean; readonly reason: string | null; readonly by: string };
    }
  | { readonly type: 'ClaimRejected'; readonly data: { readonly reason: string; readonly by: string } }
  | {
      readonly type: 'ClaimPaid';
      /** paidCents is the approved amount: a claim is paid once, in full of what was approved. */
      readonly data: { readonly paidCents: Cents; readonly paidOn: LocalDate; readonly paymentRef: string; readonly by: string };
    };

export type ReimbursementEventType = ReimbursementEvent['type'];

export const REIMBURSEMENT_EVENT_SCHEMA_VERSIONS: { readonly [T in ReimbursementEventType]: number } = {
  ClaimSubmitted: 1,
  DocumentsVerified: 1,
  ClaimApproved: 1,
  ClaimRejected: 1,
  ClaimPaid: 1,
};

export const REIMBURSEMENT_EVENT_TYPES: readonly ReimbursementEventType[] = Object.keys(
  REIMBURSEMENT_EVENT_SCHEMA_VERSIONS,
) as ReimbursementEventType[];
