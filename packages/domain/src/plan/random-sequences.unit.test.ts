// Random command sequences against the plan decider: whatever order, role or data the commands come in,
// accepted ones keep the plan's invariants, and folding the emitted events from scratch (an auditor's
// replay, a projection rebuild) gives the same state the live fold reached.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Role } from '../actor.js';
import { DEFAULT_DOMAIN_CONFIG } from '../config.js';
import { isDomainError } from '../errors.js';
import { sampleDraft } from '../testing/plan-fixtures.js';
import type { PlanCommand } from './commands.js';
import { decide } from './decider.js';
import { requiredRolesFor } from './rules.js';
import type { PlanEvent } from './events.js';
import { evolve, fold } from './evolve.js';
import { plannedVsDelivered } from './progress.js';
import { initialState, type PlanState } from './state.js';

const ROLES: Role[] = ['preparer', 'school_director', 'municipality_coordinator', 'national_coordinator', 'finance', 'auditor', 'system'];
const DAYS = ['2025-09-03', '2025-09-04', '2025-10-01', '2025-12-30', '2026-01-02'];
const ids = fc.constantFrom('c1', 'c2', 'c3');
const claims = fc.constantFrom('k1', 'k2');
const cents = fc.integer({ min: -100, max: 4_000 });

const command: fc.Arbitrary<PlanCommand> = fc.oneof(
  fc.constant<PlanCommand>({ type: 'RequestConsent', data: {} }),
  fc.constant<PlanCommand>({ type: 'SendConsentReminder', data: {} }),
  fc.constant<PlanCommand>({ type: 'ExpireConsent', data: {} }),
  fc.constantFrom<PlanCommand>(
    { type: 'GrantConsent', data: { givenBy: 'parent', signedOn: '2025-09-02', documentRef: 'scan' } },
    { type: 'GrantConsent', data: { givenBy: 'learner', learnerAge: 16, signedOn: '2025-09-02', documentRef: 'scan' } },
    { type: 'RefuseConsent', data: { refusedBy: 'parent' } },
  ),
  fc.constant<PlanCommand>({ type: 'SubmitForApproval', data: {} }),
  fc.constantFrom('school', 'municipality', 'national').map<PlanCommand>((level) => ({ type: 'ApprovePlan', data: { level: level as 'school' } })),
  fc.constantFrom('school', 'national').map<PlanCommand>((level) => ({ type: 'ReturnForRevision', data: { level: level as 'school', comment: 'more detail' } })),
  fc.constant<PlanCommand>({ type: 'StartImplementation', data: {} }),
  fc.record({ id: ids, day: fc.constantFrom(...DAYS), minutes: fc.integer({ min: -5, max: 120 }), remote: fc.boolean() }).map<PlanCommand>((c) => ({
    type: 'LogConsultation',
    data: {
      consultationId: c.id,
      measureId: 'm1',
      date: c.day,
      providerType: 'teacher',
      subject: 'mathematics',
      minutes: c.minutes,
      mode: c.remote ? 'remote' : 'in_person',
      ...(c.remote ? { directorOrderRef: 'order-1' } : {}),
    },
  })),
  fc.record({ id: ids, day: fc.constantFrom(...DAYS) }).map<PlanCommand>((c) => ({ type: 'ConfirmConsultation', data: { consultationId: c.id, confirmedAt: `${c.day}T18:00:00.000Z` } })),
  fc.record({ id: ids, minutes: fc.integer({ min: 1, max: 90 }) }).map<PlanCommand>((c) => ({
    type: 'CorrectConsultation',
    data: { consultationId: c.id, measureId: 'm1', date: '2025-09-03', providerType: 'teacher', minutes: c.minutes, mode: 'in_person', reason: 'typo' },
  })),
  fc.record({ id: claims, amount: cents }).map<PlanCommand>((c) => ({
    type: 'ClaimCompensation',
    data: { claimId: c.id, measureId: 'm2', compensationType: 'public_transport', periodFrom: '2025-09-01', periodTo: '2025-09-30', amountCents: c.amount, documentRefs: ['t'] },
  })),
  fc.record({ id: claims, amount: cents }).map<PlanCommand>((c) => ({ type: 'RecordClaimApproval', data: { claimId: c.id, approvedCents: c.amount } })),
  fc.record({ id: claims, amount: cents }).map<PlanCommand>((c) => ({
    type: 'RecordClaimPayment',
    data: { claimId: c.id, paidCents: c.amount, paidOn: '2025-10-10', paymentRef: 'PO' },
  })),
  claims.map<PlanCommand>((id) => ({ type: 'RecordClaimRejection', data: { claimId: id, reason: 'no receipt' } })),
  fc.constant<PlanCommand>({ type: 'SuspendPlan', data: { reason: 'illness' } }),
  fc.constant<PlanCommand>({ type: 'ResumePlan', data: {} }),
  fc.constant<PlanCommand>({ type: 'DeletePlan', data: { reason: 'left' } }),
  fc.constant<PlanCommand>({ type: 'EndSemester', data: {} }),
  fc.constant<PlanCommand>({ type: 'MarkEvaluationOverdue', data: {} }),
  fc.constant<PlanCommand>({
    type: 'EvaluatePlan',
    data: {
      riskOutcomes: [
        { riskId: 'r1', change: 'reduced' },
        { riskId: 'r2', change: 'unchanged' },
      ],
      outcome: 'continues',
      narrative: 'ok',
    },
  }),
  fc.constant<PlanCommand>({ type: 'ClosePlan', data: {} }),
);

