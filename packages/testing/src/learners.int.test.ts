// Learners belong to the school that registered them, tried as an attacker would: two municipal schools in two
// municipalities and a state vocational school, every role. Another school's learner reference leads nowhere
// (404, the same answer as a reference nobody uses), cannot be named in a plan, overwritten or erased; erasure
// takes the owning director or national staff and a reason; a transfer moves access; every identity read is in
// the auditor's access log, which the application's database role cannot change.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MUNI_A, MUNI_B, preparerOf, SCHOOL_A, SCHOOL_B, SCHOOL_V, startTestStack, type TestStack } from './stack.js';
import { SEMESTER_NOW } from './workflow-driver.js';

let stack: TestStack;
const tok: Record<string, string> = {};

beforeAll(async () => {
  stack = await startTestStack();
  const t = stack.token;
  Object.assign(tok, {
    preparerA: t(preparerOf(SCHOOL_A)),
    directorA: t({ sub: 'director-a', role: 'school_director', ...SCHOOL_A }),
    muniA: t({ sub: 'coord-a', role: 'municipality_coordinator', municipality: MUNI_A, partner: MUNI_A }),
    financeA: t({ sub: 'finance-a', role: 'finance', partner: MUNI_A }),
    preparerB: t(preparerOf(SCHOOL_B)),
    directorB: t({ sub: 'director-b', role: 'school_director', ...SCHOOL_B }),
    muniB: t({ sub: 'coord-b', role: 'municipality_coordinator', municipality: MUNI_B, partner: MUNI_B }),
    financeB: t({ sub: 'finance-b', role: 'finance', partner: MUNI_B }),
    preparerV: t({ sub: 'preparer-v', role: 'preparer', ...SCHOOL_V }),
    directorV: t({ sub: 'director-v', role: 'school_director', ...SCHOOL_V }),
    financeV: t({ sub: 'finance-v', role: 'finance', partner: SCHOOL_V.partner }),
    national: t({ sub: 'ikvd', role: 'national_coordinator' }),
    auditor: t({ sub: 'auditor', role: 'auditor' }),
  });
});
afterAll(async () => {
  await stack?.close();
});

