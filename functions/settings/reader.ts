import type { Capability } from '../manifest.ts';
import { InvalidSetting, type ReadContext, type Rule } from './rules.ts';

/**
 * What a setting is, declared once (functions/settings/table.ts), and the reader that checks the
 * values of a source: a function's environment at cold start, or the CDK context at synthesis.
 */

/** A condition on another setting's value (its default included). */
export interface Condition {
  readonly setting: Setting<string>;
  readonly is: readonly string[];
}

export interface Setting<T = unknown> {
  /** The functions' environment variable; absent: only the deployment reads it. */
  readonly env?: string;
  /** The CDK context key; absent: the stack fills the variable from its own resources (`fromStack`). */
  readonly context?: string;
  /** The stack sets the variable from a resource it creates (a key or secret ARN): no context key. */
  readonly fromStack?: true;
  /** The functions that read the variable, by capability (functions/manifest.ts). */
  readonly readBy?: readonly Capability[] | 'all';
  /** The raw value (trimmed, never empty) to the typed one; throws InvalidSetting. */
  readonly rule: Rule<T>;
  /** As it would be written; parsed by `rule` like a given value. */
  readonly default?: string;
  /** Always, or only when a condition holds. */
  readonly required?: true | Condition;
  /** Refused when given while the condition does not hold. */
  readonly appliesWhen?: Condition;
  /** A value for the example command a misconfigured synthesis prints. */
  readonly example?: string;
}

/** The setting's value: always there when it is required or has a default. */
export type ValueOf<S> = S extends Setting<infer T> ? (S extends { readonly required: true } | { readonly default: string } ? T : T | undefined) : never;

/** `env`: a function's environment variables; `context`: CDK context, for a deployment. */
export type Side = 'env' | 'context';

/** The raw value of a name, trimmed, undefined when unset or empty; may throw InvalidSetting. */
export type Source = (name: string) => string | undefined;

export interface Problem {
  /** The variable or context key. */
  readonly name: string;
  readonly reason: string;
  /** The setting is required and absent. */
  readonly missing?: true;
}

export interface Settings {
  get<S extends Setting>(setting: S): ValueOf<S>;
  /** Whether the source set it (a default does not count); once read. */
  given(setting: Setting): boolean;
  /** Whether its value broke its rule (the value is then undefined); once read. */
  failed(setting: Setting): boolean;
}

export function nameOf(setting: Setting, side: Side): string | undefined {
  return side === 'env' ? setting.env : setting.context;
}

export function envSource(env: Readonly<Record<string, string | undefined>>): Source {
  return (name) => {
    const raw = env[name]?.trim();
    return raw === '' ? undefined : raw;
  };
}

/**
 * CDK context as the functions' environment would spell it: `-c key=value` gives strings, cdk.json
 * also numbers, booleans and arrays (joined with commas, as a list is written on the command line).
 */
export function contextSource(get: (key: string) => unknown): Source {
  const scalar = (raw: unknown): string | undefined => {
    if (raw === undefined || raw === null) return undefined;
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      throw new InvalidSetting(`must be a string, got ${JSON.stringify(raw)}`);
    }
    const value = String(raw).trim();
    return value === '' ? undefined : value;
  };
  return (key) => {
    const raw = get(key);
    if (!Array.isArray(raw)) return scalar(raw);
    const items = raw.map((item: unknown) => {
      if (typeof item !== 'string' && typeof item !== 'number') throw new InvalidSetting('must be a comma-separated list of strings');
      return String(item);
    });
    return scalar(items.join(','));
  };
}

const describe = (condition: Condition, side: Side) => `${nameOf(condition.setting, side)}=${condition.is.join(' or ')}`;

/**
 * Reads settings from `source` on first use and checks them: its rule, whether it is required, and
 * the condition it applies under. A problem does not stop the reading: it is collected in
 * `problems`, and the value is then undefined, so that a caller reads everything it needs and
 * reports every problem at once (a condition on a setting that failed its own rule is not judged).
 */
export function settingsReader(side: Side, source: Source): Settings & { readonly problems: readonly Problem[] } {
  const at: ReadContext = { deployment: side === 'context' };
  const read = new Map<Setting, { value?: unknown; given?: true; failed?: true }>();
  const problems: Problem[] = [];
  const fail = (name: string, reason: string, missing?: true) => problems.push({ name, reason, ...(missing && { missing }) });
  const holds = (condition: Condition): boolean | undefined => {
    const value = get(condition.setting);
    return read.get(condition.setting)!.failed ? undefined : condition.is.includes(value as string);
  };

  function get<S extends Setting>(setting: S): ValueOf<S> {
    const known = read.get(setting);
    if (known !== undefined) return known.value as ValueOf<S>;
    const name = nameOf(setting, side);
    // A loader asking for a deployment-only setting, or the app for a stack-filled one.
    if (name === undefined) throw new Error(`a setting without a name on the ${side} side`);
    const entry: { value?: unknown; given?: true; failed?: true } = {};
    read.set(setting, entry);
    try {
      const raw = source(name);
      const value = raw === undefined ? undefined : setting.rule(raw, at);
      // An empty list is no value, as an empty string is.
      if (value !== undefined && !(Array.isArray(value) && value.length === 0)) {
        entry.value = value;
        entry.given = true;
      } else if (setting.default !== undefined) {
        entry.value = setting.rule(setting.default, at);
      }
    } catch (error) {
      if (!(error instanceof InvalidSetting)) throw error;
      fail(name, error.message);
      entry.failed = true;
      return undefined as ValueOf<S>;
    }
    const { required, appliesWhen } = setting;
    if (entry.value === undefined && required !== undefined) {
      if (required === true) fail(name, 'is required', true);
      else if (holds(required)) fail(name, `is required with ${describe(required, side)}`, true);
    }
    if (entry.given && appliesWhen !== undefined && holds(appliesWhen) === false) fail(name, `applies only with ${describe(appliesWhen, side)}`);
    return entry.value as ValueOf<S>;
  }

  return {
    get,
    given: (setting) => read.get(setting)?.given === true,
    failed: (setting) => read.get(setting)?.failed === true,
    problems,
  };
}
