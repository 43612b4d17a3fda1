// A real Chromium for the browser tests, driven by playwright-core: Debian's `chromium` (the bootstrap
// installs it when it can) or CHROMIUM_PATH. Playwright's own browser download is never used.

import { existsSync } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser, type Page } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The browser to use, or why there is none. */
export function chromiumPath(): { path: string } | { missing: string } {
  const given = process.env.CHROMIUM_PATH;
  if (given) return existsSync(given) ? { path: given } : { missing: `CHROMIUM_PATH=${given} does not exist` };
  const found = CANDIDATES.find((c) => existsSync(c));
  return found ? { path: found } : { missing: `no Chromium at ${CANDIDATES.join(', ')}: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH` };
}

export async function launchChromium(path: string): Promise<Browser> {
  // The sandbox needs user namespaces, which a root shell or a container often lacks.
  return chromium.launch({ executablePath: path, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** axe-core's WCAG 2.1 A/AA findings on the page as it is now, serious and critical only. */
export async function seriousViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}
