import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';

/**
 * Where a warm child's CPU went: a V8 .cpuprofile (from BENCH_PROFILE) reduced to self time by
 * package or project file, through the bundle's source map (the bundle is minified, so function
 * names alone say little). Node internals keep their own names (undici, streams, http...).
 */
interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number; readonly columnNumber: number };
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly byGroup: readonly (readonly [string, number])[];
  readonly byFrame: readonly (readonly [string, number])[];
}

function group(source: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
  if (pkg !== null) return pkg[1]!;
  const project = /(functions|bench)\/.*$/.exec(source);
  return project === null ? source : project[0];
}

export function summarizeProfile(profileFile: string, bundleFile: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as CpuProfile;
  const map = new SourceMap(JSON.parse(readFileSync(`${bundleFile}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]);
  const bundleUrl = `file://${bundleFile}`;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byGroup = new Map<string, number>();
  const byFrame = new Map<string, number>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const { callFrame } = nodes.get(id)!;
    let groupName: string;
    let frame: string;
    if (callFrame.url === bundleUrl) {
      const entry = map.findEntry(callFrame.lineNumber, callFrame.columnNumber) as { originalSource?: string; originalLine?: number };
      const source = entry.originalSource ?? 'bundle';
      groupName = group(source);
      frame = `${source.replace(/^(\.\.\/)+(node_modules\/)?/, '')}:${(entry.originalLine ?? 0) + 1}`;
    } else if (callFrame.url.startsWith('node:')) {
      groupName = callFrame.url.includes('undici') ? 'node:undici (fetch, Request, Response)' : `node:${callFrame.url.replace(/^node:(internal\/)?/, '').split('/')[0]}`;
      frame = `${callFrame.url} ${callFrame.functionName}`;
    } else if (callFrame.url === '') {
      groupName = callFrame.functionName === '' ? '(anonymous native)' : callFrame.functionName;
      frame = groupName;
    } else {
      groupName = callFrame.url.replace(/^file:\/\/.*\/bench\//, 'bench/');
      frame = `${groupName} ${callFrame.functionName}`;
    }
    if (groupName === '(idle)') continue;
    totalUs += us;
    byGroup.set(groupName, (byGroup.get(groupName) ?? 0) + us);
    byFrame.set(frame, (byFrame.get(frame) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, v / 1000] as const);
  return { totalMs: totalUs / 1000, byGroup: sorted(byGroup), byFrame: sorted(byFrame) };
}
