import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';

/** A console message in which Chromium reports a Content Security Policy violation. */
const CSP_VIOLATION = /Content[- ]Security[- ]Policy/i;

/** A headless Chromium with a phone viewport, for one browser test file (see `launchPhoneBrowser`). */
export interface PhoneBrowser {
  readonly context: BrowserContext;
  /** Where `screenshot` writes: `test-artifacts/<name>` below the working directory. */
  readonly artifacts: string;
  /** The console messages about a Content Security Policy violation, from every page of the context. */
  readonly cspViolations: readonly string[];
  /** A new page (tab) at `url`. */
  open(url: string): Promise<Page>;
  /** A full-page screenshot, `<artifacts>/<file>.png`. */
  screenshot(page: Page, file: string): Promise<void>;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/**
 * The system's Chromium (`/usr/bin/chromium`), headless, with a fresh profile in the OS temporary
 * folder and a phone viewport (390×844, mobile, touch). `name` names the profile and the artifacts
 * folder. In a test file:
 *
 *   let phone: PhoneBrowser;
 *   beforeAll(async () => { phone = await launchPhoneBrowser('my-page'); }, 60_000);
 *   afterAll(() => phone.close());
 */
export async function launchPhoneBrowser(name: string): Promise<PhoneBrowser> {
  const artifacts = join(process.cwd(), 'test-artifacts', name);
  mkdirSync(artifacts, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), `${name}-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
  });
  const cspViolations: string[] = [];
  context.on('console', (message) => {
    if (CSP_VIOLATION.test(message.text())) cspViolations.push(message.text());
  });
  return {
    context,
    artifacts,
    cspViolations,
    async open(url) {
      const page = await context.newPage();
      await page.goto(url);
      return page;
    },
    async screenshot(page, file) {
      await page.screenshot({ path: join(artifacts, `${file}.png`), fullPage: true });
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The page fits the phone: no horizontal scrolling. */
export function fitsThePhone(page: Page): Promise<boolean> {
  // String bodies: these run in the page, and the test tsconfig has no DOM lib.
  return page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth');
}
