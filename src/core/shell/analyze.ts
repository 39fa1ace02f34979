/**
 * From a Bash command line to policy facts: every program that runs (however wrapped or nested), every
 * path it reads, writes, deletes or executes, every network destination, every environment variable it
 * sets, and every risk it carries that cannot be resolved statically.
 *
 * The walk follows Bash's semantics closely enough to keep track of the effective working directory
 * (`cd`, `pushd`, `popd`, CDPATH, subshell scoping), of variables, arrays and positional parameters set
 * earlier in the same command line, of functions (analysed where they are called, with their arguments),
 * of what the command line writes into files and then runs, of symlinks it creates, and of what flows
 * into a shell's or interpreter's standard input, through every stage of a pipeline. Where control flow
 * forks (if/case/&&/||/loops) every branch is analysed and the resulting states are merged: a value
 * possible on any path is considered possible.
 *
 * Program knowledge (wrappers, readers, writers, network tools, interpreters) lives in `programs.ts`.
 */
import { isFdAlias, procAlias, resolveLexical, resolvePhysical, type FsProbe, type Platform } from '../paths/paths';
import { DYN, type Access, type CommandFact, type EnvFact, type PathFact, type RiskFact, type RiskKind, type UrlFact } from '../types';
import { ShellParseError, type Command, type Redir, type Script, type Word } from './ast';
import { ELEMENT_SEP, expandWord, known, UNKNOWN, type ExpandContext, type Field, type Taint, type Vals } from './expand';
import { parseShell } from './parse';
import { dispatch, pipelineRisks, stdinTaint } from './programs';

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
const MAX_FUNCTION_DEPTH = 4;

/** What flows into a command's standard input. */
export type Stdin =
  | { kind: 'none' }
  | { kind: 'text'; text: string; dynamic: boolean; origin: 'heredoc' | 'herestring'; from?: Field['from']; taint?: Taint }
  | { kind: 'file'; path: string; dynamic?: boolean }
  /** Every command upstream in the pipeline, first stage first. */
  | { kind: 'pipe'; producers: Producer[] };

/** A command upstream in a pipe, summarised for stdin classification. */
export interface Producer {
  program: string;
  args: string[];
  /** Risks raised while analysing it. */
  risks: RiskKind[];
  /** Output text when it can be known statically (echo / printf / cat of a here-doc / a decoder). */
  output?: string;
  outputDynamic?: boolean;
  /** The producer emits the contents of these files (cat file). */
  files?: string[];
  /** It read files (its output may carry their content). */
  reads: boolean;
  /** Its own input came from the network (a /dev/tcp redirect). */
  netInput?: boolean;
  /** What its output is when not known as text (a download, a decoded payload). */
  origin?: FileOrigin;
}

/** What the command line itself wrote into a file earlier on, so running that file later is understood. */
export type FileOrigin = { kind: 'text'; text: string; dynamic: boolean; taint?: Taint } | { kind: 'download' | 'decoded'; detail: string };

/**
 * Things that outlive the shell that created them: files, links, git and npm configuration. Shared by
 * reference across subshells, pipeline stages and branches (a file written anywhere exists afterwards).
 */
export interface World {
  links: Map<string, string>;
  files: Map<string, FileOrigin>;
  gitAliases: Map<string, Field>;
  gitRemotes: Map<string, string>;
  npmScripts: Map<string, Field>;
}

export interface State {
  cwd: Vals;
  oldpwd: Vals;
  vars: Map<string, Vals>;
  /** Variables marked for export (seen by every later command). */
  exported: Set<string>;
  funcs: Map<string, Command>;
  dirStack: Vals[];
  /** File descriptors opened on network sockets (`exec 3<>/dev/tcp/h/p`). */
  fds: Map<number, UrlFact>;
  world: World;
  /** Backwards-compatible views of world maps. */
  links: Map<string, string>;
  files: Map<string, FileOrigin>;
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
  /** Files whose contents the command writes to stdout (cat, tar -c -f -). */
  outputFiles?: string[];
  /** The output is a download or a decoded payload (curl, base64 -d), whether or not its text is known. */
  producesOrigin?: FileOrigin;
}

class Budget extends Error {}

interface Stage {
  risks: RiskKind[];
  reads: number;
}

