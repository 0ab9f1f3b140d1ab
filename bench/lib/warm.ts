import { fork, type ChildProcess } from 'node:child_process';
import type { WarmCommand, WarmReply } from '../child/warm.ts';
import type { Bundle } from './build.ts';
import { childEnv, sleep, within } from './processes.ts';

/** A warm container in its own process (bench/child/warm.ts), driven round by round over IPC. */
export interface WarmTarget {
  readonly label: string;
  readonly bundle: Bundle;
  readonly event: unknown;
  readonly env: Record<string, string>;
  readonly expectedStatus: number;
  /** Extra Node flags, e.g. --cpu-prof. */
  readonly execArgv?: readonly string[];
}

export interface WarmRound {
  readonly cpuUsPerInvocation: number;
  readonly wallUsPerInvocation: number;
  /** CPU since this child's previous round started (the previous round, all included), in us. */
  readonly sinceMarkUs: number;
}

/** Longer than any timer a round can leave behind (UPSTREAM_TIMEOUT_MS, 3 s by default). */
export const SETTLE_MS = 3500;

const ROUND_TIMEOUT_MS = 120_000;

export class WarmChild {
  private readonly child: ChildProcess;
  private pending?: { resolve: (reply: WarmReply) => void; reject: (error: Error) => void };
  private stderr = '';

  constructor(
    runner: string,
    readonly target: WarmTarget,
  ) {
    this.child = fork(runner, [], {
      env: childEnv(target.env),
      execArgv: [...(target.execArgv ?? [])],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.child.stdout!.resume();
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    this.child.on('message', (reply: WarmReply) => {
      const pending = this.pending;
      this.pending = undefined;
      if (reply.type === 'error') pending?.reject(new Error(`${target.label}: ${reply.message}`));
      else pending?.resolve(reply);
    });
    this.child.on('exit', (code) => {
      this.pending?.reject(new Error(`${target.label}: warm child exited ${code}: ${this.stderr}`));
      this.pending = undefined;
    });
  }

  private send(command: WarmCommand): Promise<WarmReply> {
    const reply = new Promise<WarmReply>((resolve, reject) => {
      this.pending = { resolve, reject };
    });
    this.child.send(command);
    return within(reply, ROUND_TIMEOUT_MS, `${this.target.label} ${command.type}`);
  }

  async load(warmup: number): Promise<void> {
    const reply = await this.send({ type: 'load', url: this.target.bundle.url, event: this.target.event, warmup });
    this.check(reply);
  }

  async round(invocations: number): Promise<WarmRound> {
    const reply = await this.send({ type: 'round', invocations });
    this.check(reply);
    if (reply.type !== 'round') throw new Error('unexpected reply');
    return {
      cpuUsPerInvocation: reply.cpuUs / invocations,
      wallUsPerInvocation: (reply.wallMs * 1000) / invocations,
      sinceMarkUs: reply.sinceMarkUs,
    };
  }

  /** CPU since the last round started or the last mark, in us; starts a new mark. */
  async mark(): Promise<number> {
    const reply = await this.send({ type: 'mark' });
    if (reply.type !== 'mark') throw new Error(`${this.target.label}: unexpected reply to mark`);
    return reply.sinceMarkUs;
  }

  private check(reply: WarmReply): void {
    if (reply.type === 'error') throw new Error(reply.message);
    if (reply.type === 'mark') return;
    const unexpected = Object.keys(reply.statuses).filter((status) => Number(status) !== this.target.expectedStatus);
    if (unexpected.length > 0) {
      throw new Error(`${this.target.label}: answered ${JSON.stringify(reply.statuses)}: ${this.stderr}`);
    }
  }

  /** Asks the child to exit (a --cpu-prof child writes its profile then) and waits for it. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'exit' } satisfies WarmCommand);
    await within(exited, 10_000, `${this.target.label} exit`).catch(() => this.child.kill('SIGKILL'));
  }
}

export interface WarmMeasurement {
  /** CPU us per invocation within each round, by label, one entry per round (aligned, for paired ratios). */
  readonly cpu: Map<string, number[]>;
  /** The same including what each round left for later (timers, finalizers, GC), by label and round. */
  readonly inclusive: Map<string, number[]>;
}

/**
 * Runs `rounds` rounds; in each, every child runs `invocations` invocations, one child at a time, in
 * an order that rotates each round. Several children may share a label (independent processes of the
 * same bundle: a process's own JIT and heap layout is a noise of its own); their round values are
 * averaged. Waits SETTLE_MS before the first and after the last round so that the inclusive figures
 * hold exactly the rounds' own work. `after` runs after each child's round.
 */
export async function warmRounds(
  children: readonly WarmChild[],
  rounds: number,
  invocations: number,
  after: (label: string, round: WarmRound) => void = () => {},
): Promise<WarmMeasurement> {
  const labels = [...new Set(children.map((child) => child.target.label))];
  const perRound = () => new Map<string, number[][]>(labels.map((label) => [label, Array.from({ length: rounds }, () => [])]));
  const cpu = perRound();
  const inclusive = perRound();
  await sleep(SETTLE_MS);
  await Promise.all(children.map((child) => child.mark()));
  const roundOf = new Map<WarmChild, number>();
  for (let round = 0; round < rounds; round += 1) {
    for (let i = 0; i < children.length; i += 1) {
      const child = children[(i + round) % children.length]!;
      const measured = await child.round(invocations);
      const label = child.target.label;
      cpu.get(label)![round]!.push(measured.cpuUsPerInvocation);
      if (roundOf.has(child)) inclusive.get(label)![roundOf.get(child)!]!.push(measured.sinceMarkUs / invocations);
      roundOf.set(child, round);
      after(label, measured);
    }
  }
  await sleep(SETTLE_MS);
  for (const child of children) inclusive.get(child.target.label)![rounds - 1]!.push((await child.mark()) / invocations);
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const collapse = (m: Map<string, number[][]>) => new Map([...m].map(([label, values]) => [label, values.map(mean)]));
  return { cpu: collapse(cpu), inclusive: collapse(inclusive) };
}
