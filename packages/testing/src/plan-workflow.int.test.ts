// The plan workflow on a real Temporal dev server and Postgres: every step of the lifecycle, its timers
// (with deadlines configured a few seconds away), reimbursement children, continue-as-new, and the
// event log agreeing with the workflow at the end.
import { randomUUID } from 'node:crypto';
import { appendPlanEvents, getPlanRow, readStream } from '@iap/db';
import { decide, EVENT_SCHEMA_VERSIONS, evolve, type PlanCommand, type PlanState } from '@iap/domain';
import { claimWorkflowId, planCommandUpdate, planWorkflowId, planWorkflowStart, SA, type CommandMeta } from '@iap/messages';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { recordFixture } from './fixtures.js';
import { mentions, QueryFaults } from './query-faults.js';
import { MUNI_A, startTestStack, type TestStack } from './stack.js';
import { DIRECTOR, draftCommand, FINANCE, fastConfig, meta, MUNI, NATIONAL, PlanDriver, PREPARER, SEMESTER_NOW, setBudget, TODAY } from './workflow-driver.js';

let stack: TestStack;
/** Lost answers on the worker's database connection, where a test arms them. */
const faults = new QueryFaults();
beforeAll(async () => {
  stack = await startTestStack({ workerDb: (db) => db.withPlugin(faults) });
});
afterEach(() => faults.clear());
afterAll(async () => {
  await stack?.close();
});

/** The refusal a workflow Update failed with: its code and kind, as the API maps them. */
async function refusalOf(p: Promise<unknown>): Promise<{ code: string; kind: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const d = (err.cause as { details?: unknown[] } | undefined)?.details?.[0] as { code: string; kind: string };
      return d;
    }
    throw err;
  }
  throw new Error('the command was accepted');
}

