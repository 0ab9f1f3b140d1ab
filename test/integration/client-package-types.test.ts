import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_DIR, installClient, type InstalledClient } from '../helpers/client-package.ts';

/**
 * @par-proxy/client's declarations as a TypeScript app sees them: the package built and installed
 * into a fresh project, which imports it by name, resolved through its `exports` (TypeScript's
 * bundler and nodenext resolution, strict, the declarations checked too: skipLibCheck off).
 * `@ts-expect-error` lines prove the types are the API's and not `any`: an unused one fails.
 */
const CONSUMER = `
import { BffError, createBffClient, LoginRequiredError, readCallbackError, type BffClient, type BffSession } from '@par-proxy/client/bff';
import { completeLogin, createProof, dpopKey, LoginError, refreshTokens, startLogin, type TokenSet } from '@par-proxy/client/relay';

const bff: BffClient = createBffClient({ basePath: '/auth', proxyUrl: 'https://app.example.com' });
const session: BffSession = await bff.getSession();
export const who: unknown = session.authenticated ? session.claims.sub : undefined;
export const expiresAt: number | undefined = session.authenticated ? session.expiresAt : undefined;
await bff.startLogin({ scope: 'openid profile', returnTo: '/orders', params: { max_age: 300 } });
const answer: Response = await bff.callApi('orders', 'v1/orders', { method: 'POST', body: '{}' });
export const failed: BffError | undefined = readCallbackError();
export const required: BffError = new LoginRequiredError('gone');
export const code: string = required.error;
await bff.logout();

await startLogin({ proxyUrl: 'https://proxy.example.com', redirectUri: 'https://app.example.com/callback', dpop: true, responseMode: 'jwt' });
const tokens: TokenSet = await completeLogin();
export const refreshed: Promise<TokenSet> = refreshTokens('https://proxy.example.com', tokens.refresh_token ?? '', tokens.tokenEndpoint === undefined ? undefined : { tokenEndpoint: tokens.tokenEndpoint });
export const proof: Promise<string> = dpopKey().then((key) => createProof(key, 'GET', 'https://api.example.com/me', tokens.access_token));
export const loginError = new LoginError('invalid_state', 'x') satisfies Error;
export { answer };

// @ts-expect-error basePath is a string
createBffClient({ basePath: 1 });
// @ts-expect-error a session that is not authenticated has no claims
export const none = (await bff.getSession()).claims;
// @ts-expect-error startLogin needs the proxy and the redirect URI
await startLogin({ scope: 'openid' });
// @ts-expect-error responseMode is jwt or nothing
await startLogin({ proxyUrl: 'https://p.example', redirectUri: 'https://a.example/cb', responseMode: 'query' });
`;

/** What no app can import: the root (there is none) and a module that is not an entry point. */
const UNEXPORTED = `
import type {} from '@par-proxy/client';
import type {} from '@par-proxy/client/jarm';
import type {} from '@par-proxy/client/dist/types/jarm.ts';
`;

/**
 * The repository has no React, so the README's React example is checked against a stand-in for
 * @types/react: the signatures of the four hooks it calls, and JSX that accepts any element. What
 * it checks is the example's use of @par-proxy/client/bff, which is this package's to keep right.
 */
const REACT_STAND_IN = {
  'package.json': JSON.stringify({
    name: 'react',
    version: '0.0.0-stand-in',
    exports: { '.': { types: './index.d.ts' }, './jsx-runtime': { types: './jsx-runtime.d.ts' } },
  }),
  'index.d.ts': `
export function useState<S>(initial: S | (() => S)): [S, (next: S | ((previous: S) => S)) => void];
export function useEffect(effect: () => void | (() => void), deps?: readonly unknown[]): void;
export function useCallback<T extends (...args: never[]) => unknown>(callback: T, deps: readonly unknown[]): T;
export function useMemo<T>(factory: () => T, deps: readonly unknown[]): T;
`,
  'jsx-runtime.d.ts': `
export namespace JSX {
  type Element = { readonly element: true };
  interface IntrinsicElements { [name: string]: { [attribute: string]: unknown } }
  interface ElementChildrenAttribute { children: {} }
}
export function jsx(type: unknown, props: unknown, key?: unknown): JSX.Element;
export const jsxs: typeof jsx;
export const Fragment: (props: { children?: unknown }) => JSX.Element;
`,
};

const TSC = fileURLToPath(import.meta.resolve('typescript/bin/tsc'));

/** tsc on consumer.ts, unexported.ts and react-example.tsx: its error lines (none is a pass), one per line. */
async function tsc(project: string, resolution: 'bundler' | 'nodenext'): Promise<string[]> {
  const options = {
    target: 'ES2022',
    module: resolution === 'bundler' ? 'ESNext' : 'NodeNext',
    moduleResolution: resolution,
    lib: ['ES2022', 'DOM', 'DOM.Iterable'],
    types: [],
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    noEmit: true,
    jsx: 'react-jsx',
  };
  const config = join(project, `tsconfig.${resolution}.json`);
  await writeFile(config, JSON.stringify({ compilerOptions: options, files: ['consumer.ts', 'unexported.ts', 'react-example.tsx'] }));
  const output = await promisify(execFile)(process.execPath, [TSC, '-p', config, '--pretty', 'false'], { cwd: project }).then(
    ({ stdout }) => stdout,
    (error: { stdout: string }) => error.stdout,
  );
  return output.split('\n').filter((line) => line.includes('error TS'));
}

describe('the @par-proxy/client type declarations, in a consumer', () => {
  let client: InstalledClient;
  beforeAll(async () => {
    client = await installClient();
    // "type": "module", as the apps the package is for: nodenext then reads .ts files as ESM.
    await writeFile(join(client.root, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await writeFile(join(client.root, 'consumer.ts'), CONSUMER);
    await writeFile(join(client.root, 'unexported.ts'), UNEXPORTED);
    const readme = await readFile(join(CLIENT_DIR, 'README.md'), 'utf8');
    const reactExample = [...readme.matchAll(/```tsx\n([\s\S]*?)```/g)].map((match) => match[1]!);
    expect(reactExample).toHaveLength(1);
    await writeFile(join(client.root, 'react-example.tsx'), reactExample[0]!);
    await mkdir(join(client.root, 'node_modules', 'react'));
    for (const [name, text] of Object.entries(REACT_STAND_IN)) await writeFile(join(client.root, 'node_modules', 'react', name), text);
  }, 30_000);
  afterAll(() => client?.remove());

  it('ships the Apache-2.0 licence text with the code (Apache-2.0 4(a)), inside `files`', async () => {
    const licence = await readFile(join(client.packageDir, 'dist', 'LICENSE'), 'utf8');
    expect(licence).toContain('Apache License');
    expect(licence).toContain('Version 2.0, January 2004');
  });

  it.each(['bundler', 'nodenext'] as const)(
    "type-check an app that uses both entry points, and the README's React example; the root, an internal module and a dist path do not resolve (moduleResolution %s)",
    async (resolution) => {
      const errors = await tsc(client.root, resolution);
      expect(errors.filter((line) => !line.startsWith('unexported.ts'))).toEqual([]);
      expect(errors).toHaveLength(3);
      for (const line of errors) expect(line).toMatch(/^unexported\.ts\(\d+,\d+\): error TS2307: Cannot find module '@par-proxy\/client[^']*'/);
    },
  );
});
