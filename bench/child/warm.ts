import { lambdaContext, type Handler } from './context.ts';

/**
 * A warm container: imports one bundle once, then on the parent's command runs rounds of sequential
 * invocations and reports the CPU time they took (process.cpuUsage: every thread of this process,
 * garbage collection included), both within the round and including what the round left for later.
 * The fakes run in the parent, so their CPU is not counted here.
 */
export type WarmCommand =
  | { readonly type: 'load'; readonly url: string; readonly event: unknown; readonly warmup: number }
  | { readonly type: 'round'; readonly invocations: number }
  | { readonly type: 'mark' }
  | { readonly type: 'exit' };

export type WarmReply =
  | { readonly type: 'ready'; readonly statuses: Record<number, number> }
  | {
      readonly type: 'round';
      readonly cpuUs: number;
      readonly wallMs: number;
      readonly statuses: Record<number, number>;
      /** CPU since the previous round started (or the last mark): that round, and whatever it left for later. */
      readonly sinceMarkUs: number;
    }
  | { readonly type: 'mark'; readonly sinceMarkUs: number }
  | { readonly type: 'error'; readonly message: string };

let handler: Handler | undefined;
let event: unknown;
/**
 * Work a round leaves behind runs after it: timers (AbortSignal.timeout fires, or is cleared by a
 * FinalizationRegistry, seconds later), finalizers, V8's memory reducer. The CPU between one round's
 * start and the next one's (the child idles in between while the others run) counts it too.
 */
let mark = process.cpuUsage();
const sinceMark = () => {
  const since = process.cpuUsage(mark);
  mark = process.cpuUsage();
  return since.user + since.system;
};

async function invoke(count: number): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  for (let i = 0; i < count; i += 1) {
    const result = await handler!(event, lambdaContext);
    const status = result.statusCode ?? 0;
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
  return statuses;
}

const reply = (message: WarmReply) => process.send?.(message);

process.on('message', (command: WarmCommand) => {
  void (async () => {
    try {
      if (command.type === 'load') {
        handler = ((await import(command.url)) as { handler: Handler }).handler;
        event = command.event;
        reply({ type: 'ready', statuses: await invoke(command.warmup) });
      } else if (command.type === 'mark') {
        reply({ type: 'mark', sinceMarkUs: sinceMark() });
      } else if (command.type === 'round') {
        const sinceMarkUs = sinceMark();
        const cpu = process.cpuUsage();
        const started = performance.now();
        const statuses = await invoke(command.invocations);
        const wallMs = performance.now() - started;
        const used = process.cpuUsage(cpu);
        reply({ type: 'round', cpuUs: used.user + used.system, wallMs, statuses, sinceMarkUs });
      } else {
        process.exit(0);
      }
    } catch (error) {
      reply({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