// Mostly the right role for the command (so sequences get deep into the lifecycle), sometimes any role.
const step = fc.record({
  command,
  anyRole: fc.constantFrom(...ROLES),
  rightRole: fc.nat(),
  wrongRole: fc.integer({ min: 0, max: 9 }),
  day: fc.constantFrom(...DAYS),
  hour: fc.integer({ min: 6, max: 20 }),
});

/** The lifecycle's usual path; random steps are interleaved with it so sequences reach every stage. */
const HAPPY: ReadonlyArray<{ command: PlanCommand; role: Role; now: string }> = [
  { command: { type: 'RequestConsent', data: {} }, role: 'preparer', now: '2025-09-02T08:00:00.000Z' },
  { command: { type: 'GrantConsent', data: { givenBy: 'parent', signedOn: '2025-09-02', documentRef: 'scan' } }, role: 'preparer', now: '2025-09-02T09:00:00.000Z' },
  { command: { type: 'SubmitForApproval', data: {} }, role: 'preparer', now: '2025-09-02T10:00:00.000Z' },
  { command: { type: 'ApprovePlan', data: { level: 'school' } }, role: 'school_director', now: '2025-09-02T11:00:00.000Z' },
  { command: { type: 'ApprovePlan', data: { level: 'municipality' } }, role: 'municipality_coordinator', now: '2025-09-02T12:00:00.000Z' },
  { command: { type: 'ApprovePlan', data: { level: 'national' } }, role: 'national_coordinator', now: '2025-09-02T13:00:00.000Z' },
  {
    command: { type: 'LogConsultation', data: { consultationId: 'c1', measureId: 'm1', date: '2025-09-03', providerType: 'teacher', minutes: 45, mode: 'in_person' } },
    role: 'preparer',
    now: '2025-09-03T15:00:00.000Z',
  },
  { command: { type: 'ConfirmConsultation', data: { consultationId: 'c1' } }, role: 'preparer', now: '2025-09-03T16:00:00.000Z' },
  {
    command: {
      type: 'ClaimCompensation',
      data: { claimId: 'k1', measureId: 'm2', compensationType: 'public_transport', periodFrom: '2025-09-01', periodTo: '2025-09-30', amountCents: 1_000, documentRefs: ['t'] },
    },
    role: 'preparer',
    now: '2025-10-01T08:00:00.000Z',
  },
  { command: { type: 'RecordClaimApproval', data: { claimId: 'k1', approvedCents: 900 } }, role: 'finance', now: '2025-10-02T08:00:00.000Z' },
  { command: { type: 'RecordClaimPayment', data: { claimId: 'k1', paidCents: 900, paidOn: '2025-10-03', paymentRef: 'PO' } }, role: 'finance', now: '2025-10-03T08:00:00.000Z' },
  { command: { type: 'SuspendPlan', data: { reason: 'illness' } }, role: 'school_director', now: '2025-10-04T08:00:00.000Z' },
  { command: { type: 'ResumePlan', data: {} }, role: 'school_director', now: '2025-10-20T08:00:00.000Z' },
  { command: { type: 'SubmitForApproval', data: {} }, role: 'preparer', now: '2025-10-20T09:00:00.000Z' },
  { command: { type: 'ApprovePlan', data: { level: 'school' } }, role: 'school_director', now: '2025-10-20T10:00:00.000Z' },
  { command: { type: 'ApprovePlan', data: { level: 'municipality' } }, role: 'municipality_coordinator', now: '2025-10-20T11:00:00.000Z' },
  { command: { type: 'ApprovePlan', data: { level: 'national' } }, role: 'national_coordinator', now: '2025-10-20T12:00:00.000Z' },
  { command: { type: 'EndSemester', data: {} }, role: 'system', now: '2026-01-01T00:00:00.000Z' },
  {
    command: { type: 'EvaluatePlan', data: { riskOutcomes: [{ riskId: 'r1', change: 'reduced' }, { riskId: 'r2', change: 'unchanged' }], outcome: 'continues', narrative: 'ok' } },
    role: 'preparer',
    now: '2026-01-05T08:00:00.000Z',
  },
  { command: { type: 'ClosePlan', data: {} }, role: 'preparer', now: '2026-01-05T09:00:00.000Z' },
];

