import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * Issue 16: a version that means something. package.json's version is the CHANGELOG's latest
 * release (Keep a Changelog 1.1.0: `## [x.y.z] - YYYY-MM-DD` under `## [Unreleased]`), a semantic
 * version (SemVer 2.0.0 §2, §9), and the licence package.json names is the LICENSE's text.
 */
const root = new URL('../', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), 'utf8');
const pkg = JSON.parse(read('package.json')) as { version: string; license?: string };
const changelog = read('CHANGELOG.md');
// SemVer 2.0.0's own pattern, without build metadata (which carries no precedence, §10).
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$/;
const releases = [...changelog.matchAll(/^## \[([^\]]+)\](?: - (\S+))?$/gm)].map(([, name, date]) => ({ name: name!, date }));

describe('the release', () => {
  it('CHANGELOG opens with [Unreleased], then releases each with a semantic version and an ISO date', () => {
    expect(releases[0]).toEqual({ name: 'Unreleased', date: undefined });
    expect(releases.length).toBeGreaterThan(1);
    for (const { name, date } of releases.slice(1)) {
      expect(name).toMatch(SEMVER);
      expect(date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
  });

  it("package.json's version is the CHANGELOG's latest release", () => {
    expect(pkg.version).toMatch(SEMVER);
    expect(pkg.version).toBe(releases[1]?.name);
  });

  it('package.json names Apache-2.0, which LICENSE holds', () => {
    expect(pkg.license).toBe('Apache-2.0');
    expect(read('LICENSE')).toMatch(/^\s+Apache License\n\s+Version 2\.0, January 2004\n/);
    expect(read('LICENSE')).toContain('Copyright 2026 The PAR proxy authors');
  });
});
