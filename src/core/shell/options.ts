/**
 * Command-line option parsing that knows which options take values, so operands are found correctly
 * (`tail -n 5 .env` reads `.env`, not `5`), and that reports every flag in every spelling a rule might use:
 * `-rf`, `-fr`, `-r -f`, `-Rf`, `--recursive --force` and unique long-option abbreviations such as `--recur`
 * all yield the same canonical set.
 */
import { DYN } from '../types';
import type { Field } from './expand';

export interface OptSpec {
  /** Short options that take a value, e.g. `'nof'`. */
  short?: string;
  /** Short options whose value is optional and must be attached (`-i.bak`). */
  shortOptional?: string;
  /** Long options (without `--`) that take a value. */
  long?: readonly string[];
  /** Synonym groups: any spelling present adds all of them. */
  groups?: readonly (readonly string[])[];
  /** Other long flags the program knows (for abbreviation resolution). */
  flags?: readonly string[];
  /** Options end at the first operand (wrappers: the rest is the wrapped command). */
  stopAtOperand?: boolean;
  /** `-5` style numeric options (head, tail). */
  numeric?: boolean;
  /** Single-dash long options (`-exec`, `-name`): treat `-word` as one flag, not a cluster. */
  singleDashLong?: boolean;
  /** Digits that are short flags for this program (`xargs -0`), not negative numbers. */
  digits?: string;
}

export interface ParsedArgs {
  /** Every flag as written, split into single letters for clusters, plus synonyms. */
  flags: string[];
  /** Option values by every spelling of the option. */
  values: Map<string, Field[]>;
  operands: Field[];
  /** With `stopAtOperand`: the first operand and everything after it. */
  rest: Field[];
  /** Operands that came after `--`. */
  afterDashDash: Field[];
}

function longNames(spec: OptSpec): string[] {
  const names = new Set<string>(spec.long ?? []);
  for (const f of spec.flags ?? []) names.add(f.replace(/^--/, ''));
  for (const g of spec.groups ?? []) for (const f of g) if (f.startsWith('--')) names.add(f.slice(2));
  return [...names];
}

/**
 * Resolve a long option name, allowing abbreviations as GNU getopt and git do. An ambiguous abbreviation
 * resolves to every candidate: `git push --forc` is read as all of --force, --force-with-lease…, so it
 * cannot slip between them.
 */
function resolveLong(name: string, spec: OptSpec): string[] {
  const names = longNames(spec);
  if (names.includes(name)) return [name];
  const matches = names.filter((n) => n.startsWith(name));
  return matches.length ? matches : [name];
}

export function parseArgs(args: readonly Field[], spec: OptSpec = {}): ParsedArgs {
  const flags = new Set<string>();
  const values = new Map<string, Field[]>();
  const operands: Field[] = [];
  const afterDashDash: Field[] = [];
  let rest: Field[] = [];
  const longWithValue = new Set(spec.long ?? []);
  const addValue = (opt: string, v: Field): void => {
    for (const name of synonyms(opt, spec)) {
      const list = values.get(name) ?? [];
      list.push(v);
      values.set(name, list);
    }
  };
  const addFlag = (opt: string): void => {
    for (const name of synonyms(opt, spec)) flags.add(name);
  };
  for (let i = 0; i < args.length; i++) {
    const f = args[i]!;
    const t = f.text;
    if (t === '--') {
      for (const g of args.slice(i + 1)) {
        operands.push(g);
        afterDashDash.push(g);
      }
      if (spec.stopAtOperand) rest = args.slice(i + 1) as Field[];
      break;
    }
    // A long option: its name must be static, its value may be computed (`--data="k=$KEY"`).
    if (/^--[A-Za-z0-9]/.test(t)) {
      const eq = t.indexOf('=');
      const rawName = eq < 0 ? t.slice(2) : t.slice(2, eq);
      if (!rawName.includes(DYN)) {
        const names = resolveLong(rawName, spec);
        for (const name of names) addFlag(`--${name}`);
        const withValue = names.find((n) => longWithValue.has(n));
        const opt = `--${withValue ?? names[0]}`;
        if (eq >= 0) addValue(opt, { ...f, text: t.slice(eq + 1) });
        // An ambiguous abbreviation only takes an attached value: the next word stays an operand.
        else if (withValue && names.length === 1 && i + 1 < args.length) addValue(opt, args[++i]!);
        continue;
      }
    }
    if (t.startsWith('-') && t.length > 1 && !t.startsWith(DYN) && !(f.dynamic && t.startsWith('-' + DYN))) {
      if (spec.numeric && /^-\d+$/.test(t)) {
        addFlag(t);
        continue;
      }
      if (spec.singleDashLong && t.length > 2) {
        addFlag(t);
        continue;
      }
      if (/^-\d/.test(t) && !spec.numeric && !spec.digits?.includes(t[1]!)) {
        // negative number: an operand
      } else {
        addFlag(t);
        for (let j = 1; j < t.length; j++) {
          const c = t[j]!;
          const opt = `-${c}`;
          addFlag(opt);
          if (spec.short?.includes(c)) {
            const attached = t.slice(j + 1);
            if (attached) addValue(opt, { ...f, text: attached });
            else if (i + 1 < args.length) addValue(opt, args[++i]!);
            break;
          }
          if (spec.shortOptional?.includes(c)) {
            const attached = t.slice(j + 1);
            if (attached) addValue(opt, { ...f, text: attached });
            break;
          }
        }
        continue;
      }
    }
    if (spec.stopAtOperand) {
      rest = args.slice(i) as Field[];
      break;
    }
    operands.push(f);
  }
  if (spec.stopAtOperand && rest.length) operands.push(...rest);
  return { flags: [...flags], values, operands, rest, afterDashDash };
}

function synonyms(opt: string, spec: OptSpec): string[] {
  for (const g of spec.groups ?? []) if (g.includes(opt)) return [...g];
  return [opt];
}

export function value(p: ParsedArgs, ...names: string[]): Field | undefined {
  for (const n of names) {
    const v = p.values.get(n);
    if (v?.length) return v[v.length - 1];
  }
  return undefined;
}

export function allValues(p: ParsedArgs, ...names: string[]): Field[] {
  const out = new Set<Field>();
  for (const n of names) for (const v of p.values.get(n) ?? []) out.add(v);
  return [...out];
}

export function has(p: ParsedArgs, ...names: string[]): boolean {
  return names.some((n) => p.flags.includes(n));
}