describe('plan workflow', () => {
  it('walks a municipal plan from draft to closed: consent, three approvals, delivery, a paid claim, semester end, evaluation', async () => {
    const p = await PlanDriver.start(stack, { config: fastConfig({ semesterEndsInMs: 15_000 }) });
    await p.consentAndSubmit();
    // Approval levels go in order: the national level cannot sign before the municipality.
    await p.send(DIRECTOR, { type: 'ApprovePlan', data: { level: 'school' } });
    expect((await refusalOf(p.send(NATIONAL, { type: 'ApprovePlan', data: { level: 'national' } }))).code).toBe('plan.approval_out_of_order');
    await p.send(MUNI, { type: 'ApprovePlan', data: { level: 'municipality' } });
    const approved = await p.send(NATIONAL, { type: 'ApprovePlan', data: { level: 'national' } });
    expect(approved.status).toBe('approved');

    await p.send(PREPARER, {
      type: 'LogConsultation',
      data: { consultationId: 'c1', measureId: 'm1', date: TODAY, providerType: 'teacher', subject: 'mathematics', minutes: 45, mode: 'in_person' },
    });
    await p.send(PREPARER, { type: 'ConfirmConsultation', data: { consultationId: 'c1' } });
    await p.send(PREPARER, {
      type: 'ClaimCompensation',
      data: { claimId: 'k1', measureId: 'm2', compensationType: 'public_transport', periodFrom: TODAY, periodTo: TODAY, amountCents: 2500, documentRefs: ['ticket-1'] },
    });

    // The claim runs in its own workflow; finance works it within the partner's budget; the plan hears
    // of every outcome.
    await setBudget(stack, MUNI_A, SEMESTER_NOW, 1_000_000);
    await p.claim('k1', FINANCE, { type: 'VerifyDocuments', data: {} });
    await p.claim('k1', FINANCE, { type: 'ApproveClaim', data: { approvedCents: 2000, reason: 'one ticket was not for school travel' } });
    await p.claim('k1', FINANCE, { type: 'PayClaim', data: { paidOn: TODAY, paymentRef: 'PAY-0001' } });
    const paid = await p.waitFor((s) => s.status !== 'none' && s.claims.some((c) => c.claimId === 'k1' && c.status === 'paid'));
    expect(paid.status === 'none' ? null : paid.claims[0]).toMatchObject({ approvedCents: 2000, paidCents: 2000, paymentRef: 'PAY-0001' });
    const claimRow = await stack.db.selectFrom('claims').selectAll().where('plan_id', '=', p.planId).executeTakeFirstOrThrow();
    expect(claimRow).toMatchObject({ claim_id: 'k1', status: 'paid', partner_id: MUNI_A, school_id: 'school-a', semester: SEMESTER_NOW });
    const budget = await stack.db.selectFrom('budgets').selectAll().where('partner_id', '=', MUNI_A).where('semester', '=', SEMESTER_NOW).executeTakeFirstOrThrow();
    expect(budget).toMatchObject({ allocated_cents: '1000000', approved_cents: '2000', paid_cents: '2000' });

    // Deletion is refused once money was used.
    expect((await refusalOf(p.send(DIRECTOR, { type: 'DeletePlan', data: { reason: 'learner left' } }))).kind).toBe('rule');

    // Semester end (a timer) opens the evaluation.
    await p.waitFor((s) => s.status === 'awaiting_evaluation');
    await p.send(PREPARER, {
      type: 'EvaluatePlan',
      data: {
        riskOutcomes: [
          { riskId: 'r1', change: 'reduced' },
          { riskId: 'r2', change: 'unchanged' },
        ],
        outcome: 'continues',
        narrative: 'Grades in mathematics rose to 5; transport still needed.',
      },
    });
    const closed = await p.send(PREPARER, { type: 'ClosePlan', data: {} });
    expect(closed.status).toBe('closed');
    const final = await p.handle.result();
    expect(final.status).toBe('closed');

    const { logState, workflowState, chainBreak } = await p.expectLogMatchesWorkflow();
    expect(chainBreak).toBeNull();
    expect(logState).toEqual(workflowState);
    const types = await p.eventTypes();
    expect(types).toEqual(
      expect.arrayContaining(['PlanDrafted', 'ConsentGranted', 'PlanApproved', 'ConsultationConfirmed', 'CompensationClaimPaid', 'SemesterEnded', 'PlanEvaluated', 'PlanClosed']),
    );
    await recordFixture(stack, p.handle.workflowId, 'plan-municipal-full-lifecycle');
    await recordFixture(stack, claimWorkflowId(p.planId, 'k1'), 'reimbursement-partial-approval-paid');
  }, 45_000);

  it('lets a closed plan carry over into the next semester while its workflow lingers', async () => {
    const p = await PlanDriver.start(stack, { config: fastConfig({ semesterEndsInMs: 8_000 }), closedGraceMs: 10_000 });
    await p.consentAndSubmit();
    await p.approveAll();
    await p.waitFor((s) => s.status === 'awaiting_evaluation');
    await p.send(PREPARER, {
      type: 'EvaluatePlan',
      data: { riskOutcomes: [{ riskId: 'r1', change: 'reduced' }, { riskId: 'r2', change: 'reduced' }], outcome: 'continues', narrative: 'Better.' },
    });
    await p.send(PREPARER, { type: 'ClosePlan', data: {} });
    const next = '00000000-0000-4000-8000-000000000001';
    const r = await p.send(PREPARER, { type: 'CarryOver', data: { nextPlanId: next } });
    expect(r.status).toBe('closed');
    expect(await p.eventTypes()).toEqual(expect.arrayContaining(['PlanClosed', 'PlanCarriedOver']));
    await p.handle.terminate('test done');
  });

  it('shows an operator a closed plan as finished work: Running with PlanStatus=closed and its grace, then Completed', async () => {
    const p = await PlanDriver.start(stack, { config: fastConfig({ semesterEndsInMs: 6_000 }), closedGraceMs: 4_000 });
    await p.consentAndSubmit();
    await p.approveAll();
    await p.waitFor((s) => s.status === 'awaiting_evaluation');
    await p.send(PREPARER, {
      type: 'EvaluatePlan',
      data: { riskOutcomes: [{ riskId: 'r1', change: 'reduced' }, { riskId: 'r2', change: 'reduced' }], outcome: 'continues', narrative: 'Better.' },
    });
    await p.send(PREPARER, { type: 'ClosePlan', data: {} });
    // The README's queries: finished work in its grace, then finished for good.
    const listed = async (query: string) => {
      const ids: string[] = [];
      for await (const w of stack.client.workflow.list({ query: `WorkflowId = '${p.handle.workflowId}' AND ${query}` })) ids.push(w.workflowId);
      return ids;
    };
    const eventually = async (query: string) => {
      for (let i = 0; i < 50 && (await listed(query)).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      return listed(query);
    };
    expect(await eventually(`PlanStatus = 'closed' AND ExecutionStatus = 'Running'`)).toEqual([p.handle.workflowId]);
    const metadata = await p.handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toMatch(/^Plan closed: finished work\. Until \d{4}-\d{2}-\d{2}T.*Z it takes a carry-over or a late claim outcome; then the workflow completes\.$/);
    expect((await p.handle.result()).status).toBe('closed');
    expect(await eventually(`PlanStatus = 'closed' AND ExecutionStatus = 'Completed'`)).toEqual([p.handle.workflowId]);
  }, 45_000);

  it('closes the plan when consent is refused', async () => {
    const p = await PlanDriver.start(stack);
    await p.send(PREPARER, { type: 'RequestConsent', data: {} });
    const r = await p.send(PREPARER, { type: 'RefuseConsent', data: { refusedBy: 'parent', reason: 'the family moves abroad' } });
    expect(r.status).toBe('consent_refused');
    expect((await p.handle.result()).status).toBe('consent_refused');
    await recordFixture(stack, p.handle.workflowId, 'plan-consent-refused');
  });

  it('reminds, then expires an unanswered consent request', async () => {
    const p = await PlanDriver.start(stack, { config: fastConfig({ reminderMs: 1_000, expiryMs: 2_500 }) });
    await p.send(PREPARER, { type: 'RequestConsent', data: {} });
    const final = await p.handle.result();
    expect(final.status).toBe('consent_expired');
    expect(await p.eventTypes()).toEqual(['PlanDrafted', 'ConsentRequested', 'ConsentReminderSent', 'ConsentExpired']);
    const events = await readStream(stack.db, p.planId);
    expect(events[2]!.metadata).toMatchObject({ actorRole: 'system' });
    await recordFixture(stack, p.handle.workflowId, 'plan-consent-expired');
  });

  it("skips the municipal level for a state vocational school's plan", async () => {
    const p = await PlanDriver.start(stack, { partnerType: 'state_vocational' });
    await p.consentAndSubmit();
    await p.send(DIRECTOR, { type: 'ApprovePlan', data: { level: 'school' } });
    expect(await refusalOf(p.send(MUNI, { type: 'ApprovePlan', data: { level: 'municipality' } }))).toMatchObject({ code: 'plan.approval_level_not_applicable', kind: 'rule' });
    const r = await p.send(NATIONAL, { type: 'ApprovePlan', data: { level: 'national' } });
    expect(r.status).toBe('approved');
  });

  it('sends a revised plan back through every approval level, keeping support already given', async () => {
    const p = await PlanDriver.start(stack);
    await p.consentAndSubmit();
    await p.approveAll();
    await p.send(PREPARER, {
      type: 'LogConsultation',
      data: { consultationId: 'c1', measureId: 'm1', date: TODAY, providerType: 'teacher', subject: 'mathematics', minutes: 40, mode: 'in_person' },
    });
    const s0 = await p.state();
    if (s0.status === 'none') throw new Error('no plan');
    const revised = await p.send(PREPARER, {
      type: 'RevisePlan',
      data: {
        risks: s0.risks,
        measures: [...s0.measures, { measureId: 'm3', kind: 'consultation', riskIds: ['r1'], justification: 'psychologist', providerType: 'psychologist', plannedMinutes: 120 }],
        reason: 'learner needs a psychologist too',
      },
    });
    expect(revised.status).toBe('in_revision');
    await p.send(PREPARER, { type: 'SubmitForApproval', data: {} });
    await p.approveAll();
    const s = await p.state();
    expect(s.status).toBe('in_implementation');
    if (s.status === 'none') throw new Error('no plan');
    expect(s.measures.map((m) => m.measureId)).toEqual(['m1', 'm2', 'm3']);
    expect(s.consultations.map((c) => c.consultationId)).toEqual(['c1']);
    await recordFixture(stack, p.handle.workflowId, 'plan-revised-reapproved');
  });

  it('suspends and resumes within the semester', async () => {
    const p = await PlanDriver.start(stack);
    await p.consentAndSubmit();
    await p.approveAll();
    const suspended = await p.send(DIRECTOR, { type: 'SuspendPlan', data: { reason: 'long illness' } });
    expect(suspended.status).toBe('suspended');
    expect((await refusalOf(p.send(PREPARER, { type: 'SubmitForApproval', data: {} }))).kind).toBe('conflict');
    const resumed = await p.send(DIRECTOR, { type: 'ResumePlan', data: { reason: 'back at school' } });
    expect(['in_revision', 'in_approval']).toContain(resumed.status);
  });

  it('marks the evaluation overdue when it is late, and still takes it afterwards', async () => {
    const p = await PlanDriver.start(stack, { config: fastConfig({ semesterEndsInMs: 8_000, evaluationDueMs: 1_000 }) });
    await p.consentAndSubmit();
    await p.approveAll();
    const overdue = await p.waitFor((s) => s.status === 'awaiting_evaluation' && s.evaluationOverdue);
    expect(overdue.status).toBe('awaiting_evaluation');
    await p.send(PREPARER, {
      type: 'EvaluatePlan',
      data: { riskOutcomes: [{ riskId: 'r1', change: 'unchanged' }, { riskId: 'r2', change: 'increased' }], outcome: 'left_school', narrative: 'Left school in December.' },
    });
    expect(await p.eventTypes()).toEqual(expect.arrayContaining(['SemesterEnded', 'EvaluationOverdue', 'PlanEvaluated']));
  });

  it('closes a plan that was never approved when the semester ends', async () => {
    const p = await PlanDriver.start(stack, { config: fastConfig({ semesterEndsInMs: 4_000 }) });
    const final = await p.handle.result();
    expect(final.status).toBe('closed');
    expect(await p.eventTypes()).toEqual(['PlanDrafted', 'SemesterEnded', 'PlanClosed']);
  });

  it('refuses a command for a stale version and records nothing', async () => {
    const p = await PlanDriver.start(stack);
    const before = await p.eventTypes();
    const r = await refusalOf(p.send(PREPARER, { type: 'RequestConsent', data: {} }, 7));
    expect(r).toMatchObject({ code: 'plan.stale_version', kind: 'stale' });
    expect(await p.eventTypes()).toEqual(before);
  });

  it('publishes school, municipality, semester, status and risk types as search attributes', async () => {
    const p = await PlanDriver.start(stack);
    await p.send(PREPARER, { type: 'RequestConsent', data: {} });
    const desc = await p.handle.describe();
    expect(desc.typedSearchAttributes.get(SA.status)).toBe('awaiting_consent');
    expect(desc.typedSearchAttributes.get(SA.school)).toBe('school-a');
    expect(desc.typedSearchAttributes.get(SA.semester)).toBe(SEMESTER_NOW);
    expect(desc.typedSearchAttributes.get(SA.riskTypes)).toEqual(['economic', 'learning']);

    // Published when they change, not after every command: a logged consultation leaves them as they were.
    const upserts = async () => ((await p.handle.fetchHistory()).events ?? []).filter((e) => e.upsertWorkflowSearchAttributesEventAttributes).length;
    await p.send(PREPARER, { type: 'GrantConsent', data: { givenBy: 'parent', signedOn: TODAY, documentRef: 'consent-scan-1' } });
    await p.send(PREPARER, { type: 'SubmitForApproval', data: {} });
    await p.approveAll();
    const consult = (id: string) =>
      p.send(PREPARER, { type: 'LogConsultation', data: { consultationId: id, measureId: 'm1', date: TODAY, providerType: 'teacher', subject: 'mathematics', minutes: 45, mode: 'in_person' } });
    await consult('c1'); // the first one starts the implementation: the status changes
    const before = await upserts();
    await consult('c2');
    await consult('c3');
    expect(await upserts()).toBe(before);
    expect((await p.handle.describe()).typedSearchAttributes.get(SA.status)).toBe((await p.state()).status);
  });

  it("starts a plan with no more history than it needs: no patch markers, the start's search attributes, one timer", async () => {
    const p = await PlanDriver.start(stack);
    const events = (await p.handle.fetchHistory()).events ?? [];
    const kinds = events.map((e) => Object.keys(e).find((k) => k.endsWith('EventAttributes'))?.replace(/EventAttributes$/, ''));
    // The append's local-activity marker only: this generation's behaviours need no patch markers.
    expect(events.filter((e) => e.markerRecordedEventAttributes).map((e) => e.markerRecordedEventAttributes?.markerName)).toEqual(['core_local_activity']);
    expect(kinds).not.toContain('upsertWorkflowSearchAttributes');
    expect(kinds.filter((k) => k === 'timerStarted')).toHaveLength(1);
    // Searchable as a draft from its start.
    const desc = await p.handle.describe();
    expect(desc.typedSearchAttributes.get(SA.status)).toBe('draft');
    expect(desc.typedSearchAttributes.get(SA.riskTypes)).toEqual(['economic', 'learning']);
  });

  it('ends a workflow whose create was refused once its grace has passed, and keeps one whose draft came within it', async () => {
    const startRefused = async () => {
      const planId = randomUUID();
      const draft = draftCommand(planId);
      const handle = stack.client.workflow.getHandle(planWorkflowId(planId));
      // The DraftPlan names another plan: refused, but Update-with-Start has started the workflow.
      const refused = stack.client.workflow.executeUpdateWithStart(planCommandUpdate, {
        args: [{ command: { ...draft, data: { ...draft.data, planId: randomUUID() } }, meta: meta(PREPARER) }],
        startWorkflowOperation: new WithStartWorkflowOperation('planWorkflow', {
          workflowId: planWorkflowId(planId),
          taskQueue: stack.taskQueue,
          ...planWorkflowStart({ planId, config: fastConfig(), draftGraceMs: 2_000 }, draft.data),
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
      expect((await refusalOf(refused)).code).toBe('plan.id_mismatch');
      return { planId, draft, handle };
    };

    const abandoned = await startRefused();
    await expect(abandoned.handle.result()).rejects.toMatchObject({ cause: { type: 'NotDrafted' } });

    const corrected = await startRefused();
    const r = await corrected.handle.executeUpdate(planCommandUpdate, { args: [{ command: corrected.draft, meta: meta(PREPARER) }] });
    expect(r.status).toBe('draft');
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect((await corrected.handle.describe()).status.name).toBe('RUNNING');
    await corrected.handle.terminate('test done');
  });

  it('keeps one timer per deadline: a new plan starts one, a logged consultation none, a moved deadline replaces it', async () => {
    const p = await PlanDriver.start(stack);
    const timers = async () => {
      const events = (await p.handle.fetchHistory()).events ?? [];
      return { started: events.filter((e) => e.timerStartedEventAttributes).length, cancelled: events.filter((e) => e.timerCanceledEventAttributes).length };
    };
    // The create's own DraftPlan needs no grace timer: the only timer is the semester end's.
    expect(await timers()).toEqual({ started: 1, cancelled: 0 });
    await p.send(PREPARER, { type: 'GrantConsent', data: { givenBy: 'parent', signedOn: TODAY, documentRef: 'consent-scan-1' } });
    await p.send(PREPARER, { type: 'SubmitForApproval', data: {} });
    await p.approveAll();
    const consult = (id: string) =>
      p.send(PREPARER, { type: 'LogConsultation', data: { consultationId: id, measureId: 'm1', date: TODAY, providerType: 'teacher', subject: 'mathematics', minutes: 45, mode: 'in_person' } });
    await consult('c1');
    await consult('c2');
    // Six commands, and the semester end still waits on its first timer.
    expect(await timers()).toEqual({ started: 1, cancelled: 0 });

    // A consent request brings an earlier deadline (the reminder): its timer replaces the semester end's.
    const q = await PlanDriver.start(stack, { config: fastConfig({ reminderMs: 60_000, expiryMs: 120_000 }) });
    await q.send(PREPARER, { type: 'RequestConsent', data: {} });
    const events = (await q.handle.fetchHistory()).events ?? [];
    expect(events.filter((e) => e.timerStartedEventAttributes).length).toBe(2);
    expect(events.filter((e) => e.timerCanceledEventAttributes).length).toBe(1);
  });

  it("refuses a command from outside the plan's scope as if the plan did not exist, recording nothing", async () => {
    const p = await PlanDriver.start(stack);
    const otherSchool = { schoolId: 'school-b', municipalityId: 'muni-b', partnerId: 'muni-b' };
    const refused = p.handle.executeUpdate(planCommandUpdate, {
      args: [{ command: { type: 'RequestConsent', data: {} }, meta: { ...meta(PREPARER), scope: otherSchool } }],
    });
    expect(await refusalOf(refused)).toMatchObject({ code: 'not_found', kind: 'not_found' });
    // Before any other rule: a stale If-Match from another municipality's coordinator, for a command that
    // role may not send, is still "not found".
    const stale = p.handle.executeUpdate(planCommandUpdate, { args: [{ command: { type: 'RequestConsent', data: {} }, meta: { ...meta(MUNI, 9), scope: otherSchool } }] });
    expect(await refusalOf(stale)).toMatchObject({ kind: 'not_found' });
    expect(await p.eventTypes()).toEqual(['PlanDrafted']);
    expect((await p.state()).version).toBe(1);
    // The plan's own school is in scope.
    const own = { schoolId: 'school-a', municipalityId: MUNI_A, partnerId: MUNI_A };
    const r = await p.handle.executeUpdate(planCommandUpdate, { args: [{ command: { type: 'RequestConsent', data: {} }, meta: { ...meta(PREPARER), scope: own } }] });
    expect(r.status).toBe('awaiting_consent');
    expect(await p.eventTypes()).toEqual(['PlanDrafted', 'ConsentRequested']);
  });

  it('takes up events its own run recorded for commands whose workflow task was lost, whichever of them comes back first', async () => {
    const p = await PlanDriver.start(stack);
    await p.consentAndSubmit();
    await p.approveAll();
    const before = await p.state();
    const { runId } = await p.handle.describe();
    // What a worker that died after local appends' commits leaves when their Updates do not come back in order:
    // two commands' events and the plan's row committed under this run, the workflow still behind them.
    // Sent under an Idempotency-Key, as the API sends them: the key's Update id is the command's id.
    const lost = [
      lostConsultation('lost-1'),
      lostConsultation('lost-2'),
    ];
    let at = before;
    const versions: number[][] = [];
    for (const l of lost) {
      const written = await recordLostCommand(p, at, l, runId);
      versions.push(written.versions);
      at = written.after;
    }

    // The second comes back first, in a new request under its key: the first's events are taken up, the second
    // finds its own, and is answered with them. Then the first's retry is answered with its own; nothing is
    // written twice. Another actor reusing a key is not answered with them (its own command is judged).
    const second = await retryOf(p, lost[1]!);
    expect(second.events.map((e) => e.version)).toEqual(versions[1]);
    const first = await retryOf(p, lost[0]!);
    expect(first.events.map((e) => e.version)).toEqual(versions[0]);
    expect(
      await refusalOf(retryOf(p, lost[0]!, DIRECTOR)),
    ).toMatchObject({ code: 'plan.duplicate_consultation' });

    // A new command goes on from there.
    const next = await p.send(PREPARER, consultation('c-next'));
    expect(next.version).toBe(at.version + 1);
    const s = await p.state();
    if (s.status === 'none') throw new Error('no plan');
    expect(s.consultations.map((c) => c.consultationId)).toEqual(['lost-1', 'lost-2', 'c-next']);
    const { logState, workflowState, chainBreak } = await p.expectLogMatchesWorkflow();
    expect(chainBreak).toBeNull();
    expect(logState).toEqual(workflowState);
    expect((await getPlanRow(stack.db, p.planId))?.version).toBe(s.version);
  });

  it('retries, rather than refuses, a command whose take-up check loses its database connection', async () => {
    const p = await PlanDriver.start(stack);
    await p.consentAndSubmit();
    await p.approveAll();
    const { runId } = await p.handle.describe();
    const lost = lostConsultation('lost');
    const { versions, after } = await recordLostCommand(p, await p.state(), lost, runId);
    // The next command's append meets the lost one's events; the read of what this run recorded after its
    // version (recordedByRunAfter) loses its answer once. The append is retried and takes them up.
    faults.failNext(mentions('events', 'stream_version', '>', p.planId));
    const next = await p.send(PREPARER, consultation('c-next'));
    expect(faults.delivered).toBe(1);
    expect(next.version).toBe(after.version + 1);
    const retry = await retryOf(p, lost);
    expect(retry.events.map((e) => e.version)).toEqual(versions);
    const s = await p.state();
    if (s.status === 'none') throw new Error('no plan');
    expect(s.consultations.map((c) => c.consultationId)).toEqual(['lost', 'c-next']);
    const { logState, workflowState } = await p.expectLogMatchesWorkflow();
    expect(logState).toEqual(workflowState);
  });

  it('answers the retry of a command taken up after a lost workflow task in a run continued as new since', async () => {
    const p = await PlanDriver.start(stack, { continueAsNewAfterEvents: 40 });
    await p.consentAndSubmit();
    await p.approveAll();
    const { runId } = await p.handle.describe();
    const lost = lostConsultation('lost');
    const { versions } = await recordLostCommand(p, await p.state(), lost, runId);
    // Another command takes the lost one up; more follow until the run continues as new.
    for (let i = 1; (await p.handle.describe()).runId === runId; i++) {
      if (i > 30) throw new Error('the run did not continue as new');
      await p.send(PREPARER, consultation(`c${i}`));
    }
    // The lost command's retry reaches the new run: answered with its recorded events, nothing written again.
    const retry = await retryOf(p, lost);
    expect(retry.events.map((e) => e.version)).toEqual(versions);
    const s = await p.state();
    if (s.status === 'none') throw new Error('no plan');
    expect(s.consultations.filter((c) => c.consultationId === 'lost')).toHaveLength(1);
    const { logState, workflowState } = await p.expectLogMatchesWorkflow();
    expect(logState).toEqual(workflowState);
  });

  it('continues as new when its history grows, losing nothing', async () => {
    const p = await PlanDriver.start(stack, { continueAsNewAfterEvents: 40 });
    const firstRun = (await p.handle.describe()).runId;
    await p.consentAndSubmit();
    await p.approveAll();
    for (let i = 1; i <= 8; i++) {
      await p.send(PREPARER, {
        type: 'LogConsultation',
        data: { consultationId: `c${i}`, measureId: 'm1', date: TODAY, providerType: 'teacher', subject: 'mathematics', minutes: 10, mode: 'in_person' },
      });
    }
    const lastRun = (await p.handle.describe()).runId;
    expect(lastRun).not.toBe(firstRun);
    const s = await p.state();
    if (s.status === 'none') throw new Error('no plan');
    expect(s.consultations).toHaveLength(8);
    const { logState, workflowState } = await p.expectLogMatchesWorkflow();
    expect(logState).toEqual(workflowState);
  });
});

/** A consultation logged on the plan's measure m1. */
const consultation = (id: string): PlanCommand => ({
  type: 'LogConsultation',
  data: { consultationId: id, measureId: 'm1', date: TODAY, providerType: 'teacher', subject: 'mathematics', minutes: 45, mode: 'in_person' },
});

/** A consultation sent under an Idempotency-Key, as the API sends it: the key's Update id is the command's id. */
const lostConsultation = (id: string): { command: PlanCommand; meta: CommandMeta } => ({
  command: consultation(id),
  meta: { ...meta(PREPARER), commandId: `idem:${PREPARER.id}:${id}` },
});

/** The same command again, in a new request under the same key (by `who`: the key's owner unless told). */
const retryOf = (p: PlanDriver, l: { command: PlanCommand; meta: CommandMeta }, who = PREPARER) =>
  p.handle.executeUpdate(planCommandUpdate, { args: [{ command: l.command, meta: { ...meta(who), commandId: l.meta.commandId } }] });

/**
 * What a worker that died after a local append's commit leaves: the command's events and the plan's row
 * committed under `runId`, the workflow still at `at`. Returns the versions written and the state after them.
 */
async function recordLostCommand(p: PlanDriver, at: PlanState, l: { command: PlanCommand; meta: CommandMeta }, runId: string) {
  const occurredAt = new Date().toISOString();
  const decided = decide(l.command, at, { now: occurredAt, actor: l.meta.actor, config: fastConfig() });
  const after = decided.reduce((s, e, i) => evolve(s, e, { occurredAt, version: at.version + i + 1 }), at);
  const written = await appendPlanEvents(
    stack.db,
    p.planId,
    at.version,
    decided.map((e, i) => ({
      eventId: `${p.planId}/${at.version + i + 1}`,
      type: e.type,
      schemaVersion: EVENT_SCHEMA_VERSIONS[e.type],
      data: e.data,
      occurredAt,
      metadata: {
        actorId: l.meta.actor.id,
        actorRole: l.meta.actor.role,
        schoolId: l.meta.schoolId,
        requestId: l.meta.requestId,
        commandId: l.meta.commandId,
        correlationId: l.meta.requestId,
        causationId: null,
        workflowId: p.handle.workflowId,
        runId,
      },
    })),
    after,
  );
  expect(written?.events).toHaveLength(decided.length);
  return { versions: decided.map((_, i) => at.version + i + 1), after };
}
