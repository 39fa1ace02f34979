/**
 * From a Bash command line to policy facts: every program that runs (however wrapped or nested), every
 * path it reads, writes, deletes or executes, every network destination, every environment variable it
 * sets, and every risk it carries that cannot be resolved statically.
 *
 * The walk follows Bash's semantics closely enough to keep track of the effective working directory
 * (`cd`, `pushd`, `popd`, subshell scoping), of variables assigned earlier in the same command line, of
 * functions, of symlinks the command itself creates, and of what flows into a shell's or interpreter's
 * standard input. Where control flow forks (if/case/&&/||/loops) every branch is analysed and the
 * resulting states are merged: a value possible on any path is considered possible.
 *
 * Program knowledge (wrappers, readers, writers, network tools, interpreters) lives in `programs.ts`.
 */
import { resolveLexical, resolvePhysical, type FsProbe, type Platform } from '../paths/paths';
import { DYN, type Access, type CommandFact, type EnvFact, type PathFact, type RiskFact, type RiskKind, type UrlFact } from '../types';
import { ShellParseError, type Command, type Redir, type Script, type Word } from './ast';
import { expandWord, known, UNKNOWN, type ExpandContext, type Field, type Vals } from './expand';
import { parseShell } from './parse';
import { dispatch } from './programs';

export interface ShellEnv {
  home: string;
  user: string;
  platform: Platform;
  cwd: string;
  /** Environment variables the command would see (a safe subset of the real environment). */
  vars: Readonly<Record<string, string>>;
  fs?: FsProbe;
  homeOf?(user: string): string | undefined;
  /** Absolute time (ms) after which analysis gives up as unanalysable. */
  deadline?: number;
  now?: () => number;
}

export interface ShellFacts {
  paths: PathFact[];
  commands: CommandFact[];
  urls: UrlFact[];
  env: EnvFact[];
  risks: RiskFact[];
  unanalyzable: string[];
}

const MAX_NESTING = 12;
const MAX_COMMANDS = 4000;
const MAX_VALUES = 16;

/** What flows into a command's standard input. */
export type Stdin =
  | { kind: 'none' }
  | { kind: 'text'; text: string; dynamic: boolean; origin: 'heredoc' | 'herestring' | 'echo' }
  | { kind: 'file'; path: string }
  | { kind: 'pipe'; producers: Producer[] };

/** A command upstream in a pipe, summarised for stdin classification. */
export interface Producer {
  program: string;
  args: string[];
  risks: RiskKind[];
  /** Output text when it can be known statically (echo / printf / cat of a here-doc). */
  output?: string;
  outputDynamic?: boolean;
  /** The producer emits the contents of these files (cat file). */
  files?: string[];
}

export interface State {
  cwd: Vals;
  oldpwd: Vals;
  vars: Map<string, Vals>;
  funcs: Set<string>;
  links: Map<string, string>;
  dirStack: Vals[];
}

export interface Invocation {
  /** Program basename, e.g. `rm`. */
  program: string;
  /** The command word after expansion, e.g. `/bin/rm`. */
  invokedAs: string;
  args: Field[];
  st: State;
  env: Record<string, string>;
  stdin: Stdin;
  via: string[];
  depth: number;
  /** Filled by the handler when the command's output is statically known (echo/printf). */
  output?: { text: string; dynamic: boolean };
  /** Files whose contents the command writes to stdout (cat). */
  outputFiles?: string[];
}

class Budget extends Error {}

export class ShellAnalyzer {
  readonly facts: ShellFacts = { paths: [], commands: [], urls: [], env: [], risks: [], unanalyzable: [] };
  private commands = 0;
  private readonly seen = new Set<string>();
  /** Risk kinds emitted while analysing the current pipeline stage (for producer summaries). */
  private stageRisks: RiskKind[] | null = null;

  constructor(readonly env: ShellEnv) {}

  // ── entry points ───────────────────────────────────────────────────────
  analyze(command: string): ShellFacts {
    this.runText(command, this.initialState(), [], 0, 'command');
    return this.facts;
  }

  initialState(): State {
    const vars = new Map<string, Vals>();
    for (const [k, v] of Object.entries(this.env.vars)) vars.set(k, known(v));
    vars.set('HOME', known(this.env.home));
    return { cwd: known(this.env.cwd), oldpwd: UNKNOWN, vars, funcs: new Set(), links: new Map(), dirStack: [] };
  }

