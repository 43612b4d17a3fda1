// `iap simulate`: drives a realistic semester through the real HTTP API (never the database): its schools,
// municipalities and partners in the register, budgets, plans, consent, approvals at every level,
// consultations, claims worked by finance, and, once the semester has ended, evaluations. Seeded, so a run
// repeats; writes a ledger of what it did and saw.

import { writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { loadOrCreateJwtSecret, registerScopes, signToken, type TokenSubject } from '@iap/runtime';
import type { Command } from 'commander';
import { config, progressLine } from './env.js';
import { planMix, schoolsOf, type MixOptions, type SimPlan, type SimSchool } from './simulate-mix.js';

export interface SimulateOptions extends MixOptions {
  readonly api: string;
  readonly semester: string;
  readonly concurrency: number;
  /** Seconds to wait for the semester to end before evaluating; 0: do not evaluate. */
  readonly waitEvaluationSeconds: number;
  readonly jwtSecret: string;
  readonly onProgress?: (done: number, total: number, phase: string) => void;
}

/** What happened to one plan, as the API answered. */
export interface PlanOutcome {
  readonly key: string;
  readonly planId: string | null;
  readonly status: string | null;
  /** For evaluated plans: whether the evaluation was overdue when it came (from the plan after it). */
  readonly evaluatedLate: boolean | null;
  readonly error: string | null;
}

export interface Ledger {
  readonly options: Omit<SimulateOptions, 'jwtSecret' | 'onProgress'>;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly requests: number;
  readonly schools: SimSchool[];
  /** The input: every plan as generated. */
  readonly plans: SimPlan[];
  readonly outcomes: PlanOutcome[];
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string,
  ) {
    super(`${what}: ${status} ${JSON.stringify(body).slice(0, 300)}`);
  }
}

/** A tiny HTTP client: JSON in and out, bearer token, a retry on 503 (Temporal briefly unavailable). */
function client(base: string) {
  let requests = 0;
  async function call<T>(method: string, path: string, token: string, body?: unknown, okStatuses: number[] = [200, 201]): Promise<{ status: number; body: T }> {
    for (let attempt = 1; ; attempt++) {
      requests++;
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), 'idempotency-key': randomUUID() },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      const parsed = text ? (JSON.parse(text) as T) : (null as T);
      if (okStatuses.includes(res.status)) return { status: res.status, body: parsed };
      if (res.status === 503 && attempt < 5) {
        await new Promise((r) => setTimeout(r, 200 * attempt));
        continue;
      }
      throw new ApiError(res.status, parsed, `${method} ${path}`);
    }
  }
  return { call, requests: () => requests };
}

type Api = ReturnType<typeof client>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over `items`, `n` at a time. */
async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

function tokens(secret: string) {
  const sign = (s: TokenSubject) => signToken(secret, s, 12 * 3600);
  const cache = new Map<string, string>();
  const once = (key: string, s: () => TokenSubject) => cache.get(key) ?? (cache.set(key, sign(s())), cache.get(key)!);
  const scope = (s: SimSchool) => ({ school: s.schoolId, municipality: s.municipalityId, partner: s.partnerId, partnerType: s.partnerType });
  return {
    preparer: (s: SimSchool) => once(`p:${s.schoolId}`, () => ({ sub: `preparer-${s.schoolId}`, role: 'preparer', ...scope(s) })),
    director: (s: SimSchool) => once(`d:${s.schoolId}`, () => ({ sub: `director-${s.schoolId}`, role: 'school_director', ...scope(s) })),
    coordinator: (s: SimSchool) => once(`m:${s.municipalityId}`, () => ({ sub: `coordinator-${s.municipalityId}`, role: 'municipality_coordinator', municipality: s.municipalityId, partner: s.municipalityId })),
    finance: (s: SimSchool) => once(`f:${s.partnerId}`, () => ({ sub: `finance-${s.partnerId}`, role: 'finance', partner: s.partnerId, partnerType: s.partnerType })),
    national: () => once('n', () => ({ sub: 'ikvd-sim', role: 'national_coordinator' })),
  };
}

interface PlanView {
  status: string;
  state: { evaluationOverdue?: boolean };
}

