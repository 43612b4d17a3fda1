// One journey through the console in a real Chromium, signed in through the embedded OpenID provider, on
// the real stack: the preparer drafts a plan, records consent and submits it; the director, the municipality
// and the national coordinator approve it from their inboxes; the preparer logs a consultation; the director
// suspends and resumes it; the auditor reads its timeline and verifies its chain. axe checks every screen; another school's
// preparer typing the plan's address is told it does not exist; a session without the CSRF token changes
// nothing. Screenshots of each screen, in Latvian and English, go to .data/screenshots/.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '@iap/infra';
import { DEMO_PASSWORD, DEMO_USERS, type OidcUser } from '@iap/infra/oidc-provider';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launchChromium, seriousViolations } from './browser.js';
import { OTHER_SCHOOL_PREPARER, startConsoleStack, type ConsoleStack } from './console-harness.js';

const found = chromiumPath();
if ('missing' in found) {
  if (process.env.CI === 'true') throw new Error(`browser tests cannot run: ${found.missing}`);
  console.warn(`SKIPPING the console browser tests: ${found.missing}`);
}
const SHOTS = path.join(REPO_ROOT, '.data', 'screenshots');
const user = (role: string): OidcUser => DEMO_USERS.find((u) => u.role === role)!;

async function signIn(browser: Browser, consoleUrl: string, who: OidcUser, at = '/'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const page = await context.newPage();
  await page.goto(`${consoleUrl}${at}`);
  await page.getByRole('link', { name: 'Pieteikties' }).click();
  await page.getByLabel('Lietotājs / User').fill(who.sub);
  await page.getByLabel('Parole / Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Pieteikties / Sign in' }).click();
  await page.waitForURL(`${consoleUrl}/**`);
  await page.getByRole('button', { name: 'Iziet' }).waitFor();
  return { context, page };
}