  /** Parse `text` and analyse it as a nested script (bash -c, eval, here-doc fed to a shell…). */
  runText(text: string, st: State, via: string[], depth: number, what: string, stdin: Stdin = { kind: 'none' }): State {
    if (depth > MAX_NESTING) {
      this.unanalyzable(`${what}: nested deeper than ${MAX_NESTING} levels`);
      return st;
    }
    let script: Script;
    try {
      script = parseShell(text);
    } catch (err) {
      if (err instanceof ShellParseError) {
        this.unanalyzable(`${what}: cannot parse shell syntax (${err.message} at offset ${err.pos})`);
        return st;
      }
      throw err;
    }
    try {
      return this.run(script.body, st, via, depth, undefined, stdin);
    } catch (err) {
      if (err instanceof Budget) {
        this.unanalyzable(err.message);
        return st;
      }
      throw err;
    }
  }

  // ── fact emitters ──────────────────────────────────────────────────────
  unanalyzable(reason: string): void {
    if (!this.facts.unanalyzable.includes(reason)) this.facts.unanalyzable.push(reason);
  }

  risk(kind: RiskKind, detail: string): void {
    this.stageRisks?.push(kind);
    const key = `r|${kind}|${detail}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.facts.risks.push({ kind, detail });
  }

  command(fact: CommandFact): void {
    const key = `c|${fact.via.join('>')}|${fact.invokedAs}|${fact.args.join('\u0001')}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.facts.commands.push(fact);
  }

  url(fact: UrlFact): void {
    const key = `u|${fact.url}|${fact.sends ?? ''}|${fact.via}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.facts.urls.push(fact);
  }

  envFact(fact: EnvFact): void {
    const key = `e|${fact.name}|${fact.value}|${fact.via}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.facts.env.push(fact);
  }

