// A claim's reimbursement state, folded from its events: a union on `status`.

import type { Instant, LocalDate } from '../dates.js';
import type { Cents } from '../money.js';
import type { ClaimSubmittedData } from './events.js';

/** submitted → documents_verified → approved → paid, or rejected from submitted / documents_verified. */
export const REIMBURSEMENT_STATUSES = ['submitted', 'documents_verified', 'approved', 'rejected', 'paid'] as const;
export type ReimbursementStatus = (typeof REIMBURSEMENT_STATUSES)[number];

export interface ClaimBase extends ClaimSubmittedData {
  readonly version: number;
  readonly submittedAt: Instant;
  readonly verifiedAt: Instant | null;
}

export interface ClaimDecision {
  readonly approvedCents: Cents;
  readonly partial: boolean;
  readonly reason: string | null;
  readonly approvedAt: Instant;
}

export type ReimbursementState =
  | { readonly status: 'none'; readonly version: 0 }
  | (ClaimBase & { readonly status: 'submitted' })
  | (ClaimBase & { readonly status: 'documents_verified' })
  | (ClaimBase & { readonly status: 'approved'; readonly decision: ClaimDecision })
  | (ClaimBase & { readonly status: 'rejected'; readonly rejection: { readonly reason: string; readonly at: Instant } })
  | (ClaimBase & {
      readonly status: 'paid';
      readonly decision: ClaimDecision;
      readonly payment: { readonly paidCents: Cents; readonly paidOn: LocalDate; readonly paymentRef: string };
    });

export const initialReimbursementState = (): ReimbursementState => ({ status: 'none', version: 0 });