/** One plan's semester up to the end of delivery; returns the plan id. */
async function drivePlan(api: Api, t: ReturnType<typeof tokens>, p: SimPlan, semester: string, today: string): Promise<{ planId: string; status: string }> {
  const s = p.school;
  const prep = t.preparer(s);
  // The school registers its learner first (again answers it): a plan can only name a registered learner.
  await api.call('PUT', `/schools/${encodeURIComponent(s.schoolId)}/learners/${encodeURIComponent(p.learnerRef)}`, prep);
  const created = await api.call<{ planId: string; status: string }>('POST', '/plans', prep, {
    learnerRef: p.learnerRef, semester, grade: p.grade, risks: p.risks, measures: p.measures,
  });
  const planId = created.body.planId;
  const cmd = async (path: string, token: string, body: unknown = {}) =>
    (await api.call<{ status: string }>('POST', `/plans/${planId}${path}`, token, body)).body.status;
  let status = created.body.status;
  if (p.fate === 'draft') return { planId, status };
  if (p.fate === 'deleted') return { planId, status: await cmd('/deletion', t.director(s), { reason: 'learner moved away (simulated)' }) };
  await cmd('/consent-request', prep);
  if (p.fate === 'refused') return { planId, status: await cmd('/consent-refusal', prep, { refusedBy: 'parent', reason: 'declined (simulated)' }) };
  await cmd('/consent', prep, { givenBy: 'parent', signedOn: today, documentRef: `consent-${p.key}` });
  status = await cmd('/submission', prep);
  if (p.fate === 'in_approval') return { planId, status };
  await cmd('/approvals', t.director(s), { level: 'school' });
  if (s.partnerType === 'municipality') await cmd('/approvals', t.coordinator(s), { level: 'municipality' });
  status = await cmd('/approvals', t.national(), { level: 'national' });
  for (const c of p.consultations) {
    const { confirm, ...form } = c;
    status = await cmd('/consultations', prep, { ...form, date: today, mode: 'in_person' });
    if (confirm) status = await cmd(`/consultations/${c.consultationId}/confirmation`, prep, {});
  }
  for (const k of p.claims) {
    status = await cmd('/claims', prep, {
      claimId: k.claimId, measureId: k.measureId, compensationType: k.compensationType, periodFrom: today, periodTo: today, amountCents: k.amountCents, documentRefs: [`receipt-${p.key}-${k.claimId}`],
    });
    const fin = t.finance(s);
    const claimPath = `/claims/${planId}/${k.claimId}`;
    // The claim's own workflow records it a moment after the plan accepted it.
    for (let i = 0; (await api.call('GET', claimPath, fin, undefined, [200, 404])).status === 404; i++) {
      if (i > 100) throw new Error(`claim ${claimPath} did not appear`);
      await sleep(50);
    }
    await api.call('POST', `${claimPath}/verification`, fin, {});
    if (k.decision === 'reject') {
      await api.call('POST', `${claimPath}/rejection`, fin, { reason: 'documents do not match (simulated)' });
      continue;
    }
    const partial = k.approvedCents !== k.amountCents;
    await api.call('POST', `${claimPath}/approval`, fin, { approvedCents: k.approvedCents, ...(partial ? { reason: 'one receipt not eligible (simulated)' } : {}) });
    if (k.pay) await api.call('POST', `${claimPath}/payment`, fin, { paidOn: today, paymentRef: `PAY-${p.key}-${k.claimId}` });
  }
  return { planId, status };
}

/** Waits for the semester to end on the plan, then evaluates and closes it. */
async function evaluatePlan(api: Api, t: ReturnType<typeof tokens>, p: SimPlan, planId: string, deadline: number): Promise<{ status: string; late: boolean | null }> {
  const prep = t.preparer(p.school);
  for (;;) {
    const v = (await api.call<PlanView>('GET', `/plans/${planId}`, prep)).body;
    if (v.status === 'awaiting_evaluation') break;
    if (Date.now() > deadline) return { status: v.status, late: null };
    await sleep(200);
  }
  if (!p.evaluation) return { status: 'awaiting_evaluation', late: null };
  // The plan row can show the semester's end a moment before the workflow has folded it in (the timer's
  // append commits first), and the evaluation is then refused as out of turn: try again shortly.
  for (let i = 0; ; i++) {
    try {
      await api.call('POST', `/plans/${planId}/evaluation`, prep, p.evaluation);
      break;
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 409) || i >= 20) throw err;
      await sleep(100);
    }
  }
  const status = (await api.call<{ status: string }>('POST', `/plans/${planId}/closure`, prep, {})).body.status;
  const after = (await api.call<PlanView>('GET', `/plans/${planId}`, prep)).body;
  return { status, late: after.state.evaluationOverdue === true };
}