  private pushPath(fact: PathFact): void {
    const key = `p|${fact.path}|${fact.access}|${fact.recursive ? 1 : 0}|${fact.pattern ? 1 : 0}|${fact.linkFrom ?? ''}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.facts.paths.push(fact);
  }

  /**
   * Report an access to the path an argument names, resolved against every possible cwd, with shell
   * globs expanded through the file-system probe when there is one, and symlinks followed.
   */
  path(arg: Field | string, access: Access, via: string, st: State, opts: { recursive?: boolean } = {}): void {
    const f: Field = typeof arg === 'string' ? { text: arg, dynamic: arg.includes(DYN) } : arg;
    if (f.text === '' && !f.dynamic) return;
    if (f.text === '-' && !f.glob) return;
    const bases = this.cwdList(st);
    for (const base of bases) {
      if (f.glob) {
        const expanded = this.globExpand(f.glob, base);
        if (expanded && expanded.length) {
          for (const p of expanded) this.emitPath(p, access, via, st, opts, false);
          continue;
        }
        const pattern = f.glob.startsWith('/') ? f.glob : resolveLexical(base, f.glob);
        const fact: PathFact = { path: pattern, access, via, pattern: true };
        if (f.globDot) fact.dotMatches = true;
        if (opts.recursive) fact.recursive = true;
        if (f.dynamic) fact.dynamic = true;
        this.pushPath(fact);
        continue;
      }
      this.emitPath(resolveLexical(base, f.text), access, via, st, opts, f.dynamic);
    }
  }

  private emitPath(p: string, access: Access, via: string, st: State, opts: { recursive?: boolean }, dynamic: boolean): void {
    const fact: PathFact = { path: p, access, via };
    if (opts.recursive) fact.recursive = true;
    if (dynamic || p.includes(DYN)) fact.dynamic = true;
    this.pushPath(fact);
    const physical = resolvePhysical(p, this.env.fs, st.links);
    if (physical !== p) {
      const linked: PathFact = { ...fact, path: physical, linkFrom: p };
      this.pushPath(linked);
    }
  }

  private globExpand(pattern: string, cwd: string): string[] | undefined {
    if (!this.env.fs?.glob || pattern.includes(DYN)) return undefined;
    try {
      return this.env.fs.glob(pattern, cwd)?.map((p) => resolveLexical(cwd, p));
    } catch {
      return undefined;
    }
  }

  cwdList(st: State): string[] {
    const list = [...st.cwd.v];
    if (st.cwd.dyn || list.length === 0) list.push('/' + DYN);
    return list;
  }

  // ── state ──────────────────────────────────────────────────────────────
  clone(st: State): State {
    return {
      cwd: st.cwd,
      oldpwd: st.oldpwd,
      vars: new Map(st.vars),
      funcs: new Set(st.funcs),
      links: new Map(st.links),
      dirStack: [...st.dirStack],
    };
  }

  merge(a: State, b: State): State {
    const vars = new Map<string, Vals>();
    for (const k of new Set([...a.vars.keys(), ...b.vars.keys()])) {
      vars.set(k, union(this.varOf(a, k), this.varOf(b, k)));
    }
    return {
      cwd: union(a.cwd, b.cwd),
      oldpwd: union(a.oldpwd, b.oldpwd),
      vars,
      funcs: new Set([...a.funcs, ...b.funcs]),
      links: new Map([...a.links, ...b.links]),
      dirStack: a.dirStack.length === b.dirStack.length ? a.dirStack.map((v, i) => union(v, b.dirStack[i]!)) : a.dirStack,
    };
  }

  varOf(st: State, name: string): Vals {
    const v = st.vars.get(name);
    if (v) return v;
    if (name === 'IFS') return known(' \t\n');
    return UNKNOWN;
  }

  setVar(st: State, name: string, v: Vals): void {
    st.vars.set(name, cap(v));
  }

  setCwd(st: State, v: Vals): void {
    st.oldpwd = st.cwd;
    st.cwd = cap(v);
  }

  // ── expansion ──────────────────────────────────────────────────────────
  expandCtx(st: State, via: string[], depth: number): ExpandContext {
    return {
      home: this.env.home,
      homeOf: (u) => (u === this.env.user ? this.env.home : this.env.homeOf?.(u) ?? defaultHomeOf(u, this.env.platform)),
      cwd: () => st.cwd,
      oldpwd: () => st.oldpwd,
      getVar: (n) => this.varOf(st, n),
      ifs: () => {
        const v = this.varOf(st, 'IFS');
        return v.v.length === 1 && !v.dyn ? v.v[0]! : ' \t\n';
      },
      onSubst: (body, kind) => this.substitution(body, st, via, depth, kind),
    };
  }

  expand(word: Word, st: State, via: string[], depth: number, noSplit = false): Field[] {
    return expandWord(word, this.expandCtx(st, via, depth), { noSplit });
  }

  /** Analyse `$(…)` / `<(…)` in a subshell; return its output when it is statically known. */
  private substitution(body: Script, st: State, via: string[], depth: number, kind: 'cmdsub' | 'procsub'): Vals {
    const sub = this.clone(st);
    const saved = this.stageRisks;
    this.stageRisks = null;
    const out = this.runForOutput(body, sub, [...via, kind === 'cmdsub' ? '$(…)' : '<(…)'], depth + 1);
    this.stageRisks = saved;
    return out;
  }

  /** Run a script and return its standard output when every command in it is an echo/printf we can evaluate. */
  private runForOutput(body: Script, st: State, via: string[], depth: number): Vals {
    const collected: { text: string; dynamic: boolean }[] = [];
    let opaque = false;
    this.runScript(body, st, via, depth, (inv) => {
      if (inv.output) collected.push(inv.output);
      else opaque = true;
    });
    if (opaque || collected.some((c) => c.dynamic)) return UNKNOWN;
    return known(collected.map((c) => c.text).join(''));
  }

  // ── walking the tree ───────────────────────────────────────────────────
  runScript(script: Script, st: State, via: string[], depth: number, onCommand?: (inv: Invocation) => void): State {
    return this.run(script.body, st, via, depth, onCommand);
  }

  private tick(): void {
    if (++this.commands > MAX_COMMANDS) throw new Budget(`more than ${MAX_COMMANDS} commands to analyse`);
    const now = this.env.now?.() ?? Date.now();
    if (this.env.deadline !== undefined && now > this.env.deadline) throw new Budget('analysis deadline exceeded');
  }

  run(cmd: Command, st: State, via: string[], depth: number, onCommand?: (inv: Invocation) => void, stdin: Stdin = { kind: 'none' }): State {
    this.tick();
    switch (cmd.type) {
      case 'simple':
        return this.runSimple(cmd, st, via, depth, stdin, onCommand);
      case 'seq': {
        // Every command of a list reads the same standard input.
        let s = st;
        for (const item of cmd.items) {
          if (item.background) this.run(item.cmd, this.clone(s), via, depth, onCommand, stdin);
          else s = this.run(item.cmd, s, via, depth, onCommand, stdin);
        }
        return s;
      }
      case 'andor': {
        const afterLeft = this.run(cmd.left, st, via, depth, onCommand, stdin);
        const before = cmd.op === '&&' ? afterLeft : this.merge(st, afterLeft);
        const afterRight = this.run(cmd.right, this.clone(before), via, depth, onCommand);
        return this.merge(afterLeft, afterRight);
      }
      case 'pipeline':
        return this.runPipeline(cmd.cmds, st, via, depth, onCommand, stdin);
      case 'subshell': {
        const io = this.redirs(cmd.redirs, st, via, depth);
        this.run(cmd.body.body, this.clone(st), via, depth, onCommand, io.stdin ?? stdin);
        return st;
      }
      case 'group': {
        const io = this.redirs(cmd.redirs, st, via, depth);
        return this.run(cmd.body.body, st, via, depth, onCommand, io.stdin ?? stdin);
      }
      case 'if': {
        this.redirs(cmd.redirs, st, via, depth);
        let cur = st;
        const ends: State[] = [];
        for (const clause of cmd.clauses) {
          cur = this.runScript(clause.cond, cur, via, depth, onCommand);
          ends.push(this.runScript(clause.body, this.clone(cur), via, depth, onCommand));
        }
        ends.push(cmd.elseBody ? this.runScript(cmd.elseBody, this.clone(cur), via, depth, onCommand) : cur);
        return ends.reduce((a, b) => this.merge(a, b));
      }
      case 'loop': {
        this.redirs(cmd.redirs, st, via, depth);
        let s = st;
        for (let pass = 0; pass < 2; pass++) {
          const afterCond = this.runScript(cmd.cond, this.clone(s), via, depth, onCommand);
          const afterBody = this.runScript(cmd.body, this.clone(afterCond), via, depth, onCommand);
          s = this.merge(this.merge(s, afterCond), afterBody);
        }
        return s;
      }
      case 'for': {
        this.redirs(cmd.redirs, st, via, depth);
        let values: Vals = UNKNOWN;
        if (cmd.items) {
          const v: Vals = { v: [], dyn: false };
          for (const w of cmd.items) {
            for (const f of this.expand(w, st, via, depth)) {
              if (f.dynamic) v.dyn = true;
              else if (f.glob) {
                const exp = this.globExpand(f.glob, this.cwdList(st)[0]!);
                if (exp?.length) v.v.push(...exp);
                else v.v.push(f.glob);
              } else v.v.push(f.text);
            }
          }
          values = v;
        }
        let s = st;
        for (let pass = 0; pass < 2; pass++) {
          const body = this.clone(s);
          this.setVar(body, cmd.name, values);
          s = this.merge(s, this.runScript(cmd.body, body, via, depth, onCommand));
        }
        return s;
      }
      case 'arithfor': {
        this.scanArith(cmd.raw, st, via, depth);
        let s = st;
        for (let pass = 0; pass < 2; pass++) s = this.merge(s, this.runScript(cmd.body, this.clone(s), via, depth, onCommand));
        return s;
      }
      case 'case': {
        this.redirs(cmd.redirs, st, via, depth);
        this.expand(cmd.word, st, via, depth, true);
        const ends: State[] = [st];
        for (const item of cmd.items) {
          for (const p of item.patterns) this.expand(p, st, via, depth, true);
          ends.push(this.runScript(item.body, this.clone(st), via, depth, onCommand));
        }
        return ends.reduce((a, b) => this.merge(a, b));
      }
      case 'func': {
        st.funcs.add(cmd.name);
        const body = this.clone(st);
        this.run(cmd.body, body, [...via, `function ${cmd.name}`], depth, onCommand);
        return st;
      }
      case 'test':
        this.redirs(cmd.redirs, st, via, depth);
        for (const w of cmd.words) this.expand(w, st, via, depth, true);
        return st;
      case 'arith':
        this.redirs(cmd.redirs, st, via, depth);
        this.scanArith(cmd.raw, st, via, depth);
        return st;
    }
  }

  private scanArith(raw: string, st: State, via: string[], depth: number): void {
    if (!raw.includes('$(') && !raw.includes('`')) return;
    this.expand({ parts: [{ t: 'arith', raw, quoted: true }], pos: 0, raw }, st, via, depth, true);
  }

