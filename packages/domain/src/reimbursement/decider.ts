// The reimbursement decider for one compensation claim: verify documents, approve (fully or in part) or
// reject, then pay once. Budget limits need the database, so they are checked outside, not here.

import type { Actor, Role } from '../actor.js';
import { assertNever } from '../assert.js';
import { DEFAULT_DOMAIN_CONFIG, type DomainConfig, isPlausibleDate } from '../config.js';
import { dateOf, isInstant } from '../dates.js';
import { DomainError } from '../errors.js';
import { COMPENSATION_TYPES } from '../plan/model.js';
import type { ReimbursementCommand, ReimbursementCommandType } from './commands.js';
import type { ReimbursementEvent } from './events.js';
import { type ReimbursementState, type ReimbursementStatus, initialReimbursementState } from './state.js';

export interface ReimbursementContext {
  /** ISO-8601 instant the command is decided at. */
  readonly now: string;
  readonly actor: Actor;
  /** The programme's rules (its years bound every date); the defaults when absent. */
  readonly config?: DomainConfig;
}

export interface ReimbursementEventMeta {
  readonly occurredAt: string;
  readonly version: number;
}

/** Only finance staff work a claim; the school (or the plan workflow for it) submits it. */
export const REIMBURSEMENT_COMMAND_ROLES: { readonly [T in ReimbursementCommandType]: readonly Role[] } = {
  SubmitClaim: ['preparer', 'school_director', 'municipality_coordinator', 'system'],
  VerifyDocuments: ['finance'],
  ApproveClaim: ['finance'],
  RejectClaim: ['finance'],
  PayClaim: ['finance'],
};

export const REIMBURSEMENT_COMMAND_TYPES: readonly ReimbursementCommandType[] = Object.keys(
  REIMBURSEMENT_COMMAND_ROLES,
) as ReimbursementCommandType[];

export function decideReimbursement(
  command: ReimbursementCommand,
  state: ReimbursementState,
  ctx: ReimbursementContext,
): ReimbursementEvent[] {
  if (!isInstant(ctx.now)) throw new Error(`ctx.now is not an instant: ${ctx.now}`);
  if (!REIMBURSEMENT_COMMAND_ROLES[command.type].includes(ctx.actor.role)) {
    throw new DomainError(
      'claim.forbidden_role',
      'forbidden',
      `a ${ctx.actor.role} may not ${command.type}; allowed: ${REIMBURSEMENT_COMMAND_ROLES[command.type].join(', ')}`,
    );
  }
  const by = ctx.actor.id;
  switch (command.type) {
    case 'SubmitClaim': {
      if (state.status !== 'none') {
        throw new DomainError('claim.already_exists', 'conflict', `claim ${command.data.claimId} already exists`);
      }
      const d = command.data;
      for (const f of ['claimId', 'planId', 'measureId', 'partnerId'] as const) text(d[f], `data.${f}`);
      if (!COMPENSATION_TYPES.includes(d.compensationType)) {
        throw new DomainError(
          'claim.invalid_code',
          'rule',
          `type must be one of ${COMPENSATION_TYPES.join(', ')}`,
          'data.compensationType',
        );
      }
      positive(d.amountCents, 'data.amountCents');
      for (const f of ['periodFrom', 'periodTo'] as const) {
        if (!isPlausibleDate(d[f], ctx.config ?? DEFAULT_DOMAIN_CONFIG)) throw new DomainError('claim.invalid_date', 'rule', `${f} is not a date`, `data.${f}`);
      }
      if (d.periodFrom > d.periodTo) {
        throw new DomainError(
          'claim.period_reversed',
          'rule',
          `the period ends (${d.periodTo}) before it starts (${d.periodFrom})`,
          'data.periodTo',
        );
      }
      if (d.documentRefs.length === 0 || d.documentRefs.some((r) => typeof r !== 'string' || r.trim() === '')) {
        throw new DomainError(
          'claim.documents_required',
          'rule',
          'a claim needs its supporting documents',
          'data.documentRefs',
        );
      }
      return [{ type: 'ClaimSubmitted', data: { ...d, documentRefs: [...d.documentRefs], submittedBy: by } }];
    }
    case 'VerifyDocuments':
      requireClaimStatus(command.type, state.status, ['submitted']);
      return [{ type: 'DocumentsVerified', data: { by, note: optional(command.data.note) } }];
    case 'ApproveClaim': {
      if (state.status === 'submitted') {
        throw new DomainError('claim.not_verified', 'conflict', 'verify the documents before approving the claim');
      }
      if (state.status !== 'documents_verified') throw wrongStatus(command.type, state.status, ['documents_verified']);
      const cents = positive(command.data.approvedCents, 'data.approvedCents');
      if (cents > state.amountCents) {
        throw new DomainError(
          'claim.approved_exceeds_claimed',
          'rule',
          `approved ${cents} cents exceeds the claimed ${state.amountCents}`,
          'data.approvedCents',
        );
      }
      const partial = cents < state.amountCents;
      const reason = optional(command.data.reason);
      if (partial && reason === null) {
        throw new DomainError('claim.reason_required', 'rule', 'a partial approval needs a reason', 'data.reason');
      }
      return [{ type: 'ClaimApproved', data: { approvedCents: cents, partial, reason, by } }];
    }
    case 'RejectClaim': {
      requireClaimStatus(command.type, state.status, ['submitted', 'documents_verified']);
      const reason = text(command.data.reason, 'data.reason', 'claim.reason_required');
      return [{ type: 'ClaimRejected', data: { reason, by } }];
    }
    case 'PayClaim': {
      if (state.status === 'paid') {
        throw new DomainError(
          'claim.already_paid',
          'conflict',
          'the claim is already paid; a claim is never paid twice',
        );
      }
      if (state.status !== 'approved') {
        throw new DomainError(
          'claim.not_approved',
          'conflict',
          `only an approved claim is paid; this one is ${state.status}`,
        );
      }
      if (!isPlausibleDate(command.data.paidOn, ctx.config ?? DEFAULT_DOMAIN_CONFIG)) {
        throw new DomainError('claim.invalid_date', 'rule', `${command.data.paidOn} is not a date`, 'data.paidOn');
      }
      if (command.data.paidOn > dateOf(ctx.now)) {
        throw new DomainError(
          'claim.date_in_future',
          'rule',
          `a payment cannot be dated ${command.data.paidOn}, in the future`,
          'data.paidOn',
        );
      }
      const paymentRef = text(command.data.paymentRef, 'data.paymentRef');
      return [
        {
          type: 'ClaimPaid',
          data: { paidCents: state.decision.approvedCents, paidOn: command.data.paidOn, paymentRef, by },
        },
      ];
    }
    default:
      return assertNever(command);
  }
}

