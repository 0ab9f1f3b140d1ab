import { hasChromium, MISSING_CHROMIUM_NOTICE } from '../helpers/chromium-path.ts';

/**
 * Vitest global setup, in vitest's own process: what a user can act on is printed here, once,
 * because `silent: 'passed-only'` holds back whatever tests log unless they fail.
 */
export default function notices(): void {
  if (!hasChromium) console.warn(MISSING_CHROMIUM_NOTICE);
}
