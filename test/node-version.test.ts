import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * Lambda runs the functions on nodejs24.x; the tests run on the Node that the `node` devDependency
 * puts in node_modules/.bin, where npm scripts look before the machine's own Node. This fails when
 * the suite falls back to the machine's Node: vitest started outside npm, or an install that skipped
 * the package's preinstall (which fetches the binary), e.g. `npm ci --ignore-scripts`.
 */
const root = new URL('../', import.meta.url);
const declared = readFileSync(new URL('.nvmrc', root), 'utf8').trim();
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { devDependencies: Record<string, string> };

describe('the Node the tests run on', () => {
  it('is the major version .nvmrc declares, in the test worker itself', () => {
    const hint = `running on ${process.version} (${process.execPath}): run it through npm (npm test) after an npm ci that ran install scripts`;
    expect(process.versions.node.split('.')[0], hint).toBe(declared);
  });

  it('is the major the node devDependency installs, so .nvmrc and package.json do not drift', () => {
    expect(pkg.devDependencies.node).toMatch(new RegExp(`^\\^${declared}\\.\\d+\\.\\d+$`));
  });
});