const call = (method: 'GET' | 'POST' | 'PUT', token: string, url: string, payload?: unknown, requestId?: string) =>
  stack.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}`, ...(requestId ? { 'x-request-id': requestId } : {}) },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });

async function ok(method: 'GET' | 'POST' | 'PUT', token: string, url: string, payload?: unknown, requestId?: string) {
  const r = await call(method, token, url, payload, requestId);
  if (r.statusCode >= 300) throw new Error(`${method} ${url} → ${r.statusCode} ${r.body}`);
  return r.json();
}

const learnerUrl = (school: string, ref: string) => `/schools/${school}/learners/${ref}`;
const anna = { givenName: 'Anna', familyName: 'Bērziņa', personalCode: '010110-12345', birthDate: '2010-01-01' };
const mallory = { givenName: 'Mallory', familyName: 'Evil', personalCode: '020202-22222', birthDate: '2011-02-02' };
const draft = (learnerRef: string) => ({
  learnerRef,
  semester: SEMESTER_NOW,
  grade: 6,
  risks: [{ riskId: 'r1', type: 'learning', factor: 'reading', note: '' }],
  measures: [{ measureId: 'm1', kind: 'consultation', riskIds: ['r1'], justification: 'lessons', providerType: 'teacher', plannedMinutes: 60 }],
});
/** What a problem answer says, without the request id that differs per request. */
const answer = (r: { statusCode: number; json: () => unknown }) => {
  const { requestId: _id, ...rest } = r.json() as Record<string, unknown>;
  return { status: r.statusCode, ...rest };
};

/** School A's learner with a recorded identity; answers its reference and id. */
async function learnerOfA(): Promise<{ ref: string; learnerId: string }> {
  const ref = `L-${randomUUID().slice(0, 8)}`;
  const reg = await call('PUT', tok.preparerA!, learnerUrl('school-a', ref));
  expect(reg.statusCode, reg.body).toBe(201);
  const learnerId = reg.json().learnerId as string;
  await ok('PUT', tok.preparerA!, `${learnerUrl('school-a', ref)}/identity`, anna);
  return { ref, learnerId };
}

async function eventCount(): Promise<number> {
  const r = await sql<{ n: string }>`select count(*) as n from events`.execute(stack.db);
  return Number(r.rows[0]!.n);
}

describe("another school and A's learner", () => {
  it('cannot draft a plan naming it: the same 422 on learnerRef as for a reference nobody registered', async () => {
    const { ref } = await learnerOfA();
    const before = await eventCount();
    for (const who of ['preparerB', 'directorB', 'preparerV', 'directorV']) {
      const stolen = await call('POST', tok[who]!, '/plans', draft(ref));
      expect(stolen.statusCode, `${who}: ${stolen.body}`).toBe(422);
      expect(stolen.json()).toMatchObject({ field: 'body.learnerRef', code: 'learner.not_registered' });
      const nowhere = await call('POST', tok[who]!, '/plans', draft(`L-nowhere-${randomUUID().slice(0, 6)}`));
      expect(answer(stolen)).toEqual(answer(nowhere));
    }
    expect(await eventCount()).toBe(before);
    // School A itself drafts with it.
    expect((await call('POST', tok.preparerA!, '/plans', draft(ref))).statusCode).toBe(201);
  });

  it('cannot read, overwrite, erase, move or even learn of it, by its reference under any school', async () => {
    const { ref } = await learnerOfA();
    const nobody = `L-nobody-${randomUUID().slice(0, 6)}`;
    const outsiders = ['preparerB', 'directorB', 'muniB', 'financeB', 'preparerV', 'directorV', 'financeV', 'muniA', 'financeA', 'auditor'];
    const tries = (school: string, r: string) =>
      [
        ['GET', learnerUrl(school, r), undefined],
        ['GET', `${learnerUrl(school, r)}/identity`, undefined],
        ['PUT', `${learnerUrl(school, r)}/identity`, mallory],
        ['POST', `${learnerUrl(school, r)}/erasure`, { reason: 'because' }],
        ['POST', `${learnerUrl(school, r)}/transfer`, { toSchoolId: 'school-b', learnerRef: 'L-stolen' }],
      ] as const;
    for (const who of outsiders) {
      const [aTries, nobodyTries] = [tries('school-a', ref), tries('school-a', nobody)];
      for (let i = 0; i < aTries.length; i++) {
        const [method, url, body] = aTries[i]!;
        const got = await call(method, tok[who]!, url, body);
        expect(got.statusCode, `${who} ${method} ${url}: ${got.body}`).toBe(404);
        // Indistinguishable from a reference nobody uses.
        const [m2, u2, b2] = nobodyTries[i]!;
        expect(answer(got), `${who} ${method} ${url}`).toEqual(answer(await call(m2, tok[who]!, u2, b2)));
      }
    }
    // Under B's own school, A's reference is simply not registered there.
    for (const who of ['preparerB', 'directorB']) {
      expect((await call('GET', tok[who]!, `${learnerUrl('school-b', ref)}/identity`)).statusCode).toBe(404);
    }
    // Nothing changed.
    expect(await ok('GET', tok.preparerA!, `${learnerUrl('school-a', ref)}/identity`)).toMatchObject({ ...anna, erased: false, schoolId: 'school-a' });
  });

  it('registering the same reference at B makes B a learner of its own: A\'s identity is untouched', async () => {
    const { ref, learnerId } = await learnerOfA();
    const b = await call('PUT', tok.preparerB!, learnerUrl('school-b', ref));
    expect(b.statusCode).toBe(201);
    expect(b.json().learnerId).not.toBe(learnerId);
    // Registering again answers the same learner.
    expect((await ok('PUT', tok.directorB!, learnerUrl('school-b', ref))).learnerId).toBe(b.json().learnerId);
    await ok('PUT', tok.preparerB!, `${learnerUrl('school-b', ref)}/identity`, mallory);
    expect(await ok('GET', tok.preparerA!, `${learnerUrl('school-a', ref)}/identity`)).toMatchObject(anna);
    expect(await ok('GET', tok.preparerB!, `${learnerUrl('school-b', ref)}/identity`)).toMatchObject(mallory);
  });

  it('registered at once by many requests, and moved into by a transfer at the same moment: one learner, never a 5xx', async () => {
    for (let round = 0; round < 5; round++) {
      const { ref } = await learnerOfA();
      const target = `L-race-${randomUUID().slice(0, 8)}`;
      const answers = await Promise.all([
        ...Array.from({ length: 6 }, () => call('PUT', tok.preparerB!, learnerUrl('school-b', target))),
        call('POST', tok.national!, `${learnerUrl('school-a', ref)}/transfer`, { toSchoolId: 'school-b', learnerRef: target }),
      ]);
      for (const r of answers) expect([200, 201, 409], r.body).toContain(r.statusCode);
      const holders = await stack.db.selectFrom('learners').select('learner_id').where('school_id', '=', 'school-b').where('learner_ref', '=', target).execute();
      const named = await stack.db.selectFrom('learner_refs').select('learner_id').where('school_id', '=', 'school-b').where('learner_ref', '=', target).execute();
      expect(holders).toHaveLength(1);
      expect(named).toEqual(holders);
      const ids = new Set(answers.filter((r) => r.statusCode < 300).map((r) => r.json().learnerId as string));
      expect(ids).toEqual(new Set([holders[0]!.learner_id]));
    }
  });

  it('school staff may use their own school id only; the national coordinator any', async () => {
    const ref = `L-${randomUUID().slice(0, 8)}`;
    expect((await call('PUT', tok.preparerB!, learnerUrl('school-a', ref))).statusCode).toBe(404);
    expect((await call('PUT', tok.muniA!, learnerUrl('school-a', ref))).statusCode).toBe(404);
    expect((await call('PUT', tok.auditor!, learnerUrl('school-a', ref))).statusCode).toBe(404);
    expect((await call('PUT', tok.national!, learnerUrl('school-a', ref))).statusCode).toBe(201);
    expect((await call('GET', tok.preparerA!, learnerUrl('school-a', ref))).statusCode).toBe(200);
  });
});

describe('erasure', () => {
  it("needs the owning school's director or national staff, and a reason; it stays idempotent", async () => {
    const { ref, learnerId } = await learnerOfA();
    const url = `${learnerUrl('school-a', ref)}/erasure`;
    expect((await call('POST', tok.preparerA!, url, { reason: 'asked' })).statusCode).toBe(403);
    for (const who of ['directorB', 'directorV', 'muniA', 'auditor']) expect((await call('POST', tok[who]!, url, { reason: 'asked' })).statusCode, who).toBe(404);
    const noReason = await call('POST', tok.directorA!, url, {});
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json().field).toContain('reason');
    expect((await call('POST', tok.directorA!, url, { reason: '' })).statusCode).toBe(400);
    expect(await ok('GET', tok.preparerA!, `${learnerUrl('school-a', ref)}/identity`)).toMatchObject({ erased: false });

    const erased = await ok('POST', tok.directorA!, url, { reason: "the parents' request" });
    expect(erased).toMatchObject({ learnerId, erased: true });
    expect((await ok('POST', tok.national!, url, { reason: 'again' })).erasedAt).toBe(erased.erasedAt);
    expect(await ok('GET', tok.preparerA!, `${learnerUrl('school-a', ref)}/identity`)).toMatchObject({ erased: true, erasedAt: erased.erasedAt });
    const log = await ok('GET', tok.auditor!, `/learner-access-log?learnerId=${learnerId}`);
    const erasures = log.items.filter((e: { action: string }) => e.action === 'erasure');
    expect(erasures).toEqual([expect.objectContaining({ actorId: 'director-a', actorRole: 'school_director', detail: { reason: "the parents' request" } })]);
  });
});

describe('a transfer', () => {
  it('moves access to the new school: same learner and identity, the old school loses it and keeps its plans', async () => {
    const { ref, learnerId } = await learnerOfA();
    const planA = (await ok('POST', tok.preparerA!, '/plans', draft(ref))).planId as string;
    const url = `${learnerUrl('school-a', ref)}/transfer`;
    const to = { toSchoolId: 'school-b', learnerRef: `LB-${ref}` };
    // Only national staff move a learner: a school that could would learn which references another uses.
    expect((await call('POST', tok.preparerA!, url, to)).statusCode).toBe(403);
    expect((await call('POST', tok.directorA!, url, to)).statusCode).toBe(403);
    expect((await call('POST', tok.directorB!, url, to)).statusCode).toBe(404);

    const moved = await ok('POST', tok.national!, url, to);
    expect(moved).toMatchObject({ learnerId, schoolId: 'school-b', learnerRef: to.learnerRef });
    // A retry answers the same transfer.
    expect(await ok('POST', tok.national!, url, to)).toEqual(moved);

    for (const who of ['preparerA', 'directorA']) {
      expect((await call('GET', tok[who]!, `${learnerUrl('school-a', ref)}/identity`)).statusCode, who).toBe(404);
      expect((await call('POST', tok[who]!, `${learnerUrl('school-a', ref)}/erasure`, { reason: 'x' })).statusCode, who).toBe(404);
    }
    expect((await call('POST', tok.preparerA!, '/plans', draft(ref))).statusCode).toBe(422);
    // The old reference is not given to anyone else at A: its plans name the learner who left.
    expect((await call('PUT', tok.preparerA!, learnerUrl('school-a', ref))).statusCode).toBe(409);

    const atB = await ok('GET', tok.preparerB!, `${learnerUrl('school-b', to.learnerRef)}/identity`);
    expect(atB).toMatchObject({ ...anna, learnerId, schoolId: 'school-b' });
    // The old plan stays A's.
    expect(await ok('GET', tok.preparerA!, `/plans/${planA}`)).toMatchObject({ schoolId: 'school-a', learnerRef: ref });
    expect((await call('GET', tok.preparerB!, `/plans/${planA}`)).statusCode).toBe(404);
    // B now owns the learner, and its plans can name it.
    expect((await call('POST', tok.preparerB!, '/plans', draft(to.learnerRef))).statusCode).toBe(201);
    await ok('POST', tok.directorB!, `${learnerUrl('school-b', to.learnerRef)}/erasure`, { reason: 'moved abroad' });
    // A's old plan shows the erasure too.
    expect(await ok('GET', tok.preparerA!, `/plans/${planA}`)).toMatchObject({ learnerErased: true });

    const log = await ok('GET', tok.national!, `/learner-access-log?learnerId=${learnerId}`);
    expect(log.items.filter((e: { action: string }) => e.action === 'transfer')).toEqual([
      expect.objectContaining({ actorId: 'ikvd', detail: { fromSchoolId: 'school-a', fromLearnerRef: ref, toSchoolId: 'school-b', toLearnerRef: to.learnerRef } }),
    ]);
  });

  it('refuses a school the register does not hold, for a transfer or a registration', async () => {
    const { ref } = await learnerOfA();
    const r = await call('POST', tok.national!, `${learnerUrl('school-a', ref)}/transfer`, { toSchoolId: 'school-nowhere', learnerRef: 'L-1' });
    expect(r.statusCode, r.body).toBe(422);
    expect(r.json()).toMatchObject({ field: 'body.toSchoolId', code: 'learner.unknown_school' });
    expect(await ok('GET', tok.preparerA!, `${learnerUrl('school-a', ref)}/identity`)).toMatchObject(anna);
    expect((await call('PUT', tok.national!, learnerUrl('school-nowhere', 'L-1'))).statusCode).toBe(404);
    expect((await call('GET', tok.national!, learnerUrl('school-nowhere', 'L-1'))).statusCode).toBe(404);
  });

  it("refuses a reference the target school already uses", async () => {
    const { ref } = await learnerOfA();
    const taken = `L-${randomUUID().slice(0, 8)}`;
    await ok('PUT', tok.preparerB!, learnerUrl('school-b', taken));
    const r = await call('POST', tok.national!, `${learnerUrl('school-a', ref)}/transfer`, { toSchoolId: 'school-b', learnerRef: taken });
    expect(r.statusCode).toBe(409);
    expect(r.json()).toMatchObject({ field: 'body.learnerRef', code: 'learner.ref_taken' });
    expect(await ok('GET', tok.preparerA!, `${learnerUrl('school-a', ref)}/identity`)).toMatchObject(anna);
  });
});

describe('the learner access log', () => {
  it('lists every identity read (who, role, when, request) to auditors and national staff, paged and filtered', async () => {
    const t0 = new Date().toISOString();
    const { ref, learnerId } = await learnerOfA();
    const url = `${learnerUrl('school-a', ref)}/identity`;
    await ok('GET', tok.preparerA!, url, undefined, 'read-1');
    await ok('GET', tok.directorA!, url, undefined, 'read-2');
    await ok('GET', tok.national!, url, undefined, 'read-3');
    // A refused read is no read.
    expect((await call('GET', tok.preparerB!, url, undefined, 'read-4')).statusCode).toBe(404);

    const all = await ok('GET', tok.auditor!, `/learner-access-log?learnerId=${learnerId}`);
    expect(all.items.map((e: { action: string }) => e.action)).toEqual(['register', 'identity.write', 'identity.read', 'identity.read', 'identity.read']);
    expect(all.items.filter((e: { action: string }) => e.action === 'identity.read')).toEqual([
      expect.objectContaining({ learnerId, schoolId: 'school-a', actorId: 'preparer-school-a', actorRole: 'preparer', requestId: 'read-1' }),
      expect.objectContaining({ actorId: 'director-a', actorRole: 'school_director', requestId: 'read-2' }),
      expect.objectContaining({ actorId: 'ikvd', actorRole: 'national_coordinator', requestId: 'read-3' }),
    ]);
    for (const e of all.items) expect(Date.parse(e.at)).toBeGreaterThanOrEqual(Date.parse(t0));
    expect(JSON.stringify(all)).not.toContain('Bērziņa');

    // Paged: two at a time, the same entries in the same order.
    const paged: unknown[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: unknown[]; nextCursor: string | null } = await ok(
        'GET',
        tok.national!,
        `/learner-access-log?learnerId=${learnerId}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.items.length).toBeLessThanOrEqual(2);
      paged.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(paged).toEqual(all.items);
    // By time: nothing before the learner existed, nothing in the future.
    expect((await ok('GET', tok.auditor!, `/learner-access-log?learnerId=${learnerId}&to=${encodeURIComponent(t0)}`)).items).toEqual([]);
    const since = all.items[2].at as string;
    expect((await ok('GET', tok.auditor!, `/learner-access-log?learnerId=${learnerId}&from=${encodeURIComponent(since)}`)).items.length).toBe(3);

    for (const who of ['preparerA', 'directorA', 'muniA', 'financeA']) expect((await call('GET', tok[who]!, '/learner-access-log')).statusCode, who).toBe(403);
    expect((await call('GET', tok.auditor!, '/learner-access-log?from=yesterday')).statusCode).toBe(400);
  });

  it("cannot be changed or emptied by the application's database role", async () => {
    await learnerOfA();
    const app = stack.database.appDb;
    await expect(sql`update learner_access_log set actor_id = 'someone else'`.execute(app)).rejects.toThrow();
    await expect(sql`delete from learner_access_log`.execute(app)).rejects.toThrow();
    await expect(sql`truncate learner_access_log`.execute(app)).rejects.toThrow();
    // Not even the owner can rewrite it.
    await expect(sql`update learner_access_log set actor_id = 'someone else'`.execute(stack.db)).rejects.toThrow(/append-only/);
  });
});
