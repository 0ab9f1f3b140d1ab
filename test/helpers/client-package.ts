import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildClient } from '../../client/build.ts';

export const CLIENT_DIR = fileURLToPath(new URL('../../client/', import.meta.url));

export interface ClientPackageJson {
  readonly name: string;
  readonly files: readonly string[];
  readonly exports: Readonly<Record<string, string | { readonly types: string; readonly default: string }>>;
}

export interface InstalledClient {
  /** A temporary project: its node_modules/@par-proxy/client is the package as npm would install it. */
  readonly root: string;
  readonly packageDir: string;
  readonly manifest: ClientPackageJson;
  /** The file an `exports` subpath (`./bff`) names for a browser or bundler ("default"). */
  readonly entryFile: (subpath: string) => string;
  readonly remove: () => Promise<void>;
}

/**
 * @par-proxy/client built and laid out as `npm install` would: its package.json, README, and what
 * its `files` list, nothing else (npm pack's rule), in a fresh directory per call, so two test
 * files never build into the same place. The build is the package's own (client/build.ts).
 */
export async function installClient(): Promise<InstalledClient> {
  const root = await mkdtemp(join(tmpdir(), 'par-proxy-client-'));
  const built = join(root, 'build');
  await buildClient(join(built, 'dist'));
  const manifest = JSON.parse(await readFile(join(CLIENT_DIR, 'package.json'), 'utf8')) as ClientPackageJson;
  const packageDir = join(root, 'node_modules', ...manifest.name.split('/'));
  await mkdir(packageDir, { recursive: true });
  await cp(join(CLIENT_DIR, 'package.json'), join(packageDir, 'package.json'));
  await cp(join(CLIENT_DIR, 'README.md'), join(packageDir, 'README.md'));
  for (const entry of manifest.files) await cp(join(built, entry), join(packageDir, entry), { recursive: true });
  await rm(built, { recursive: true, force: true });
  return {
    root,
    packageDir,
    manifest,
    entryFile: (subpath) => {
      const target = manifest.exports[subpath];
      if (target === undefined) throw new Error(`${manifest.name} exports no ${subpath}`);
      return join(packageDir, typeof target === 'string' ? target : target.default);
    },
    remove: () => rm(root, { recursive: true, force: true }),
  };
}
