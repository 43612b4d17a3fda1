// The programme's reports end to end: `iap simulate` drives a small semester through the HTTP API (a real
// port, real Temporal and Postgres) and writes a ledger of its input; every report figure is then checked
// against counts computed here from that ledger alone. Role scope, filters and CSV are checked, and a fresh
// rebuild of every projection matches the live ones after the semester.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { checkProjections, projectUntilIdle, readCheckpoint, rebuildProjections, type ReportDatabase, type ReportResult } from '@iap/db';
import { COMPENSATION_TYPES, LEARNER_OUTCOMES, PLAN_STATUSES, RISK_TYPES } from '@iap/domain';
import { REPO_ROOT } from '@iap/infra';
import type { TokenSubject } from '@iap/runtime';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, TEST_JWT_SECRET, type TestStack } from './stack.js';
import { fastConfig, SEMESTER_NOW } from './workflow-driver.js';

// The ledger `iap simulate --ledger` writes (only what this test reads).
interface SimSchool { schoolId: string; municipalityId: string; partnerId: string; partnerType: string }
interface SimPlan {
  key: string;
  learnerRef: string;
  school: SimSchool;
  risks: { riskId: string; type: string }[];
  measures: { measureId: string; kind: string; providerType?: string; subject?: string; plannedMinutes?: number }[];
  fate: 'draft' | 'refused' | 'deleted' | 'in_approval' | 'approved';
  consultations: { measureId: string; minutes: number; confirm: boolean }[];
  claims: { compensationType: string; amountCents: number; decision: 'reject' | 'approve'; approvedCents: number | null; pay: boolean }[];
  evaluation: { riskOutcomes: { riskId: string; change: string }[]; outcome: string } | null;
}
interface Ledger { plans: SimPlan[]; outcomes: { key: string; planId: string | null; evaluatedLate: boolean | null; error: string | null }[] }

let stack: TestStack;
let ledger: Ledger;
let tmp: string;

/** The log's last event in commit order, whatever other databases' open transactions hold back (this file's writers are done). */
async function logHead(): Promise<{ transactionId: string; globalPosition: string }> {
  const { rows } = await sql<{ transactionId: string; globalPosition: string }>`
    select transaction_id::text as "transactionId", global_position::text as "globalPosition" from events
    order by transaction_id desc, global_position desc limit 1`.execute(stack.db);
  return rows[0]!;
}