export function evolveReimbursement(
  state: ReimbursementState,
  event: ReimbursementEvent,
  meta: ReimbursementEventMeta,
): ReimbursementState {
  const version = meta.version;
  if (event.type === 'ClaimSubmitted') {
    return { status: 'submitted', ...event.data, version, submittedAt: meta.occurredAt, verifiedAt: null };
  }
  if (state.status === 'none') throw new Error(`${event.type} before ClaimSubmitted`);
  switch (event.type) {
    case 'DocumentsVerified':
      return { ...pickBase(state), version, status: 'documents_verified', verifiedAt: meta.occurredAt };
    case 'ClaimApproved':
      return {
        ...pickBase(state),
        version,
        status: 'approved',
        decision: {
          approvedCents: event.data.approvedCents,
          partial: event.data.partial,
          reason: event.data.reason,
          approvedAt: meta.occurredAt,
        },
      };
    case 'ClaimRejected':
      return {
        ...pickBase(state),
        version,
        status: 'rejected',
        rejection: { reason: event.data.reason, at: meta.occurredAt },
      };
    case 'ClaimPaid': {
      if (state.status !== 'approved') throw new Error(`ClaimPaid on a ${state.status} claim`);
      const { paidCents, paidOn, paymentRef } = event.data;
      return {
        ...pickBase(state),
        version,
        status: 'paid',
        decision: state.decision,
        payment: { paidCents, paidOn, paymentRef },
      };
    }
    default:
      return assertNever(event);
  }
}

/** The fields every status after submission has. */
function pickBase(s: Exclude<ReimbursementState, { status: 'none' }>) {
  return {
    claimId: s.claimId,
    planId: s.planId,
    measureId: s.measureId,
    partnerId: s.partnerId,
    compensationType: s.compensationType,
    periodFrom: s.periodFrom,
    periodTo: s.periodTo,
    amountCents: s.amountCents,
    documentRefs: s.documentRefs,
    submittedBy: s.submittedBy,
    submittedAt: s.submittedAt,
    verifiedAt: s.verifiedAt,
  };
}

export const reimbursementDecider = {
  decide: decideReimbursement,
  evolve: evolveReimbursement,
  initialState: initialReimbursementState,
};

function requireClaimStatus(
  type: ReimbursementCommandType,
  status: ReimbursementStatus | 'none',
  allowed: readonly ReimbursementStatus[],
): void {
  if (!(allowed as readonly string[]).includes(status)) throw wrongStatus(type, status, allowed);
}

function wrongStatus(type: ReimbursementCommandType, status: string, allowed: readonly string[]): DomainError {
  const message = `cannot ${type}: the claim is ${status} (allowed: ${allowed.join(', ')})`;
  return new DomainError('claim.wrong_status', 'conflict', message);
}

function text(v: unknown, field: string, code = 'claim.text_required'): string {
  if (typeof v !== 'string' || v.trim() === '') throw new DomainError(code, 'rule', `${field} is required`, field);
  return v.trim();
}

function positive(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new DomainError(
      'claim.amount_not_positive',
      'rule',
      `the amount must be a positive number of cents (got ${String(v)})`,
      field,
    );
  }
  return v;
}

const optional = (s: string | undefined): string | null => (typeof s === 'string' && s.trim() !== '' ? s.trim() : null);