  private runPipeline(cmds: Command[], st: State, via: string[], depth: number, onCommand: ((inv: Invocation) => void) | undefined, stdin: Stdin): State {
    let input: Stdin = stdin;
    let last = st;
    cmds.forEach((c, i) => {
      const producers: Producer[] = [];
      const savedRisks = this.stageRisks;
      const risks: RiskKind[] = [];
      this.stageRisks = risks;
      const isLast = i === cmds.length - 1;
      const sub = this.clone(st);
      this.run(c, sub, via, depth, (inv) => {
        onCommand?.(inv);
        const p: Producer = { program: inv.program, args: inv.args.map((a) => a.text), risks };
        if (inv.output) {
          p.output = inv.output.text;
          p.outputDynamic = inv.output.dynamic;
        }
        if (inv.outputFiles) p.files = inv.outputFiles;
        producers.push(p);
      }, input);
      this.stageRisks = savedRisks;
      if (isLast) last = sub;
      input = { kind: 'pipe', producers };
    });
    void last;
    return st;
  }

  // ── simple commands ────────────────────────────────────────────────────
  private runSimple(
    cmd: Extract<Command, { type: 'simple' }>,
    st: State,
    via: string[],
    depth: number,
    pipeIn: Stdin,
    onCommand?: (inv: Invocation) => void,
  ): State {
    const fields: Field[] = [];
    for (const w of cmd.words) fields.push(...this.expand(w, st, via, depth));
    const prefixEnv: Record<string, string> = {};
    for (const a of cmd.assigns) {
      let vals: Vals;
      if (a.array) {
        const items: string[] = [];
        let dyn = false;
        for (const w of a.array) for (const f of this.expand(w, st, via, depth)) f.dynamic ? (dyn = true) : items.push(f.text);
        vals = { v: [items.join(' ')], dyn };
      } else vals = this.assignValue(a.value, st, via, depth);
      if (a.append) vals = concatVals(this.varOf(st, a.name), vals);
      const single = vals.v.length === 1 && !vals.dyn ? vals.v[0]! : DYN;
      if (fields.length) prefixEnv[a.name] = single;
      else this.setVar(st, a.name, vals);
      this.envFact({ name: a.name, value: single, via: fields.length ? 'prefix' : 'assignment' });
      if (a.name === 'PATH') this.risk('shell-state-change', `PATH=${single}`);
    }
    const io = this.redirs(cmd.redirs, st, via, depth);
    if (!fields.length) return st;
    const stdin = io.stdin ?? pipeIn;
    this.exec(fields, st, { env: prefixEnv, stdin, via, depth, onCommand });
    return st;
  }