beforeAll(async () => {
  // The semester ends a few seconds after the simulation's delivery phase, and evaluations fall due soon after.
  stack = await startTestStack({ domainConfig: fastConfig({ semesterEndsInMs: 30_000, evaluationDueMs: 1_500 }) });
  const url = await stack.app.listen({ port: 0, host: '127.0.0.1' });
  tmp = await mkdtemp(path.join(tmpdir(), 'iap-sim-'));
  const ledgerFile = path.join(tmp, 'ledger.json');
  await promisify(execFile)(
    process.execPath,
    [
      path.join(REPO_ROOT, 'services/cli/dist/main.js'), 'simulate', '--api', url, '--plans', '16', '--municipalities', '2', '--schools', '6',
      '--seed', '11', '--semester', SEMESTER_NOW, '--concurrency', '16', '--wait-evaluation', '40', '--ledger', ledgerFile,
    ],
    { env: { ...process.env, IAP_JWT_SECRET: TEST_JWT_SECRET, IAP_DATA_DIR: tmp }, timeout: 90_000 },
  );
  ledger = JSON.parse(await readFile(ledgerFile, 'utf8')) as Ledger;
  // Plans left unevaluated go overdue a moment after the semester ends.
  const unevaluated = ledger.plans.filter((p) => p.fate === 'approved' && !p.evaluation).map((p) => planIdOf(p));
  for (const deadline = Date.now() + 15_000; ; ) {
    const rows = unevaluated.length ? await stack.db.selectFrom('plans').select('state').where('plan_id', 'in', unevaluated).execute() : [];
    if (rows.every((r) => (r.state as { evaluationOverdue: boolean }).evaluationOverdue)) break;
    if (Date.now() > deadline) throw new Error('unevaluated plans did not go overdue');
    await new Promise((r) => setTimeout(r, 100));
  }
  // Project everything committed. Other files share the cluster: a transaction open there holds the
  // snapshot's xmin (and so committedHead) back for a moment, so wait for the log's real last event.
  for (const deadline = Date.now() + 15_000; ; ) {
    await projectUntilIdle(stack.database.appDb);
    const [at, head] = [await readCheckpoint(stack.db as unknown as Kysely<ReportDatabase>), await logHead()];
    if (at.globalPosition === head.globalPosition && at.transactionId === head.transactionId) break;
    if (Date.now() > deadline) throw new Error('projector did not catch up');
  }
}, 120_000);
afterAll(async () => {
  await stack?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function planIdOf(p: SimPlan): string {
  return ledger.outcomes.find((o) => o.key === p.key)!.planId!;
}

const NATIONAL: TokenSubject = { sub: 'ikvd-1', role: 'national_coordinator' };

async function report(name: string, query = '', who: TokenSubject = NATIONAL): Promise<ReportResult> {
  const res = await stack.app.inject({ method: 'GET', url: `/reports/${name}${query ? `?${query}` : ''}`, headers: { authorization: `Bearer ${stack.token(who)}` } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<ReportResult>();
}

// ---- Expected figures, from the ledger's input only ----

const counted = (p: SimPlan) => p.fate !== 'refused' && p.fate !== 'deleted';
const distinct = <T>(xs: T[]) => new Set(xs).size;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function expectedParticipation(plans: SimPlan[]) {
  const c = plans.filter(counted);
  return {
    plans: c.length,
    learners: distinct(c.map((p) => p.learnerRef)),
    schools: distinct(c.map((p) => p.school.schoolId)),
    vocationalSchools: distinct(c.filter((p) => p.school.partnerType === 'state_vocational').map((p) => p.school.schoolId)),
    municipalities: distinct(c.map((p) => p.school.municipalityId)),
  };
}

function finalStatus(p: SimPlan): string {
  switch (p.fate) {
    case 'draft':
    case 'in_approval':
      return 'closed'; // the semester ended before approval
    case 'refused':
      return 'consent_refused';
    case 'deleted':
      return 'deleted';
    case 'approved':
      return p.evaluation ? 'closed' : 'awaiting_evaluation';
  }
}

describe('reports after a simulated semester', () => {
  it('the simulation went through without a refused request', () => {
    expect(ledger.outcomes.filter((o) => o.error)).toEqual([]);
    expect(new Set(ledger.plans.map((p) => p.fate))).toContain('approved');
    expect(ledger.plans.some((p) => p.school.partnerType === 'state_vocational')).toBe(true);
  });

  it('participation: plans, learners, schools (vocational), municipalities; each report names its parameters and position', async () => {
    const r = await report('participation', `schoolYear=${SEMESTER_NOW.slice(0, 7)}`);
    const e = expectedParticipation(ledger.plans);
    expect(r.rows).toEqual([{ semester: SEMESTER_NOW, ...e }, { semester: 'all', ...e }]);
    expect(r.parameters).toEqual({ schoolYear: SEMESTER_NOW.slice(0, 7) });
    expect(r.scope).toEqual({ kind: 'all' });
    const head = await logHead();
    expect(r.position).toMatchObject({ transactionId: head.transactionId, globalPosition: head.globalPosition });
  });

  it('learners by risk type, once per type per semester', async () => {
    const r = await report('risk-types', `semester=${SEMESTER_NOW}`);
    const expected = RISK_TYPES.flatMap((t) => {
      const ps = ledger.plans.filter((p) => counted(p) && p.risks.some((k) => k.type === t));
      const row = { riskType: t, learners: distinct(ps.map((p) => p.learnerRef)), plans: ps.length };
      return [{ semester: SEMESTER_NOW, ...row }];
    });
    expect(r.rows).toEqual([...expected, ...expected.map((x) => ({ ...x, semester: 'all' }))]);
  });

  it('economic support: learners supported by compensation type, amounts claimed, approved, paid, rejected', async () => {
    const r = await report('economic-support');
    const rows = [...COMPENSATION_TYPES, 'all'].map((type) => {
      const claims = ledger.plans.flatMap((p) => p.claims.filter((k) => type === 'all' || k.compensationType === type).map((k) => ({ p, k })));
      return {
        compensationType: type,
        learnersSupported: distinct(claims.filter(({ k }) => k.pay).map(({ p }) => p.learnerRef)),
        claims: claims.length,
        claimedCents: sum(claims.map(({ k }) => k.amountCents)),
        approvedCents: sum(claims.map(({ k }) => k.approvedCents ?? 0)),
        paidCents: sum(claims.filter(({ k }) => k.pay).map(({ k }) => k.approvedCents ?? 0)),
        rejectedCents: sum(claims.filter(({ k }) => k.decision === 'reject').map(({ k }) => k.amountCents)),
      };
    });
    expect(r.rows).toEqual(rows);
    expect(rows.at(-1)!.paidCents).toBeGreaterThan(0);
  });

  it('consultations: planned vs delivered minutes by provider type and subject, and the share confirmed', async () => {
    const r = await report('consultations');
    const groups = new Map<string, { planned: number; delivered: number; unconfirmed: number; n: number; confirmed: number }>();
    const add = (key: string, f: (g: { planned: number; delivered: number; unconfirmed: number; n: number; confirmed: number }) => void) => {
      for (const k of [key, 'all|']) {
        const g = groups.get(k) ?? { planned: 0, delivered: 0, unconfirmed: 0, n: 0, confirmed: 0 };
        f(g);
        groups.set(k, g);
      }
    };
    for (const p of ledger.plans.filter(counted)) {
      for (const m of p.measures.filter((x) => x.kind === 'consultation')) {
        const key = `${m.providerType}|${m.subject ?? ''}`;
        add(key, (g) => (g.planned += m.plannedMinutes!));
        for (const c of p.consultations.filter((x) => x.measureId === m.measureId)) {
          add(key, (g) => {
            g.n += 1;
            if (c.confirm) (g.delivered += c.minutes), (g.confirmed += 1);
            else g.unconfirmed += c.minutes;
          });
        }
      }
    }
    const expected = [...groups]
      .map(([k, g]) => {
        const [providerType, subject] = k.split('|') as [string, string];
        return { providerType, subject, plannedMinutes: g.planned, deliveredMinutes: g.delivered, unconfirmedMinutes: g.unconfirmed, consultations: g.n, confirmedConsultations: g.confirmed, confirmedShare: g.n ? Math.round((g.confirmed / g.n) * 10_000) / 10_000 : null };
      })
      .sort((a, b) => {
        // The report orders codes bytewise (COLLATE "C"), the total last.
        const key = (x: { providerType: string; subject: string }) => (x.providerType === 'all' ? '\uffff' : `${x.providerType}\u0000${x.subject}`);
        return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
      });
    expect(r.rows).toEqual(expected);
  });

  it('evaluation: risks reduced / unchanged / increased by type, and learner outcomes', async () => {
    const evaluated = ledger.plans.filter((p) => p.evaluation);
    const changes = (await report('risk-changes')).rows;
    expect(changes).toEqual(
      [...RISK_TYPES, 'all'].map((t) => {
        const outs = evaluated.flatMap((p) => p.evaluation!.riskOutcomes.filter((o) => t === 'all' || p.risks.find((k) => k.riskId === o.riskId)!.type === t));
        return { riskType: t, reduced: outs.filter((o) => o.change === 'reduced').length, unchanged: outs.filter((o) => o.change === 'unchanged').length, increased: outs.filter((o) => o.change === 'increased').length };
      }),
    );
    const outcomes = (await report('outcomes')).rows;
    expect(outcomes).toEqual(
      [...LEARNER_OUTCOMES, 'all'].map((o) => {
        const ps = evaluated.filter((p) => o === 'all' || p.evaluation!.outcome === o);
        return { outcome: o, plans: ps.length, learners: distinct(ps.map((p) => p.learnerRef)) };
      }),
    );
  });

  it('evaluations due, done, overdue and late', async () => {
    const approved = ledger.plans.filter((p) => p.fate === 'approved');
    const late = ledger.outcomes.filter((o) => o.evaluatedLate === true).length;
    const e = { due: approved.length, evaluated: approved.filter((p) => p.evaluation).length, overdue: approved.filter((p) => !p.evaluation).length, evaluatedLate: late };
    expect((await report('evaluations')).rows).toEqual([{ semester: SEMESTER_NOW, ...e }, { semester: 'all', ...e }]);
  });

  it('plan flow: plans in each status, approvals, and the median days from draft to approval', async () => {
    const rows = (await report('plan-flow')).rows;
    const byStatus = (s: string) => ledger.plans.filter((p) => s === 'all' || finalStatus(p) === s);
    expect(rows.map(({ medianDaysToApproval: _m, ...r }) => r)).toEqual(
      [...PLAN_STATUSES, 'all'].map((s) => ({ status: s, plans: byStatus(s).length, approved: byStatus(s).filter((p) => p.fate === 'approved').length })),
    );
    const median = rows.at(-1)!.medianDaysToApproval as number;
    expect(median).toBeGreaterThanOrEqual(0);
    expect(median).toBeLessThan(0.01); // the simulation approves within seconds
  });

  it('budgets: per partner, claims against the allocation', async () => {
    const rows = (await report('budgets', `semester=${SEMESTER_NOW}`)).rows;
    const partners = [...new Set(ledger.plans.filter((p) => p.claims.length).map((p) => p.school.partnerId))].sort();
    expect(rows).toEqual(
      partners.map((partnerId) => {
        const ks = ledger.plans.filter((p) => p.school.partnerId === partnerId).flatMap((p) => p.claims);
        return {
          partnerId, semester: SEMESTER_NOW, allocatedCents: Math.max(100_000, sum(ks.map((k) => k.amountCents)) * 2), claims: ks.length,
          claimedCents: sum(ks.map((k) => k.amountCents)), approvedCents: sum(ks.map((k) => k.approvedCents ?? 0)), paidCents: sum(ks.filter((k) => k.pay).map((k) => k.approvedCents ?? 0)),
        };
      }),
    );
  });

  it('cuts reports to the caller: a school its own, a coordinator the municipality, finance its partner; filters narrow', async () => {
    const school = ledger.plans[0]!.school;
    const only = (f: (p: SimPlan) => boolean) => ({ semester: 'all', ...expectedParticipation(ledger.plans.filter(f)) });
    const scope = { school: school.schoolId, municipality: school.municipalityId, partner: school.partnerId, partnerType: school.partnerType as 'municipality' };
    const total = (r: ReportResult) => r.rows.at(-1);

    const asPreparer = await report('participation', '', { sub: 'p-1', role: 'preparer', ...scope });
    expect(asPreparer.scope).toEqual({ kind: 'school', schoolId: school.schoolId });
    expect(total(asPreparer)).toEqual(only((p) => p.school.schoolId === school.schoolId));
    // Asking for another school does not widen a school's view.
    const other = ledger.plans.find((p) => p.school.schoolId !== school.schoolId)!.school.schoolId;
    expect(total(await report('participation', `school=${other}`, { sub: 'p-1', role: 'preparer', ...scope }))).toMatchObject({ plans: 0 });

    const asCoordinator = await report('participation', '', { sub: 'c-1', role: 'municipality_coordinator', municipality: school.municipalityId });
    expect(total(asCoordinator)).toEqual(only((p) => p.school.municipalityId === school.municipalityId));
    const asFinance = await report('participation', '', { sub: 'f-1', role: 'finance', partner: school.partnerId });
    expect(total(asFinance)).toEqual(only((p) => p.school.partnerId === school.partnerId));

    expect(total(await report('participation', `municipality=${school.municipalityId}`))).toEqual(only((p) => p.school.municipalityId === school.municipalityId));
    expect(total(await report('participation', `school=${school.schoolId}`, { sub: 'a-1', role: 'auditor' }))).toEqual(only((p) => p.school.schoolId === school.schoolId));
    expect((await report('participation', 'semester=2019/20-1')).rows).toEqual([{ semester: 'all', plans: 0, learners: 0, schools: 0, vocationalSchools: 0, municipalities: 0 }]);

    const noSchool = await stack.app.inject({ method: 'GET', url: '/reports/participation', headers: { authorization: `Bearer ${stack.token({ sub: 'x', role: 'preparer' })}` } });
    expect(noSchool.statusCode).toBe(403);
    const unknown = await stack.app.inject({ method: 'GET', url: '/reports/nope', headers: { authorization: `Bearer ${stack.token(NATIONAL)}` } });
    expect(unknown.statusCode).toBe(400);
  });

  it('answers CSV for format=csv or Accept: text/csv, with the log position in a header', async () => {
    const json = await report('economic-support');
    for (const req of [{ url: '/reports/economic-support?format=csv', accept: undefined }, { url: '/reports/economic-support', accept: 'text/csv' }]) {
      const res = await stack.app.inject({ method: 'GET', url: req.url, headers: { authorization: `Bearer ${stack.token(NATIONAL)}`, ...(req.accept ? { accept: req.accept } : {}) } });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      expect(res.headers['x-event-log-position']).toBe(`${json.position.transactionId}/${json.position.globalPosition}`);
      const lines = res.body.trimEnd().split('\r\n');
      expect(lines[0]).toBe(json.columns.join(','));
      expect(lines.slice(1)).toEqual(json.rows.map((r) => json.columns.map((c) => String(r[c] ?? '')).join(',')));
    }
    const list = await stack.app.inject({ method: 'GET', url: '/reports', headers: { authorization: `Bearer ${stack.token(NATIONAL)}` } });
    expect(list.json<{ reports: { name: string }[] }>().reports.map((r) => r.name)).toContain('plan-flow');
    const openapi = await stack.app.inject({ method: 'GET', url: '/docs/json' });
    expect(Object.keys(openapi.json<{ paths: Record<string, unknown> }>().paths)).toEqual(expect.arrayContaining(['/reports', '/reports/{report}']));
  });

  it('a fresh rebuild of every projection matches the live ones, and a blue/green rebuild leaves the reports as they were', async () => {
    const before = await report('consultations');
    const check = await checkProjections(stack.db);
    expect(check.map((c) => [c.projection, c.ok, c.differences])).toEqual([
      ['plans', true, []],
      ['claims', true, []],
      ['reports', true, []],
    ]);
    const rebuilt = await rebuildProjections(stack.db);
    expect(rebuilt.map((r) => r.projection)).toEqual(['plans', 'claims', 'reports']);
    expect((await report('consultations')).rows).toEqual(before.rows);
    // The API (as iap_app) still reads the swapped-in plans table.
    const planId = planIdOf(ledger.plans[0]!);
    const res = await stack.app.inject({ method: 'GET', url: `/plans/${planId}`, headers: { authorization: `Bearer ${stack.token(NATIONAL)}` } });
    expect(res.statusCode).toBe(200);
    expect((await checkProjections(stack.db)).every((c) => c.ok)).toBe(true);
  });
});
