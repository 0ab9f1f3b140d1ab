import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Bundle } from './build.ts';
import { childEnv, within } from './processes.ts';

/** One cold start: what bench/child/cold.ts reports, plus the parent's wall time from spawn to exit. */
export interface ColdSample {
  /** Node's own start, up to the runner's first line (ms from the process's time origin). */
  readonly boot: number;
  readonly importMs: number;
  readonly firstMs: number;
  /** Time origin to the first answer. */
  readonly totalMs: number;
  /** CPU of the whole process up to the first answer. */
  readonly cpuMs: number;
  readonly status: number;
  readonly wallMs: number;
}

export interface ColdVariant {
  readonly label: string;
  readonly bundle: Bundle;
  readonly event: unknown;
  readonly env: Record<string, string>;
  readonly expectedStatus: number;
}

const COLD_TIMEOUT_MS = 30_000;

export function coldStart(runner: string, variant: ColdVariant): Promise<ColdSample> {
  const started = performance.now();
  const child = spawn(process.execPath, [runner, variant.bundle.url, JSON.stringify(variant.event)], {
    env: childEnv(variant.env),
    // stdout: the function's log lines, drained; fd 3: the runner's result.
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  child.stdout!.resume();
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let result = '';
  (child.stdio[3] as Readable).on('data', (chunk: Buffer) => (result += chunk.toString()));
  const exited = new Promise<ColdSample>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      if (code !== 0 || result === '') {
        reject(new Error(`${variant.label}: cold child exited ${code}: ${stderr.slice(0, 2000)}`));
        return;
      }
      const sample = { ...(JSON.parse(result) as Omit<ColdSample, 'wallMs'>), wallMs };
      if (sample.status !== variant.expectedStatus) {
        reject(new Error(`${variant.label}: first invocation answered ${sample.status}: ${stderr.slice(0, 2000)}`));
        return;
      }
      resolve(sample);
    });
  });
  return within(exited, COLD_TIMEOUT_MS, `${variant.label} cold start`).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
}

/**
 * `processes` cold starts of every variant, interleaved (the order rotates each pass, so no variant
 * always runs after the same one), one process at a time.
 */
export async function coldStarts(
  runner: string,
  variants: readonly ColdVariant[],
  processes: number,
  between: () => void,
): Promise<Map<string, ColdSample[]>> {
  const samples = new Map<string, ColdSample[]>(variants.map((variant) => [variant.label, []]));
  for (let pass = 0; pass < processes; pass += 1) {
    for (let i = 0; i < variants.length; i += 1) {
      const variant = variants[(i + pass) % variants.length]!;
      samples.get(variant.label)!.push(await coldStart(runner, variant));
      between();
    }
  }
  return samples;
}