export class ShellAnalyzer {
  readonly facts: ShellFacts = { paths: [], commands: [], urls: [], env: [], risks: [], unanalyzable: [] };
  private commands = 0;
  private readonly seen = new Set<string>();
  /** Facts raised while analysing the current pipeline stage (for producer summaries). */
  private stage: Stage | null = null;
  private readonly calledFunctions = new Set<string>();
  private readonly definedFunctions = new Map<string, { body: Command; st: State; via: string[]; depth: number }>();
  private functionDepth = 0;

  constructor(readonly env: ShellEnv) {}

  // ── entry points ───────────────────────────────────────────────────────
  analyze(command: string): ShellFacts {
    this.runText(command, this.initialState(), [], 0, 'command');
    // A function defined but never called here may still run (exported, trapped, sourced later):
    // analyse its body once with unknown arguments.
    for (const [name, def] of this.definedFunctions) {
      if (this.calledFunctions.has(name)) continue;
      this.guard(() => this.run(def.body, this.clone(def.st), [...def.via, `function ${name}`], def.depth));
    }
    return this.facts;
  }

  initialState(): State {
    const vars = new Map<string, Vals>();
    for (const [k, v] of Object.entries(this.env.vars)) vars.set(k, known(v));
    vars.set('HOME', known(this.env.home));
    const world: World = { links: new Map(), files: new Map(), gitAliases: new Map(), gitRemotes: new Map(), npmScripts: new Map() };
    return {
      cwd: known(this.env.cwd),
      oldpwd: UNKNOWN,
      vars,
      exported: new Set(Object.keys(this.env.vars)),
      funcs: new Map(),
      dirStack: [],
      fds: new Map(),
      world,
      links: world.links,
      files: world.files,
    };
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (err instanceof Budget) this.unanalyzable(err.message);
      else throw err;
    }
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
    let out = st;
    this.guard(() => {
      out = this.run(script.body, st, via, depth, undefined, stdin);
    });
    return out;
  }

  // ── fact emitters ──────────────────────────────────────────────────────
  unanalyzable(reason: string): void {
    if (!this.facts.unanalyzable.includes(reason)) this.facts.unanalyzable.push(reason);
  }

  risk(kind: RiskKind, detail: string): void {
    this.stage?.risks.push(kind);
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
    if (this.stage && (fact.access === 'read' || fact.access === 'exec')) this.stage.reads++;
    // `via` is part of the identity: rules exempt some routes (`notVia: git *`), so a write through one
    // route must not hide a later write to the same file through another (`git config …; echo … >> .git/config`).
    const key = `p|${fact.path}|${fact.access}|${fact.recursive ? 1 : 0}|${fact.pattern ? 1 : 0}|${fact.linkFrom ?? ''}|${fact.via}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.facts.paths.push(fact);
    if (fact.access === 'read' && /^\/proc\/[^/]+\/(?:task\/[^/]+\/)?environ$/.test(fact.path)) this.risk('env-dump', `reads ${fact.path}`);
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
        const expanded = f.noExpand ? undefined : this.globExpand(f.glob, base);
        if (expanded && expanded.length) {
          for (const p of expanded) this.emitPath(p, access, via, st, opts, false, base);
          continue;
        }
        const pattern = procAlias(f.glob.startsWith('/') ? f.glob : resolveLexical(base, f.glob), base);
        const fact: PathFact = { path: pattern, access, via, pattern: true };
        if (opts.recursive) fact.recursive = true;
        if (f.dynamic) fact.dynamic = true;
        this.pushPath(fact);
        continue;
      }
      const p = procAlias(resolveLexical(base, f.text), base);
      // The shell's own descriptors (a process substitution's /dev/fd/63, /dev/stdout): what they lead to was
      // recorded where it was opened (the redirection or the substitution), and resolving them here would
      // ask the hook's own /proc.
      if (isFdAlias(p)) continue;
      this.emitPath(p, access, via, st, opts, f.dynamic, base);
    }
  }

  private emitPath(p: string, access: Access, via: string, st: State, opts: { recursive?: boolean }, dynamic: boolean, cwd = '/'): void {
    const fact: PathFact = { path: p, access, via };
    if (opts.recursive) fact.recursive = true;
    if (dynamic || p.includes(DYN)) fact.dynamic = true;
    this.pushPath(fact);
    // A link may lead into /proc/<pid>/root or cwd: map that too.
    const physical = procAlias(resolvePhysical(p, this.env.fs, st.world.links), cwd);
    if (physical !== p) {
      const linked: PathFact = { ...fact, path: physical, linkFrom: p };
      this.pushPath(linked);
    }
  }

  globExpand(pattern: string, cwd: string): string[] | undefined {
    if (!this.env.fs?.glob || pattern.includes(DYN)) return undefined;
    try {
      return this.env.fs.glob(pattern, cwd)?.map((p) => resolveLexical(cwd, p));
    } catch {
      return undefined;
    }
  }

  /** Record what a write earlier in the command line put into `target` (undefined: unknown content). */
  noteFile(st: State, target: Field | string, origin: FileOrigin | undefined, append = false): void {
    const f: Field = typeof target === 'string' ? { text: target, dynamic: target.includes(DYN) } : target;
    if (f.dynamic || f.glob) return;
    for (const base of this.cwdList(st)) {
      const p = resolveLexical(base, f.text);
      const prev = st.world.files.get(p);
      let next = origin;
      if (append && origin?.kind === 'text') next = prev?.kind === 'text' ? { ...origin, text: prev.text + origin.text, dynamic: prev.dynamic || origin.dynamic } : prev ? prev : { ...origin, dynamic: true };
      if (next) st.world.files.set(p, next);
      else st.world.files.delete(p);
    }
  }

  /** What this command line wrote into the file an argument names, if it did. */
  fileOrigin(st: State, target: Field | string): FileOrigin | undefined {
    const f: Field = typeof target === 'string' ? { text: target, dynamic: target.includes(DYN) } : target;
    if (f.dynamic || f.glob) return undefined;
    for (const base of this.cwdList(st)) {
      const o = st.world.files.get(resolveLexical(base, f.text));
      if (o) return o;
    }
    return undefined;
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
      exported: new Set(st.exported),
      funcs: new Map(st.funcs),
      dirStack: [...st.dirStack],
      fds: new Map(st.fds),
      world: st.world,
      links: st.world.links,
      files: st.world.files,
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
      exported: new Set([...a.exported, ...b.exported]),
      funcs: new Map([...a.funcs, ...b.funcs]),
      dirStack: a.dirStack.length === b.dirStack.length ? a.dirStack.map((v, i) => union(v, b.dirStack[i]!)) : a.dirStack,
      fds: new Map([...a.fds, ...b.fds]),
      world: a.world,
      links: a.world.links,
      files: a.world.files,
    };
  }

  varOf(st: State, name: string): Vals {
    const v = st.vars.get(name);
    if (v) return v;
    if (name === 'IFS') return known(' \t\n');
    // Positional parameters beyond the ones bound are empty once any are known.
    if (/^[0-9]+$/.test(name) && st.vars.has('#')) return known('');
    return UNKNOWN;
  }

  setVar(st: State, name: string, v: Vals): void {
    st.vars.set(name, cap(v));
  }

  /** Bind `$0`, `$1`…, `$@`, `$*`, `$#` (bash -c arguments, function calls, set --). */
  bindPositional(st: State, args: Field[], zero?: Field): void {
    for (const k of [...st.vars.keys()]) if (/^[0-9]+$/.test(k) && (k !== '0' || zero)) st.vars.delete(k);
    if (zero) st.vars.set('0', fieldVals(zero));
    args.forEach((a, i) => st.vars.set(String(i + 1), fieldVals(a)));
    const all: Vals = { v: [args.map((a) => a.text).join(ELEMENT_SEP)], dyn: args.some((a) => a.dynamic) };
    if (args.some((a) => a.dynamic)) all.v = [];
    st.vars.set('@', all);
    st.vars.set('*', all);
    st.vars.set('#', known(String(args.length)));
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
      setVar: (n, v) => this.setVar(st, n, v),
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
    const saved = this.stage;
    this.stage = null;
    const out = this.runForOutput(body, sub, [...via, kind === 'cmdsub' ? '$(…)' : '<(…)'], depth + 1);
    this.stage = saved;
    return out;
  }

  /**
   * Run a script and return its standard output when every command that writes to it is one we can
   * evaluate (echo, printf, a decoder of known text…). Only the last stage of a pipeline writes to stdout.
   * A download or decoded payload anywhere on the way taints the result.
   */
  private runForOutput(body: Script, st: State, via: string[], depth: number): Vals {
    const collected: { text: string; dynamic: boolean }[] = [];
    let opaque = false;
    let taint: Taint | undefined;
    this.run(body.body, st, via, depth, (inv) => {
      if (inv.output) collected.push(inv.output);
      else opaque = true;
      const t = invocationTaint(inv);
      if (t && (!taint || t === 'download')) taint = t;
    });
    // `$(<file)` (and `$(< a; < b)`): bash substitutes the file's contents; no command runs, so nothing was
    // collected, yet the output is whatever the file holds.
    if (readsFileIntoOutput(body.body)) opaque = true;
    const out: Vals = opaque || collected.some((c) => c.dynamic) ? { v: [], dyn: true } : known(collected.map((c) => c.text).join(''));
    if (taint) out.taint = taint;
    return out;
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
      case 'andor':
        return this.runAndOr(cmd, st, via, depth, onCommand, stdin).any;
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
        const io = this.redirs(cmd.redirs, st, via, depth);
        const input = io.stdin ?? stdin;
        let cur = st;
        const ends: State[] = [];
        for (const clause of cmd.clauses) {
          cur = this.run(clause.cond.body, cur, via, depth, onCommand, input);
          ends.push(this.run(clause.body.body, this.clone(cur), via, depth, onCommand, input));
        }
        ends.push(cmd.elseBody ? this.run(cmd.elseBody.body, this.clone(cur), via, depth, onCommand, input) : cur);
        return ends.reduce((a, b) => this.merge(a, b));
      }
      case 'loop': {
        const io = this.redirs(cmd.redirs, st, via, depth);
        const input = io.stdin ?? stdin;
        let s = st;
        for (let pass = 0; pass < 2; pass++) {
          const afterCond = this.run(cmd.cond.body, this.clone(s), via, depth, onCommand, input);
          const afterBody = this.run(cmd.body.body, this.clone(afterCond), via, depth, onCommand, input);
          s = this.merge(this.merge(s, afterCond), afterBody);
        }
        return s;
      }
      case 'for': {
        const io = this.redirs(cmd.redirs, st, via, depth);
        let values: Vals = this.varOf(st, '@');
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
        } else values = { v: values.v.flatMap((x) => x.split(ELEMENT_SEP)), dyn: values.dyn };
        let s = st;
        for (let pass = 0; pass < 2; pass++) {
          const body = this.clone(s);
          this.setVar(body, cmd.name, values);
          s = this.merge(s, this.run(cmd.body.body, body, via, depth, onCommand, io.stdin ?? stdin));
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
        const io = this.redirs(cmd.redirs, st, via, depth);
        this.expand(cmd.word, st, via, depth, true);
        const ends: State[] = [st];
        for (const item of cmd.items) {
          for (const p of item.patterns) this.expand(p, st, via, depth, true);
          ends.push(this.run(item.body.body, this.clone(st), via, depth, onCommand, io.stdin ?? stdin));
        }
        return ends.reduce((a, b) => this.merge(a, b));
      }
      case 'func': {
        // Analysed where it is called, with the call's arguments and in the caller's state.
        st.funcs.set(cmd.name, cmd.body);
        if (!this.definedFunctions.has(cmd.name)) this.definedFunctions.set(cmd.name, { body: cmd.body, st: this.clone(st), via, depth });
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

  /**
   * `a && b && c`: each right side runs only after the left side succeeded, so it sees the state the
   * left side leaves on success; `a || b` runs b after a failure, so b sees what a may or may not have
   * done. What follows the whole list sees any of the outcomes.
   */
  private runAndOr(
    cmd: Command,
    st: State,
    via: string[],
    depth: number,
    onCommand: ((inv: Invocation) => void) | undefined,
    stdin: Stdin,
  ): { success: State; any: State } {
    if (cmd.type !== 'andor') {
      const s = this.run(cmd, st, via, depth, onCommand, stdin);
      return { success: s, any: s };
    }
    const before = this.clone(st);
    const left = this.runAndOr(cmd.left, st, via, depth, onCommand, stdin);
    if (cmd.op === '&&') {
      const right = this.runAndOr(cmd.right, this.clone(left.success), via, depth, onCommand, stdin);
      return { success: right.success, any: this.merge(left.any, right.any) };
    }
    const right = this.runAndOr(cmd.right, this.clone(this.merge(before, left.any)), via, depth, onCommand, stdin);
    return { success: this.merge(left.success, right.success), any: this.merge(left.any, right.any) };
  }

  private scanArith(raw: string, st: State, via: string[], depth: number): void {
    if (!raw.includes('$(') && !raw.includes('`')) return;
    this.expand({ parts: [{ t: 'arith', raw, quoted: true }], pos: 0, raw }, st, via, depth, true);
  }

  /**
   * Each stage runs in a subshell; its standard input is the output of every stage before it (so a
   * download three filters upstream still counts). Only the last stage's commands are reported to the
   * caller (they are what reaches the pipeline's stdout).
   */
  private runPipeline(cmds: Command[], st: State, via: string[], depth: number, onCommand: ((inv: Invocation) => void) | undefined, stdin: Stdin): State {
    const upstream: Producer[] = stdin.kind === 'pipe' ? [...stdin.producers] : [];
    let input: Stdin = stdin;
    const stages: Producer[][] = [];
    cmds.forEach((c, i) => {
      const producers: Producer[] = [];
      const saved = this.stage;
      const stage: Stage = { risks: [], reads: 0 };
      this.stage = stage;
      const isLast = i === cmds.length - 1;
      const sub = this.clone(st);
      const stageInput = input;
      this.run(
        c,
        sub,
        via,
        depth,
        (inv) => {
          if (isLast) onCommand?.(inv);
          producers.push(producerOf(inv, stage));
        },
        stageInput,
      );
      this.stage = saved;
      // Reads counted after the command's own facts: a producer "reads" when its stage read any file.
      for (const p of producers) p.reads ||= stage.reads > 0;
      stages.push(producers);
      upstream.push(...producers);
      input = { kind: 'pipe', producers: [...upstream] };
    });
    for (const r of pipelineRisks(stages)) this.risk(r.kind, r.detail);
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
    for (const w of cmd.words) {
      if (!w.assign?.array) {
        fields.push(...this.expand(w, st, via, depth));
        continue;
      }
      // `declare -a a=(x y)`: the array is assigned in the shell; the builtin sees the name.
      let vals = this.arrayValue(w.assign.array, st, via, depth);
      if (w.assign.append) vals = appendElements(this.varOf(st, w.assign.name), vals);
      this.setVar(st, w.assign.name, vals);
      fields.push({ text: w.assign.name, dynamic: false });
    }
    const prefixEnv: Record<string, string> = {};
    for (const a of cmd.assigns) {
      let vals: Vals;
      if (a.array) vals = this.arrayValue(a.array, st, via, depth);
      else vals = this.assignValue(a.value, st, via, depth);
      if (a.append) vals = a.array ? appendElements(this.varOf(st, a.name), vals) : concatVals(this.varOf(st, a.name), vals);
      const single = vals.v.length === 1 && !vals.dyn ? vals.v[0]! : DYN;
      if (fields.length) prefixEnv[a.name] = single;
      else this.setVar(st, a.name, vals);
      this.envFact({ name: a.name, value: single, via: fields.length ? 'prefix' : 'assignment' });
      if (a.name === 'PATH') this.risk('shell-state-change', `PATH=${single}`);
    }
    const io = this.redirs(cmd.redirs, st, via, depth);
    if (!fields.length) {
      for (const o of io.stdout) this.noteFile(st, o.target, o.append ? undefined : { kind: 'text', text: '', dynamic: false }, o.append);
      return st;
    }
    const stdin = io.stdin ?? pipeIn;
    const inv = this.exec(this.commandWordGlob(fields, st), st, { env: prefixEnv, stdin, via, depth, onCommand });
    for (const o of io.stdout) this.noteFile(st, o.target, inv ? outputOrigin(inv) : undefined, o.append);
    if (inv) for (const u of io.sockets) this.url({ ...u, sends: sendsOfOutput(inv) });
    return st;
  }

  /** A glob as the command word (`/bin/r? -rf /`) expands before the command runs. */
  private commandWordGlob(fields: Field[], st: State): Field[] {
    const f0 = fields[0];
    if (!f0?.glob) return fields;
    const matches = this.globExpand(f0.glob, this.cwdList(st)[0]!);
    if (!matches?.length) return fields;
    return [...matches.map((m) => ({ text: m, dynamic: false })), ...fields.slice(1)];
  }

  /** `(x y z)`: the elements, or unknown when any is. */
  private arrayValue(array: Word[], st: State, via: string[], depth: number): Vals {
    const items: string[] = [];
    let dyn = false;
    for (const w of array) for (const f of this.expand(w, st, via, depth)) f.dynamic ? (dyn = true) : items.push(f.text);
    return { v: dyn ? [] : [items.join(ELEMENT_SEP)], dyn };
  }

  /** Assignment values: no field splitting or globbing; `~` after `=` and `:` expands. */
  private assignValue(w: Word | null, st: State, via: string[], depth: number): Vals {
    if (!w) return known('');
    const out: Vals = { v: [], dyn: false };
    for (const f of this.expand(w, st, via, depth, true)) {
      if (f.dynamic) out.dyn = true;
      else out.v.push(f.text.replace(/(^|:)~(?=\/|:|$)/g, `$1${this.env.home}`));
      if (f.taint) out.taint = f.taint;
    }
    return out;
  }

  /**
   * Apply redirections: reads and writes become path facts; here-docs, here-strings and `<` become stdin;
   * output to /dev/tcp or /dev/udp (directly or through a descriptor opened on one) is a network send.
   */
  redirs(
    redirs: Redir[],
    st: State,
    via: string[],
    depth: number,
  ): { stdin?: Stdin; stdout: { target: Field; append: boolean }[]; sockets: UrlFact[] } {
    let stdin: Stdin | undefined;
    const stdout: { target: Field; append: boolean }[] = [];
    const sockets: UrlFact[] = [];
    for (const r of redirs) {
      if (r.op === '<<' || r.op === '<<-') {
        const fields = r.heredoc ? this.expand(r.heredoc, st, via, depth, true) : [];
        const f = fields[0];
        stdin = textStdin(f?.text ?? '', f, 'heredoc');
        continue;
      }
      const targets = this.expand(r.target, st, via, depth, r.op === '<<<');
      if (r.op === '<<<') {
        stdin = textStdin(targets.map((t) => t.text).join(' ') + '\n', mergeFields(targets), 'herestring');
        continue;
      }
      for (const t of targets) {
        const fdDup = (r.op === '>&' || r.op === '<&') && /^(\d+-?|-)$/.test(t.text);
        if (fdDup) {
          const sock = st.fds.get(Number(t.text.replace(/-$/, '')));
          if (sock && r.op === '>&') sockets.push(sock);
          if (sock && r.op === '<&' && (r.fd === undefined || r.fd === 0)) stdin = { kind: 'file', path: `/dev/${sock.scheme}/${sock.host}` };
          continue;
        }
        const label = `redirect ${r.fd ?? ''}${r.op}`;
        const dev = /^\/dev\/(tcp|udp)\/([^/]+)\/(\d+|\u27eadynamic\u27eb)$/.exec(t.text);
        if (dev) {
          const fact: UrlFact = { url: `${dev[1]}://${dev[2]}:${dev[3]}`, host: dev[2]!.toLowerCase(), scheme: dev[1]!, via: `bash /dev/${dev[1]}` };
          this.url(fact);
          if (r.fd !== undefined && r.fd > 2) st.fds.set(r.fd, fact);
          if (!r.op.startsWith('<') || r.op === '<>') {
            if (r.fd === undefined || r.fd === 1 || r.op.startsWith('&')) sockets.push(fact);
          }
        }
        switch (r.op) {
          case '<':
            if (r.fd === undefined || r.fd === 0) {
              stdin = t.procsub ? this.procStdin(t.procsub, st, via, depth) : { kind: 'file', path: this.firstPath(t, st), ...(t.dynamic ? { dynamic: true } : {}) };
            }
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
            if (r.fd === undefined || r.fd === 1 || r.op === '&>' || r.op === '&>>') stdout.push({ target: t, append: r.op === '>>' || r.op === '&>>' });
        }
      }
    }
    return stdin ? { stdin, stdout, sockets } : { stdout, sockets };
  }

  firstPath(f: Field, st: State): string {
    return resolveLexical(this.cwdList(st)[0]!, f.text);
  }

  /** Stdin fed from a process substitution: the commands whose output reaches it, as producers. */
  procStdin(body: Script, st: State, via: string[], depth: number): Stdin {
    const producers: Producer[] = [];
    const saved = this.stage;
    const stage: Stage = { risks: [], reads: 0 };
    this.stage = stage;
    this.run(body.body, this.clone(st), via, depth + 1, (inv) => {
      if (inv.stdin.kind === 'pipe') producers.push(...inv.stdin.producers);
      producers.push(producerOf(inv, stage));
    });
    this.stage = saved;
    for (const p of producers) p.reads ||= stage.reads > 0;
    return { kind: 'pipe', producers };
  }

  /** Run a command given as expanded fields (also used by wrappers for the command they wrap). */
  exec(
    fields: Field[],
    st: State,
    opts: { env: Record<string, string>; stdin: Stdin; via: string[]; depth: number; onCommand?: ((inv: Invocation) => void) | undefined; bypassFunctions?: boolean },
  ): Invocation | undefined {
    this.tick();
    const f0 = fields[0];
    if (!f0) return undefined;
    const args = fields.slice(1);
    for (const [name, value] of Object.entries(opts.env)) this.envFact({ name, value, via: 'prefix' });
    this.loaderEnv(opts.env, st);
    if (f0.dynamic) {
      this.risk('dynamic-program', `program name is computed at run time: ${f0.text}`);
      const inv: Invocation = { program: DYN, invokedAs: f0.text, args, st, env: opts.env, stdin: opts.stdin, via: opts.via, depth: opts.depth };
      dispatch(this, inv, true);
      opts.onCommand?.(inv);
      return inv;
    }
    const invokedAs = f0.text;
    const program = invokedAs.includes('/') ? invokedAs.slice(invokedAs.lastIndexOf('/') + 1) : invokedAs;
    if (invokedAs.includes('/')) this.path(f0, 'exec', 'program path', st);
    const inv: Invocation = { program, invokedAs, args, st, env: opts.env, stdin: opts.stdin, via: opts.via, depth: opts.depth };
    // `command git` and `builtin cd` skip shell functions of that name.
    const body = !invokedAs.includes('/') && !opts.bypassFunctions ? st.funcs.get(program) : undefined;
    if (body) {
      this.callFunction(program, body, inv, opts.onCommand);
      return inv;
    }
    dispatch(this, inv, false);
    opts.onCommand?.(inv);
    return inv;
  }

  /** A shell function runs in the caller's shell with its own positional parameters. */
  private callFunction(name: string, body: Command, inv: Invocation, onCommand: ((inv: Invocation) => void) | undefined): void {
    this.command({ program: name, invokedAs: name, args: inv.args.map((a) => a.text), subcommand: [], flags: [], operands: inv.args.map((a) => a.text), via: [...inv.via, 'function'], env: inv.env, depth: inv.depth });
    this.calledFunctions.add(name);
    if (this.functionDepth >= MAX_FUNCTION_DEPTH) {
      this.risk('dynamic-eval', `function ${name} recurses deeper than ${MAX_FUNCTION_DEPTH} calls`);
      return;
    }
    const saved = new Map([...inv.st.vars].filter(([k]) => /^[0-9]+$|^[@*#]$/.test(k)));
    this.bindPositional(inv.st, inv.args);
    this.functionDepth++;
    try {
      this.run(body, inv.st, [...inv.via, `function ${name}`], inv.depth + 1, onCommand, inv.stdin);
    } finally {
      this.functionDepth--;
      for (const k of [...inv.st.vars.keys()]) if (/^[0-9]+$|^[@*#]$/.test(k)) inv.st.vars.delete(k);
      for (const [k, v] of saved) inv.st.vars.set(k, v);
    }
  }

  /**
   * Variables that make every program load other code: the file they name is executed
   * (LD_PRELOAD, DYLD_INSERT_LIBRARIES, NODE_OPTIONS=--require, BASH_ENV, ENV).
   */
  loaderEnv(env: Record<string, string>, st: State): void {
    for (const [name, value] of Object.entries(env)) {
      if (value === DYN) continue;
      if (name === 'LD_PRELOAD' || name === 'LD_AUDIT' || name === 'DYLD_INSERT_LIBRARIES') {
        for (const lib of value.split(/[:\s]+/).filter(Boolean)) this.path(lib, 'exec', `${name}`, st);
      } else if (name === 'BASH_ENV' || name === 'ENV') this.path(value, 'exec', name, st);
      else if (name === 'NODE_OPTIONS') {
        const m = value.matchAll(/(?:--require|-r|--import|--loader|--experimental-loader)(?:=|\s+)(\S+)/g);
        for (const x of m) if (/^[./~]/.test(x[1]!)) this.path(x[1]!, 'exec', 'NODE_OPTIONS preload', st);
      }
    }
  }
}

// ── helpers ───────────────────────────────────────────────────────────────

/** A simple command made only of input redirections: the `$(<file)` form. */
function readsFileIntoOutput(cmd: Command): boolean {
  if (cmd.type === 'seq') return cmd.items.some((i) => readsFileIntoOutput(i.cmd));
  return cmd.type === 'simple' && cmd.words.length === 0 && cmd.redirs.some((r) => r.op === '<' || r.op === '<>');
}

function fieldVals(f: Field): Vals {
  const v: Vals = f.dynamic ? { v: [], dyn: true } : known(f.text);
  if (f.taint) v.taint = f.taint;
  return v;
}

function mergeFields(fields: Field[]): Field | undefined {
  if (!fields.length) return undefined;
  const out: Field = { text: fields.map((f) => f.text).join(' '), dynamic: fields.some((f) => f.dynamic) };
  const vars = fields.some((f) => f.from?.vars);
  const subst = fields.some((f) => f.from?.subst);
  if (vars || subst) out.from = { ...(vars ? { vars } : {}), ...(subst ? { subst } : {}) };
  const taint = fields.find((f) => f.taint)?.taint;
  if (taint) out.taint = taint;
  return out;
}

function textStdin(text: string, f: Field | undefined, origin: 'heredoc' | 'herestring'): Stdin {
  const s: Stdin = { kind: 'text', text, dynamic: !!f?.dynamic, origin };
  if (f?.from) s.from = f.from;
  if (f?.taint) s.taint = f.taint;
  return s;
}

function producerOf(inv: Invocation, stage: Stage): Producer {
  const p: Producer = { program: inv.program, args: inv.args.map((a) => a.text), risks: stage.risks, reads: !!inv.outputFiles?.length };
  if (inv.output) {
    p.output = inv.output.text;
    p.outputDynamic = inv.output.dynamic;
  }
  if (inv.outputFiles) p.files = inv.outputFiles;
  if (inv.producesOrigin) p.origin = inv.producesOrigin;
  if (inv.stdin.kind === 'file' && /^\/dev\/(tcp|udp)\//.test(inv.stdin.path)) p.netInput = true;
  return p;
}

/** A download or decoded payload this command's output carries. */
function invocationTaint(inv: Invocation): Taint | undefined {
  if (inv.producesOrigin?.kind === 'download') return 'download';
  if (inv.producesOrigin?.kind === 'decoded') return 'decoded';
  if (inv.producesOrigin?.kind === 'text' && inv.producesOrigin.taint) return inv.producesOrigin.taint;
  return stdinTaint(inv.stdin);
}

/** What a command's standard output puts into a file it is redirected to. */
function outputOrigin(inv: Invocation): FileOrigin | undefined {
  const taint = invocationTaint(inv);
  if (inv.output) return { kind: 'text', text: inv.output.text, dynamic: inv.output.dynamic, ...(taint ? { taint } : {}) };
  if (inv.producesOrigin) return inv.producesOrigin;
  if (taint) return { kind: taint, detail: `output of ${inv.program}` };
  return undefined;
}

/** What a command sends when its standard output goes to a network socket. */
function sendsOfOutput(inv: Invocation): NonNullable<UrlFact['sends']> {
  if (inv.outputFiles?.length) return 'file';
  if (inv.stdin.kind === 'file') return 'file';
  if (inv.stdin.kind === 'pipe' && inv.stdin.producers.some((p) => p.reads || p.files?.length)) return 'file';
  if (inv.output) return inv.output.dynamic ? 'env' : 'literal';
  return 'stdin';
}

function union(a: Vals, b: Vals): Vals {
  if (a === b) return a;
  const v = [...new Set([...a.v, ...b.v])];
  const out: Vals = { v, dyn: a.dyn || b.dyn };
  const taint = a.taint ?? b.taint;
  if (taint) out.taint = taint;
  return cap(out);
}

function cap(v: Vals): Vals {
  if (v.v.length <= MAX_VALUES) return v;
  return { ...v, v: v.v.slice(0, MAX_VALUES), dyn: true };
}

/** `a+=(x y)`: the new elements follow the old ones (a scalar becomes element 0), never glued to them. */
function appendElements(a: Vals, b: Vals): Vals {
  const v: string[] = [];
  for (const x of a.v.length ? a.v : ['']) for (const y of b.v) v.push(x === '' ? y : y === '' ? x : x + ELEMENT_SEP + y);
  return cap({ v, dyn: a.dyn || b.dyn });
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