async function checked(page: Page, name: string): Promise<void> {
  await page.waitForLoadState('networkidle');
  expect(await seriousViolations(page), `axe on ${name}`).toEqual([]);
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

describe.skipIf('missing' in found)('the console in a browser', () => {
  let s: ConsoleStack;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    [s, browser] = await Promise.all([startConsoleStack(), launchChromium((found as { path: string }).path)]);
    await s.registerLearner(user('preparer'), 'L-browser-1');
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  it('walks a plan from draft to national approval', async () => {
    const { context, page } = await signIn(browser, s.consoleUrl, user('preparer'));
    await page.getByRole('link', { name: 'Mani plāni' }).click();
    await page.getByRole('heading', { name: 'Mani plāni' }).waitFor();
    await checked(page, 'plans-lv');

    // A session cookie without the CSRF token changes nothing.
    const forged = await context.request.post(`${s.consoleUrl}/api/plans`, {
      headers: { 'content-type': 'application/json', 'idempotency-key': 'no-csrf' },
      data: { learnerRef: 'L-forged', semester: '2026/27-1', grade: 7, risks: [], measures: [] },
    });
    expect(forged.status()).toBe(403);

    await page.getByRole('link', { name: 'Jauns plāns' }).click();
    await page.getByRole('heading', { name: 'Jauns plāns' }).waitFor();
    await page.getByRole('button', { name: 'Saglabāt melnrakstu' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('Pārbaudiet atzīmētos laukus');
    await checked(page, 'draft-form-lv');
    // Checked as the user types, against the API's own schema: a space is not allowed in a reference.
    const learnerRef = page.getByLabel('Izglītojamā atsauce');
    await learnerRef.fill('L browser');
    await expect.poll(() => learnerRef.getAttribute('aria-invalid')).toBe('true');
    await page.getByLabel('Plānotās minūtes').fill('12x');
    await expect.poll(() => page.getByLabel('Plānotās minūtes').getAttribute('aria-invalid')).toBe('true');
    await learnerRef.fill('L-unregistered');
    await expect.poll(() => learnerRef.getAttribute('aria-invalid')).toBe(null);
    await page.getByLabel('Faktors').fill('nepietiekami vērtējumi matemātikā');
    await page.getByLabel('Pamatojums').fill('papildu nodarbības');
    await page.getByLabel('Mācību priekšmets').fill('matemātika');
    await page.getByLabel('Plānotās minūtes').fill('240');
    // The API's refusal, in the user's language, on the field it names; nothing typed is lost.
    await page.getByRole('button', { name: 'Saglabāt melnrakstu' }).click();
    await page.getByRole('alert').filter({ hasText: 'ar šo atsauci nav reģistrēts neviens izglītojamais' }).waitFor();
    expect(await learnerRef.getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Pamatojums').inputValue()).toBe('papildu nodarbības');
    await learnerRef.fill('L-browser-1');
    await page.getByRole('button', { name: 'Saglabāt melnrakstu' }).click();
    await page.getByRole('heading', { name: 'Izglītojamā L-browser-1 plāns' }).waitFor();
    const planUrl = page.url();
    expect(await page.getByTestId('plan-status').textContent()).toBe('Melnraksts');
    await checked(page, 'plan-draft-lv');

    // Two people on one plan: the second to act, on the version they were shown, is told it changed.
    const colleague = await context.newPage();
    await colleague.goto(planUrl);
    await colleague.getByLabel('Dokumenta numurs').fill('PIEKR-2026-1');
    await colleague.getByRole('button', { name: 'Reģistrēt piekrišanu' }).click();
    await colleague.getByRole('button', { name: 'Iesniegt apstiprināšanai' }).waitFor();
    await colleague.close();
    await page.getByLabel('Dokumenta numurs').fill('PIEKR-2026-2');
    await page.getByRole('button', { name: 'Reģistrēt piekrišanu' }).click();
    await expect.poll(() => page.locator('.notice').textContent()).toContain('Plānu pa to laiku mainīja kāds cits');
    await page.getByRole('button', { name: 'Iesniegt apstiprināšanai' }).click();
    await expect.poll(() => page.getByTestId('plan-status').textContent()).toBe('Apstiprināšanā');

    // The language switch sticks across pages and reloads; dates and amounts follow it.
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Plan for learner L-browser-1' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Plan for learner L-browser-1' }).waitFor();
    expect(await page.getByTestId('plan-status').textContent()).toBe('In approval');
    await checked(page, 'plan-in-approval-en');
    await page.getByRole('link', { name: 'My plans' }).click();
    await page.getByRole('heading', { name: 'My plans' }).waitFor();
    await checked(page, 'plans-en');
    await page.getByRole('link', { name: 'New plan' }).click();
    await page.getByRole('heading', { name: 'New plan' }).waitFor();
    await checked(page, 'draft-form-en');
    await page.getByRole('button', { name: 'Latviešu' }).click();

    // Signing out ends the session here and at the provider.
    await page.getByRole('button', { name: 'Iziet' }).click();
    await page.locator('button[name="logout"][value="yes"]').click();
    await page.getByRole('link', { name: 'Pieteikties' }).waitFor();
    expect((await context.request.get(`${s.consoleUrl}/api/plans`)).status()).toBe(401);
    await context.close();

    for (const [role, level] of [
      ['school_director', 'Izglītības iestāde'],
      ['municipality_coordinator', 'Pašvaldība'],
      ['national_coordinator', 'Valsts'],
    ] as const) {
      const approver = await signIn(browser, s.consoleUrl, user(role));
      await approver.page.getByRole('heading', { name: `Plāni, kas gaida apstiprinājumu līmenī: ${level}` }).waitFor();
      await approver.page.getByRole('link', { name: 'Atvērt izglītojamā L-browser-1 plānu' }).click();
      await approver.page.getByRole('heading', { name: 'Izglītojamā L-browser-1 plāns' }).waitFor();
      if (role === 'school_director') await checked(approver.page, 'plan-approval-lv');
      await approver.page.getByRole('button', { name: `Apstiprināt (${level})` }).click();
      await expect.poll(() => approver.page.locator('.notice').textContent()).toBe('Saglabāts.');
      if (role === 'school_director') {
        await approver.page.getByRole('link', { name: 'Apstiprināšanai' }).click();
        await approver.page.getByText('Jūsu līmenī neviens plāns negaida.').waitFor();
        await checked(approver.page, 'inbox-lv');
      }
      if (role === 'national_coordinator') await expect.poll(() => approver.page.getByTestId('plan-status').textContent()).toBe('Apstiprināts');
      await approver.context.close();
    }

    // Support given and confirmed shows as delivered against what was planned.
    const preparerAgain = await signIn(browser, s.consoleUrl, user('preparer'), new URL(planUrl).pathname);
    const pp = preparerAgain.page;
    await pp.getByRole('heading', { name: 'Reģistrēt konsultāciju' }).waitFor();
    await pp.getByLabel('Minūtes').fill('60');
    await pp.getByRole('button', { name: 'Reģistrēt konsultāciju' }).click();
    await pp.getByRole('button', { name: /Reģistrēt apstiprinājumu/ }).click();
    await pp.getByText('Sniegtas 60 no 240 min').waitFor();
    await checked(pp, 'plan-consultations-lv');
    await preparerAgain.context.close();

    // The director suspends the plan (a reason is asked for first) and resumes it: back through approval.
    const director = await signIn(browser, s.consoleUrl, user('school_director'), new URL(planUrl).pathname);
    const dp = director.page;
    await dp.getByRole('button', { name: 'Apturēt plānu' }).click();
    await expect.poll(() => dp.locator('.notice').textContent()).toBe('Jānorāda iemesls.');
    await dp.getByLabel('Iemesls').fill('izglītojamais slimo');
    await dp.getByRole('button', { name: 'Apturēt plānu' }).click();
    await expect.poll(() => dp.getByTestId('plan-status').textContent()).toBe('Apturēts');
    await checked(dp, 'plan-suspended-lv');
    await dp.getByRole('button', { name: 'Atsākt plānu' }).click();
    await expect.poll(() => dp.getByTestId('plan-status').textContent()).toBe('Pārskatīšanā');
    await director.context.close();

    // The auditor reads the plan's timeline, its state as of now, and verifies its hash chain.
    const auditor = await signIn(browser, s.consoleUrl, user('auditor'), new URL(planUrl).pathname);
    const ap = auditor.page;
    await ap.getByRole('cell', { name: 'Plāns sagatavots' }).waitFor();
    await ap.getByRole('cell', { name: 'Plāns apturēts' }).waitFor();
    await ap.getByRole('button', { name: 'Stāvoklis šajā brīdī' }).click();
    await expect.poll(() => ap.getByTestId('state-at').textContent()).toMatch(/^Versija \d+: Pārskatīšanā$/);
    await ap.getByRole('button', { name: 'Pārbaudīt jaucējķēdi' }).click();
    await expect.poll(() => ap.getByTestId('verify').textContent()).toMatch(/^Ķēde ir vesela/);
    await checked(ap, 'plan-audit-lv');
    // Reports: a table with the event-log point it reflects, and the same figures as CSV.
    await ap.getByRole('link', { name: 'Pārskati' }).click();
    await ap.getByRole('heading', { name: 'Pārskati' }).waitFor();
    await ap.getByLabel('Pārskats').selectOption({ label: 'Dalība' });
    await ap.getByRole('button', { name: 'Rādīt' }).click();
    await ap.getByText(/^Dati uz /).waitFor();
    await checked(ap, 'reports-lv');
    const csvHref = await ap.getByRole('link', { name: 'Lejupielādēt CSV' }).getAttribute('href');
    const csv = await auditor.context.request.get(`${s.consoleUrl}${csvHref}`);
    expect(csv.status()).toBe(200);
    expect(csv.headers()['content-type']).toContain('text/csv');
    await auditor.context.close();

    // Another school's preparer typing the plan's address learns nothing of it.
    const other = await signIn(browser, s.consoleUrl, OTHER_SCHOOL_PREPARER, new URL(planUrl).pathname);
    await other.page.getByRole('alert').filter({ hasText: 'Nav atrasts.' }).waitFor();
    await checked(other.page, 'plan-not-found-lv');
    await other.context.close();
  }, 150_000);
});
