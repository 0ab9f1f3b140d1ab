import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM } from './chromium-path.ts';

export { CHROMIUM, hasChromium } from './chromium-path.ts';

/** Headless, with a fresh profile (playwright makes one per launch) and no background networking. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