  /** Assignment values: no field splitting or globbing; `~` after `=` and `:` expands. */
  private assignValue(w: Word | null, st: State, via: string[], depth: number): Vals {
    if (!w) return known('');
    const out: Vals = { v: [], dyn: false };
    for (const f of this.expand(w, st, via, depth, true)) {
      if (f.dynamic) out.dyn = true;
      else out.v.push(f.text.replace(/(^|:)~(?=\/|:|$)/g, `$1${this.env.home}`));
    }
    return out;
  }

  /** Apply redirections: reads and writes become path facts; here-docs and `<` become stdin. */
  redirs(redirs: Redir[], st: State, via: string[], depth: number): { stdin?: Stdin } {
    let stdin: Stdin | undefined;
    for (const r of redirs) {
      if (r.op === '<<' || r.op === '<<-') {
        const fields = r.heredoc ? this.expand(r.heredoc, st, via, depth, true) : [];
        const f = fields[0];
        stdin = { kind: 'text', text: f?.text ?? '', dynamic: !!f?.dynamic, origin: 'heredoc' };
        continue;
      }
      const targets = this.expand(r.target, st, via, depth, r.op === '<<<');
      if (r.op === '<<<') {
        const text = targets.map((t) => t.text).join(' ') + '\n';
        stdin = { kind: 'text', text, dynamic: targets.some((t) => t.dynamic), origin: 'herestring' };
        continue;
      }
      for (const t of targets) {
        if ((r.op === '>&' || r.op === '<&') && /^(\d+-?|-)$/.test(t.text)) continue;
        const label = `redirect ${r.fd ?? ''}${r.op}`;
        const dev = /^\/dev\/(tcp|udp)\/([^/]+)\/(\d+|\u27eadynamic\u27eb)$/.exec(t.text);
        if (dev) {
          const fact: UrlFact = { url: `${dev[1]}://${dev[2]}:${dev[3]}`, host: dev[2]!.toLowerCase(), scheme: dev[1]!, via: `bash /dev/${dev[1]}` };
          if (!r.op.startsWith('<')) fact.sends = 'stdin';
          this.url(fact);
        }
        switch (r.op) {
          case '<':
            if (r.fd === undefined || r.fd === 0) stdin = t.procsub ? this.procStdin(t.procsub, st, via, depth) : { kind: 'file', path: this.firstPath(t, st) };
            this.path(t, 'read', label, st);
            break;
          case '<>':
            this.path(t, 'read', label, st);
            this.path(t, 'write', label, st);
            break;
          case '<&':
            this.path(t, 'read', label, st);
            break;
          default:
            this.path(t, 'write', label, st);
        }
      }
    }
    return stdin ? { stdin } : {};
  }

