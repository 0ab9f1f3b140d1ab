import { existsSync } from 'node:fs';

/** Debian's Chromium (`apt-get install -y chromium`); playwright-core never downloads a browser here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

/** Why the browser test is skipped, if it is: a user can act on this one. */
export const MISSING_CHROMIUM_NOTICE = `Skipping the browser test: no Chromium at ${CHROMIUM} (apt-get install -y chromium; .ci/run does).`;
