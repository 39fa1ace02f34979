/**
 * The shell-analysis case format (test/cases/shell/*.yaml): a command line and the facts the analyser
 * must (and must not) report. Used by test/unit/shellCases.test.ts, one named mocha test per case.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { analyzeShell, type ShellFacts } from '../../src/core/shell/analyze';
import { TestEnv } from '../../src/core/policy/schema';
import { virtualFsProbe } from '../../src/core/policy/virtualFs';

const list = <T extends z.ZodTypeAny>(t: T) => z.array(t).optional();

export const ShellCase = z
  .object({
    name: z.string().min(1),
    command: z.string(),
    adversarial: z.boolean().optional(),
    env: TestEnv.optional(),
    expect: z
      .object({
        programs: list(z.string()),
        notPrograms: list(z.string()),
        commands: list(
          z
            .object({
              program: z.string(),
              subcommand: list(z.string()),
              flags: list(z.string()),
              operands: list(z.string()),
              via: list(z.string()),
            })
            .strict(),
        ),
        paths: list(z.object({ access: z.enum(['read', 'write', 'delete', 'exec', 'list']), path: z.string(), recursive: z.boolean().optional(), pattern: z.boolean().optional() }).strict()),
        notPaths: list(z.object({ access: z.enum(['read', 'write', 'delete', 'exec', 'list']).optional(), path: z.string() }).strict()),
        urls: list(z.object({ host: z.string(), sends: z.string().optional(), scheme: z.string().optional() }).strict()),
        notUrls: list(z.string()),
        risks: list(z.string()),
        notRisks: list(z.string()),
        noRisks: z.boolean().optional(),
        env: list(z.string()),
        unanalyzable: z.boolean().optional(),
        parseError: z.boolean().optional(),
      })
      .strict(),
  })
  .strict();

export const ShellCaseFile = z.object({ description: z.string().optional(), cases: z.array(ShellCase) }).strict();
export type ShellCaseDoc = z.infer<typeof ShellCase>;

export const CASES_DIR = path.resolve(__dirname, '../../../test/cases/shell');

export function loadShellCaseFiles(dir = CASES_DIR): { file: string; cases: ShellCaseDoc[] }[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      const file = path.join(dir, f);
      const parsed = ShellCaseFile.safeParse(parse(fs.readFileSync(file, 'utf8')));
      if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      return { file, cases: parsed.data.cases };
    });
}

export function analyzeCase(c: ShellCaseDoc): ShellFacts {
  const home = c.env?.home ?? '/home/dev';
  const workspace = c.env?.workspace ?? `${home}/project`;
  return analyzeShell(c.command, {
    home,
    user: c.env?.user ?? 'dev',
    platform: c.env?.platform ?? 'linux',
    cwd: c.env?.cwd ?? workspace,
    vars: { HOME: home, CLAUDE_PROJECT_DIR: workspace, ...(c.env?.vars ?? {}) },
    ...(c.env?.fs ? { fs: virtualFsProbe(c.env.fs) } : {}),
  });
}

/** Every way the facts differ from the case's expectations. */
export function checkShellCase(c: ShellCaseDoc, f: ShellFacts): string[] {
  const e = c.expect;
  const errs: string[] = [];
  const programs = new Set(f.commands.map((x) => x.program));
  for (const p of e.programs ?? []) if (!programs.has(p)) errs.push(`program ${p} not reported (got ${[...programs].join(', ') || 'none'})`);
  for (const p of e.notPrograms ?? []) if (programs.has(p)) errs.push(`program ${p} reported but should not be`);
  for (const want of e.commands ?? []) {
    const ok = f.commands.some(
      (x) =>
        x.program === want.program &&
        (want.subcommand ?? []).every((w, i) => x.subcommand[i] === w) &&
        (want.flags ?? []).every((fl) => x.flags.includes(fl)) &&
        (!want.operands || JSON.stringify(x.operands) === JSON.stringify(want.operands)) &&
        (want.via ?? []).every((v) => x.via.some((y) => y === v || y.startsWith(v))),
    );
    if (!ok) errs.push(`no command matching ${JSON.stringify(want)}; got ${JSON.stringify(f.commands.map((x) => ({ program: x.program, subcommand: x.subcommand, flags: x.flags, operands: x.operands, via: x.via })))}`);
  }
  for (const want of e.paths ?? []) {
    const ok = f.paths.some((p) => p.path === want.path && p.access === want.access && (want.recursive === undefined || !!p.recursive === want.recursive) && (want.pattern === undefined || !!p.pattern === want.pattern));
    if (!ok) errs.push(`no path fact ${want.access} ${want.path}; got ${f.paths.map((p) => `${p.access} ${p.path}${p.recursive ? ' (R)' : ''}${p.pattern ? ' (pattern)' : ''}`).join(', ') || 'none'}`);
  }
  for (const no of e.notPaths ?? []) {
    if (f.paths.some((p) => p.path === no.path && (!no.access || p.access === no.access))) errs.push(`path fact ${no.access ?? 'any'} ${no.path} reported but should not be`);
  }
  for (const want of e.urls ?? []) {
    const ok = f.urls.some((u) => u.host === want.host && (want.sends === undefined || u.sends === want.sends) && (want.scheme === undefined || u.scheme === want.scheme));
    if (!ok) errs.push(`no URL fact for ${JSON.stringify(want)}; got ${f.urls.map((u) => `${u.url} sends=${u.sends ?? '-'}`).join(', ') || 'none'}`);
  }
  for (const h of e.notUrls ?? []) if (f.urls.some((u) => u.host === h)) errs.push(`URL fact for ${h} reported but should not be`);
  const risks = new Set(f.risks.map((r) => r.kind));
  for (const r of e.risks ?? []) if (!risks.has(r as never)) errs.push(`risk ${r} not reported (got ${[...risks].join(', ') || 'none'})`);
  for (const r of e.notRisks ?? []) if (risks.has(r as never)) errs.push(`risk ${r} reported but should not be`);
  if (e.noRisks && f.risks.length) errs.push(`expected no risks, got ${f.risks.map((r) => r.kind).join(', ')}`);
  const envNames = new Set(f.env.map((x) => x.name));
  for (const n of e.env ?? []) if (!envNames.has(n)) errs.push(`env ${n} not reported`);
  if (e.parseError) {
    if (!f.unanalyzable.some((u) => u.includes('cannot parse'))) errs.push(`expected a parse error, got ${f.unanalyzable.join('; ') || 'none'}`);
  } else if (e.unanalyzable !== undefined && (f.unanalyzable.length > 0) !== e.unanalyzable) {
    errs.push(e.unanalyzable ? 'expected unanalysable' : `unexpectedly unanalysable: ${f.unanalyzable.join('; ')}`);
  } else if (e.unanalyzable === undefined && !e.parseError && f.unanalyzable.length) {
    errs.push(`unexpectedly unanalysable: ${f.unanalyzable.join('; ')}`);
  }
  return errs;
}