  firstPath(f: Field, st: State): string {
    return resolveLexical(this.cwdList(st)[0]!, f.text);
  }

  /** Stdin fed from a process substitution: summarise its commands as producers. */
  procStdin(body: Script, st: State, via: string[], depth: number): Stdin {
    const producers: Producer[] = [];
    const risks: RiskKind[] = [];
    const saved = this.stageRisks;
    this.stageRisks = risks;
    this.runScript(body, this.clone(st), via, depth + 1, (inv) => producers.push({ program: inv.program, args: inv.args.map((a) => a.text), risks }));
    this.stageRisks = saved;
    return { kind: 'pipe', producers };
  }

  /** Run a command given as expanded fields (also used by wrappers for the command they wrap). */
  exec(
    fields: Field[],
    st: State,
    opts: { env: Record<string, string>; stdin: Stdin; via: string[]; depth: number; onCommand?: ((inv: Invocation) => void) | undefined },
  ): void {
    this.tick();
    const f0 = fields[0];
    if (!f0) return;
    const args = fields.slice(1);
    for (const [name, value] of Object.entries(opts.env)) this.envFact({ name, value, via: 'prefix' });
    if (f0.dynamic) {
      this.risk('dynamic-program', `program name is computed at run time: ${f0.text}`);
      const inv: Invocation = { program: DYN, invokedAs: f0.text, args, st, env: opts.env, stdin: opts.stdin, via: opts.via, depth: opts.depth };
      dispatch(this, inv, true);
      opts.onCommand?.(inv);
      return;
    }
    const invokedAs = f0.text;
    const program = invokedAs.includes('/') ? invokedAs.slice(invokedAs.lastIndexOf('/') + 1) : invokedAs;
    if (invokedAs.includes('/')) this.path(f0, 'exec', 'program path', st);
    const inv: Invocation = { program, invokedAs, args, st, env: opts.env, stdin: opts.stdin, via: opts.via, depth: opts.depth };
    if (!invokedAs.includes('/') && st.funcs.has(program)) {
      this.command({ program, invokedAs, args: args.map((a) => a.text), subcommand: [], flags: [], operands: [], via: [...opts.via, 'function'], env: opts.env, depth: opts.depth });
      opts.onCommand?.(inv);
      return;
    }
    dispatch(this, inv, false);
    opts.onCommand?.(inv);
  }
}

// ── helpers ───────────────────────────────────────────────────────────────

function union(a: Vals, b: Vals): Vals {
  if (a === b) return a;
  const v = [...new Set([...a.v, ...b.v])];
  return cap({ v, dyn: a.dyn || b.dyn });
}

function cap(v: Vals): Vals {
  if (v.v.length <= MAX_VALUES) return v;
  return { v: v.v.slice(0, MAX_VALUES), dyn: true };
}

function concatVals(a: Vals, b: Vals): Vals {
  const v: string[] = [];
  for (const x of a.v.length ? a.v : ['']) for (const y of b.v) v.push(x + y);
  return cap({ v, dyn: a.dyn || b.dyn });
}

export function defaultHomeOf(user: string, platform: Platform): string {
  if (user === 'root') return platform === 'darwin' ? '/var/root' : '/root';
  if (platform === 'darwin') return `/Users/${user}`;
  if (platform === 'win32') return `/c:/users/${user.toLowerCase()}`;
  return `/home/${user}`;
}

export function analyzeShell(command: string, env: ShellEnv): ShellFacts {
  return new ShellAnalyzer(env).analyze(command);
}