function checkInvariants(s: PlanState): void {
  if (s.status === 'none') return;
  for (const c of s.claims) {
    expect(c.amountCents).toBeGreaterThan(0);
    if (c.approvedCents !== null) expect(c.approvedCents).toBeLessThanOrEqual(c.amountCents);
    if (c.paidCents !== null) {
      expect(c.approvedCents).not.toBeNull();
      expect(c.paidCents).toBeLessThanOrEqual(c.approvedCents!);
    }
  }
  expect(new Set(s.claims.map((c) => c.claimId)).size).toBe(s.claims.length);
  // Every consultation is in the plan once, and delivered minutes count each confirmed one once.
  expect(new Set(s.consultations.map((c) => c.consultationId)).size).toBe(s.consultations.length);
  const confirmed = s.consultations.reduce((n, c) => n + (c.confirmedMinutes ?? 0), 0);
  const delivered = plannedVsDelivered(s).reduce((n, m) => n + (m.kind === 'consultation' ? m.deliveredMinutes : 0), 0);
  expect(delivered).toBe(confirmed);
  for (const c of s.consultations) if (c.confirmedMinutes !== null) expect(c.confirmedMinutes).toBeGreaterThan(0);
}

describe('random command sequences', () => {
  it('keep the invariants, and a replay of the emitted events reaches the same state', () => {
    const reached = new Set<string>();
    fc.assert(
      fc.property(fc.array(fc.oneof({ arbitrary: fc.constant(null), weight: 4 }, { arbitrary: step, weight: 1 }), { minLength: 1, maxLength: 80 }), (steps) => {
        let next = 0;
        let state = evolve(initialState(), { type: 'PlanDrafted', data: { ...sampleDraft(), preparedBy: 'p' } } as PlanEvent, {
          occurredAt: '2025-09-01T08:00:00.000Z',
          version: 1,
        });
        const log: Array<{ event: PlanEvent; meta: { occurredAt: string; version: number } }> = [
          { event: { type: 'PlanDrafted', data: { ...sampleDraft(), preparedBy: 'p' } } as PlanEvent, meta: { occurredAt: '2025-09-01T08:00:00.000Z', version: 1 } },
        ];
        for (const st of steps) {
          let cmd: PlanCommand;
          let role: Role;
          let now: string;
          if (st === null) {
            const h = HAPPY[next++];
            if (!h) continue;
            ({ command: cmd, role, now } = h);
          } else {
            const allowed = requiredRolesFor(st.command.type);
            cmd = st.command;
            role = st.wrongRole === 0 || allowed.length === 0 ? st.anyRole : allowed[st.rightRole % allowed.length]!;
            now = `${st.day}T${String(st.hour).padStart(2, '0')}:00:00.000Z`;
          }
          let events: PlanEvent[];
          try {
            events = decide(cmd, state, { now, actor: { id: `u-${role}`, role }, config: DEFAULT_DOMAIN_CONFIG });
          } catch (e) {
            // A refusal is always a typed domain error, never a crash, and changes nothing.
            expect(isDomainError(e), String(e)).toBe(true);
            continue;
          }
          for (const event of events) {
            const meta = { occurredAt: now, version: state.version + 1 };
            state = evolve(state, event, meta);
            log.push({ event, meta });
          }
          checkInvariants(state);
          reached.add(state.status);
          if (state.status !== 'none' && state.claims.some((c) => c.status === 'paid')) reached.add('a claim paid');
          if (state.status !== 'none' && state.consultations.some((c) => c.confirmedMinutes !== null)) reached.add('a consultation confirmed');
        }
        expect(fold(log, initialState())).toEqual(state);
      }),
      { numRuns: 400, seed: 424242 },
    );
    // The sequences went deep enough to mean something.
    expect([...reached]).toEqual(
      expect.arrayContaining(['approved', 'in_implementation', 'suspended', 'awaiting_evaluation', 'closed', 'deleted', 'a claim paid', 'a consultation confirmed']),
    );
  });
});
