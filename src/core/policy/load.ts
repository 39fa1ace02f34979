/**
 * Loading policies and policy test suites from YAML with precise `file:line:col` diagnostics.
 *
 * Schema errors come from zod and are mapped back to the YAML node they concern; semantic errors
 * (duplicate rule ids, unknown list references, durations over the cap, rules that match everything)
 * are checked after the schema passes.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { durationMs, MAX_EXCEPTION_MS } from './duration';
import { Policy, TestSuite, type MatchBlockDoc, type PolicyDoc, type TestSuiteDoc } from './schema';

export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.message}`;
}

export class PolicyError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'PolicyError';
  }
}

type Path = (string | number)[];

interface ParsedYaml {
  doc: Document.Parsed;
  lines: LineCounter;
  diagnostics: Diagnostic[];
  value: unknown;
}

function parseYaml(text: string, file: string): ParsedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, strict: true });
  const diagnostics: Diagnostic[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const pos = lines.linePos(e.pos[0]);
    diagnostics.push({ file, line: pos.line, col: pos.col, message: e.message.split('\n')[0] ?? e.message });
  }
  let value: unknown;
  if (diagnostics.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      diagnostics.push({ file, line: 1, col: 1, message: (err as Error).message });
    }
  }
  return { doc, lines, diagnostics, value };
}

/** The YAML node at `path`, or the closest ancestor that exists. With `key`, the key node of that map entry. */
function locate(doc: Document.Parsed, path: Path, key?: string): Node | undefined {
  let node: unknown = doc.contents;
  let found: Node | undefined = doc.contents ?? undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      node = pair.value;
      if (node) found = node as Node;
      else {
        found = pair.key as Node;
        break;
      }
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      if (!node) break;
      found = node as Node;
    } else break;
  }
  if (key !== undefined && isMap(found)) {
    const pair = found.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
    if (pair && pair.key) return pair.key as Node;
  }
  return found;
}

function position(p: ParsedYaml, file: string, path: Path, key?: string): { file: string; line: number; col: number } {
  const node = locate(p.doc, path, key);
  const offset = node?.range?.[0] ?? 0;
  const pos = p.lines.linePos(offset);
  return { file, line: pos.line, col: pos.col };
}

function zodDiagnostics(p: ParsedYaml, file: string, error: z.ZodError): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const top of error.issues) {
    const { issue, path } = deepest(top, top.path.filter((s): s is string | number => typeof s !== 'symbol'));
    const where = path.length ? path.join('.') : '(top level)';
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ ...position(p, file, path, key), message: `unknown field "${key}" in ${where}` });
      continue;
    }
    out.push({ ...position(p, file, path), message: `${where}: ${issue.message}` });
  }
  return out;
}

/**
 * zod reports "Invalid input" for unions; descend into the branch that explains the problem best: one
 * that got past the type check (wrong value rather than wrong type), then the deepest path.
 */
function deepest(issue: z.core.$ZodIssue, path: Path): { issue: z.core.$ZodIssue; path: Path } {
  if (issue.code !== 'invalid_union' || !issue.errors.length) return { issue, path };
  const candidates = issue.errors
    .map((branch) => branch[0])
    .filter((i): i is z.core.$ZodIssue => !!i)
    .map((i) => deepest(i, [...path, ...i.path.filter((s): s is string | number => typeof s !== 'symbol')]));
  candidates.sort((a, b) => score(b) - score(a));
  return candidates[0] ?? { issue, path };
}

function score(c: { issue: z.core.$ZodIssue; path: Path }): number {
  return (c.issue.code === 'invalid_type' ? 0 : 1000) + c.path.length;
}

/** Parse and validate a policy. Throws PolicyError with every diagnostic found. */
export function parsePolicy(text: string, file = '<policy>'): PolicyDoc {
  const p = parseYaml(text, file);
  if (p.diagnostics.length) throw new PolicyError(p.diagnostics);
  return validatePolicyValue(p.value, file, p);
}

/** Validate an already-parsed policy value (e.g. the JSON inside a signed bundle). */
export function validatePolicyValue(value: unknown, file = '<policy>', yamlSource?: ParsedYaml): PolicyDoc {
  const parsed = Policy.safeParse(value);
  if (!parsed.success) {
    const diags = yamlSource
      ? zodDiagnostics(yamlSource, file, parsed.error)
      : parsed.error.issues.map((i) => ({ file, line: 0, col: 0, message: `${i.path.join('.') || '(top level)'}: ${i.message}` }));
    throw new PolicyError(diags);
  }
  const semantic = semanticErrors(parsed.data);
  if (semantic.length) {
    throw new PolicyError(
      semantic.map((s) => ({
        ...(yamlSource ? position(yamlSource, file, s.path) : { file, line: 0, col: 0 }),
        message: s.message,
      })),
    );
  }
  return parsed.data;
}

function semanticErrors(policy: PolicyDoc): { path: Path; message: string }[] {
  const errors: { path: Path; message: string }[] = [];
  const seen = new Map<string, number>();
  const lists = policy.lists ?? {};
  policy.rules.forEach((rule, i) => {
    const prev = seen.get(rule.id);
    if (prev !== undefined) errors.push({ path: ['rules', i, 'id'], message: `duplicate rule id "${rule.id}" (first at rules.${prev})` });
    else seen.set(rule.id, i);
    if (rule.exception?.maxDuration) {
      const ms = durationMs(rule.exception.maxDuration);
      if (ms > MAX_EXCEPTION_MS) {
        errors.push({ path: ['rules', i, 'exception', 'maxDuration'], message: 'exception maxDuration must be at most 14d' });
      }
    }
    const blocks = Array.isArray(rule.match) ? rule.match : [rule.match];
    blocks.forEach((b, j) => {
      const path: Path = Array.isArray(rule.match) ? ['rules', i, 'match', j] : ['rules', i, 'match'];
      if (isEmptyBlock(b)) errors.push({ path, message: 'match block has no condition; use `tool: "*"` to match every call' });
    });
    for (const ref of listRefs(rule)) {
      if (!(ref in lists)) errors.push({ path: ['rules', i], message: `unknown list "@${ref}"` });
    }
  });
  return errors;
}

function isEmptyBlock(b: MatchBlockDoc): boolean {
  return Object.values(b).every((v) => v === undefined);
}

function listRefs(value: unknown, out = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    if (value.startsWith('@')) out.add(value.slice(1));
  } else if (Array.isArray(value)) value.forEach((v) => listRefs(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => listRefs(v, out));
  return out;
}

/** Parse and validate a policy test suite. */
export function parseTestSuite(text: string, file = '<suite>'): TestSuiteDoc {
  const p = parseYaml(text, file);
  if (p.diagnostics.length) throw new PolicyError(p.diagnostics);
  const parsed = TestSuite.safeParse(p.value);
  if (!parsed.success) throw new PolicyError(zodDiagnostics(p, file, parsed.error));
  return parsed.data;
}

/** Line number (1-based) of each case in a suite, for reporting. */
export function testCaseLines(text: string): number[] {
  const p = parseYaml(text, '<suite>');
  const cases = locate(p.doc, ['cases']);
  if (!isSeq(cases)) return [];
  return cases.items.map((n) => p.lines.linePos((n as Node).range?.[0] ?? 0).line);
}