export async function simulateSemester(o: SimulateOptions): Promise<Ledger> {
  const startedAt = new Date().toISOString();
  const today = startedAt.slice(0, 10);
  const api = client(o.api.replace(/\/$/, ''));
  const t = tokens(o.jwtSecret);
  const plans = planMix(o);
  const schools = schoolsOf(o);
  const outcomes = new Map<string, PlanOutcome>();
  const progress = (phase: string, done: number, total: number) => o.onProgress?.(done, total, phase);

  // The schools, their municipalities and partners in the register first: every token below names them.
  await registerScopes(
    async (method, path, body) => {
      const res = await api.call(method, path, t.national(), body, [200]);
      return { status: res.status, body: JSON.stringify(res.body) };
    },
    t.national(),
    schools.map((s) => ({ school: s.schoolId, municipality: s.municipalityId, partner: s.partnerId, partnerType: s.partnerType })),
  );

  // Budgets first: approvals may never exceed them. Generous: twice what the partner's plans could claim.
  const need = new Map<string, number>();
  for (const p of plans) for (const k of p.claims) need.set(p.school.partnerId, (need.get(p.school.partnerId) ?? 0) + k.amountCents);
  for (const s of schools) if (!need.has(s.partnerId)) need.set(s.partnerId, 0);
  for (const [partnerId, cents] of need) {
    await api.call('PUT', `/budgets/${encodeURIComponent(partnerId)}/${encodeURIComponent(o.semester)}`, t.national(), { allocatedCents: Math.max(100_000, cents * 2) });
  }

  let done = 0;
  await pool(plans, o.concurrency, async (p) => {
    try {
      const r = await drivePlan(api, t, p, o.semester, today);
      outcomes.set(p.key, { key: p.key, planId: r.planId, status: r.status, evaluatedLate: null, error: null });
    } catch (err) {
      outcomes.set(p.key, { key: p.key, planId: null, status: null, evaluatedLate: null, error: err instanceof Error ? err.message : String(err) });
    }
    progress('plans', ++done, plans.length);
  });

  if (o.waitEvaluationSeconds > 0) {
    const approved = plans.filter((p) => p.fate === 'approved' && outcomes.get(p.key)?.planId);
    const deadline = Date.now() + o.waitEvaluationSeconds * 1000;
    done = 0;
    await pool(approved, o.concurrency, async (p) => {
      const prev = outcomes.get(p.key)!;
      try {
        const r = await evaluatePlan(api, t, p, prev.planId!, deadline);
        outcomes.set(p.key, { ...prev, status: r.status, evaluatedLate: r.late });
      } catch (err) {
        outcomes.set(p.key, { ...prev, error: err instanceof Error ? err.message : String(err) });
      }
      progress('evaluations', ++done, approved.length);
    });
  }

  const { jwtSecret: _secret, onProgress: _progress, ...options } = o;
  return {
    options,
    startedAt,
    finishedAt: new Date().toISOString(),
    requests: api.requests(),
    schools,
    plans,
    outcomes: plans.map((p) => outcomes.get(p.key)!),
  };
}

const int = (v: string) => Number.parseInt(v, 10);

/** The semester today falls in (as the domain's semesterOf: September–December is term 1). */
function currentSemester(now = new Date()): string {
  const y = now.getUTCFullYear();
  const start = now.getUTCMonth() >= 8 ? y : y - 1;
  return `${start}/${String((start + 1) % 100).padStart(2, '0')}-${now.getUTCMonth() >= 8 ? 1 : 2}`;
}

export function register(program: Command): void {
  program
    .command('simulate')
    .description('drive a realistic semester through the HTTP API (budgets, plans, consent, approvals, consultations, claims, evaluations)')
    .option('--api <url>', 'the API base URL', `http://${config.host}:${config.port}`)
    .option('--plans <n>', 'plans to make', int, 200)
    .option('--municipalities <n>', 'municipal partners', int, 10)
    .option('--schools <n>', 'schools (about 6.5% of them state vocational, each its own partner)', int, 30)
    .option('--semester <s>', 'the semester (the current one by default)', currentSemester())
    .option('--seed <n>', 'random seed: the same seed makes the same semester', int, 1)
    .option('--concurrency <n>', 'plans driven at once', int, 8)
    .option('--wait-evaluation <seconds>', 'wait this long for the semester to end, then evaluate (0: skip evaluations)', int, 0)
    .option('--ledger <file>', 'write what was generated and what the API answered, as JSON')
    .action(async (opts: { api: string; plans: number; municipalities: number; schools: number; semester: string; seed: number; concurrency: number; waitEvaluation: number; ledger?: string }) => {
      const bars = new Map<string, ReturnType<typeof progressLine>>();
      const last = new Map<string, [number, number]>();
      const ledger = await simulateSemester({
        api: opts.api,
        plans: opts.plans,
        municipalities: opts.municipalities,
        schools: opts.schools,
        semester: opts.semester,
        seed: opts.seed,
        concurrency: opts.concurrency,
        waitEvaluationSeconds: opts.waitEvaluation,
        jwtSecret: loadOrCreateJwtSecret(config.dataDir),
        onProgress: (done, total, phase) => {
          if (!bars.has(phase)) bars.set(phase, progressLine(phase.padEnd(11), 'plans'));
          last.set(phase, [done, total]);
          if (done === total) bars.get(phase)!.done(done, total);
          else bars.get(phase)!.update(done, total);
        },
      });
      if (opts.ledger) await writeFile(opts.ledger, `${JSON.stringify(ledger, null, 2)}\n`);
      const failed = ledger.outcomes.filter((o) => o.error);
      const byStatus = new Map<string, number>();
      for (const o of ledger.outcomes) byStatus.set(o.status ?? 'failed', (byStatus.get(o.status ?? 'failed') ?? 0) + 1);
      const secs = (Date.parse(ledger.finishedAt) - Date.parse(ledger.startedAt)) / 1000;
      console.log(`${ledger.plans.length} plans in ${opts.semester} from ${ledger.schools.length} schools: ${ledger.requests} requests in ${secs.toFixed(1)} s`);
      console.log([...byStatus].map(([s, n]) => `${s} ${n}`).join(', '));
      for (const f of failed.slice(0, 10)) console.error(`${f.key}: ${f.error}`);
      process.exitCode = failed.length > 0 ? 1 : 0;
    });
}
