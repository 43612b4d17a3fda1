import { describe, expect, it } from 'vitest';
import type { Role } from '../actor.js';
import { spec } from '../testing/spec.js';
import type { SubmitClaimData } from './commands.js';
import { reimbursementDecider, type ReimbursementContext } from './decider.js';
import type { ReimbursementEvent } from './events.js';

const claimSpec = spec(reimbursementDecider);
const as = (role: Role, now = '2025-10-05T10:00:00.000Z'): ReimbursementContext => ({ now, actor: { id: `${role}-1`, role } });

const claim: SubmitClaimData = {
  claimId: 'k1',
  planId: 'plan-1',
  measureId: 'm2',
  partnerId: 'muni-1',
  compensationType: 'public_transport',
  periodFrom: '2025-09-01',
  periodTo: '2025-09-30',
  amountCents: 1200,
  documentRefs: ['receipt-1'],
};
const submitted: ReimbursementEvent = { type: 'ClaimSubmitted', data: { ...claim, submittedBy: 'school_director-1' } };
const verified: ReimbursementEvent = { type: 'DocumentsVerified', data: { by: 'finance-1', note: null } };
const approved: ReimbursementEvent = { type: 'ClaimApproved', data: { approvedCents: 1200, partial: false, reason: null, by: 'finance-1' } };
const paid: ReimbursementEvent = { type: 'ClaimPaid', data: { paidCents: 1200, paidOn: '2025-10-05', paymentRef: 'pay-9', by: 'finance-1' } };
const pay = { type: 'PayClaim', data: { paidOn: '2025-10-05', paymentRef: 'pay-9' } } as const;

describe('reimbursement decider', () => {
  it('runs submitted → verified → approved → paid', () => {
    claimSpec.given([]).when({ type: 'SubmitClaim', data: claim }, as('school_director')).thenEvents([submitted]);
    claimSpec.given([submitted]).when({ type: 'VerifyDocuments', data: {} }, as('finance')).thenEvents([verified]);
    claimSpec.given([submitted, verified]).when({ type: 'ApproveClaim', data: { approvedCents: 1200 } }, as('finance')).thenEvents([approved]);
    const out = claimSpec.given([submitted, verified, approved]).when(pay, as('finance'));
    out.thenEvents([paid]);
    expect(out.thenState()).toMatchObject({ status: 'paid', version: 4, payment: { paidCents: 1200, paymentRef: 'pay-9' } });
  });

  it('approves in part with a reason', () => {
    const out = claimSpec
      .given([submitted, verified])
      .when({ type: 'ApproveClaim', data: { approvedCents: 900, reason: 'one ticket unreadable' } }, as('finance'));
    out.thenEvents([{ type: 'ClaimApproved', data: { approvedCents: 900, partial: true, reason: 'one ticket unreadable', by: 'finance-1' } }]);
    expect(out.thenState()).toMatchObject({ status: 'approved', decision: { approvedCents: 900, partial: true } });
  });

  it('rejects with a reason, before or after verification', () => {
    for (const given of [[submitted], [submitted, verified]]) {
      const out = claimSpec.given(given).when({ type: 'RejectClaim', data: { reason: 'no receipts' } }, as('finance'));
      out.thenEvents([{ type: 'ClaimRejected', data: { reason: 'no receipts', by: 'finance-1' } }]);
      expect(out.thenState().status).toBe('rejected');
    }
    claimSpec.given([submitted]).when({ type: 'RejectClaim', data: { reason: '' } }, as('finance')).thenThrows('claim.reason_required');
    claimSpec.given([submitted, verified, approved]).when({ type: 'RejectClaim', data: { reason: 'x' } }, as('finance')).thenThrows('claim.wrong_status');
  });

  it('refuses to pay twice', () => {
    claimSpec.given([submitted, verified, approved, paid]).when(pay, as('finance')).thenThrows('claim.already_paid');
  });

  it('refuses to pay before approval', () => {
    for (const given of [[submitted], [submitted, verified], [submitted, { type: 'ClaimRejected', data: { reason: 'x', by: 'f' } } as ReimbursementEvent]]) {
      claimSpec.given(given).when(pay, as('finance')).thenThrows('claim.not_approved');
    }
  });

  it('refuses to approve more than claimed, nothing, or in part without a reason', () => {
    const given = [submitted, verified];
    claimSpec.given(given).when({ type: 'ApproveClaim', data: { approvedCents: 1201 } }, as('finance')).thenThrows('claim.approved_exceeds_claimed', 'data.approvedCents');
    claimSpec.given(given).when({ type: 'ApproveClaim', data: { approvedCents: 0 } }, as('finance')).thenThrows('claim.amount_not_positive', 'data.approvedCents');
    claimSpec.given(given).when({ type: 'ApproveClaim', data: { approvedCents: 500 } }, as('finance')).thenThrows('claim.reason_required', 'data.reason');
  });

  it('refuses to approve before verification, or twice', () => {
    claimSpec.given([submitted]).when({ type: 'ApproveClaim', data: { approvedCents: 1200 } }, as('finance')).thenThrows('claim.not_verified');
    claimSpec.given([submitted, verified, approved]).when({ type: 'ApproveClaim', data: { approvedCents: 1200 } }, as('finance')).thenThrows('claim.wrong_status');
    claimSpec.given([submitted, verified]).when({ type: 'VerifyDocuments', data: {} }, as('finance')).thenThrows('claim.wrong_status');
  });

  it('forbids anyone but finance to work a claim, and an auditor to submit one', () => {
    for (const role of ['school_director', 'national_coordinator', 'auditor', 'system'] as const) {
      claimSpec.given([submitted]).when({ type: 'VerifyDocuments', data: {} }, as(role)).thenThrows('claim.forbidden_role');
    }
    claimSpec.given([submitted, verified, approved]).when(pay, as('municipality_coordinator')).thenThrows('claim.forbidden_role');
    claimSpec.given([]).when({ type: 'SubmitClaim', data: claim }, as('auditor')).thenThrows('claim.forbidden_role');
  });

  it.each([
    ['a zero amount', { amountCents: 0 }, 'claim.amount_not_positive', 'data.amountCents'],
    ['a negative amount', { amountCents: -100 }, 'claim.amount_not_positive', 'data.amountCents'],
    ['no documents', { documentRefs: [] }, 'claim.documents_required', 'data.documentRefs'],
    ['a reversed period', { periodFrom: '2025-10-01' }, 'claim.period_reversed', 'data.periodTo'],
    ['an unknown type', { compensationType: 'taxi' }, 'claim.invalid_code', 'data.compensationType'],
  ] as const)('refuses a submission with %s', (_, over, code, field) => {
    claimSpec.given([]).when({ type: 'SubmitClaim', data: { ...claim, ...over } as never }, as('preparer')).thenThrows(code, field);
  });

  it('refuses a second submission and a payment dated in the future', () => {
    claimSpec.given([submitted]).when({ type: 'SubmitClaim', data: claim }, as('preparer')).thenThrows('claim.already_exists');
    claimSpec
      .given([submitted, verified, approved])
      .when({ type: 'PayClaim', data: { paidOn: '2025-10-06', paymentRef: 'p' } }, as('finance'))
      .thenThrows('claim.date_in_future', 'data.paidOn');
    claimSpec
      .given([submitted, verified, approved])
      .when({ type: 'PayClaim', data: { paidOn: '1900-01-01', paymentRef: 'p' } }, as('finance'))
      .thenThrows('claim.invalid_date', 'data.paidOn');
  });
});
