/**
 * Policy path globs: variable substitution, workspace-relative globs, compiled matching (minimatch), and
 * glob-versus-glob intersection for facts that are themselves patterns (an unexpanded `cat .e*`, a Grep
 * `glob`, a `find -name`). Intersection is exact for `*`, `?`, `[…]`, `**` and braces: a product automaton
 * over the two patterns, so `.e*` is known to reach `.env` without listing any directory.
 */
import { braces, globRegExps, segmentSource } from './globRegex';

export interface GlobVars {
  HOME: string;
  WORKSPACE: string;
  STATE_DIR: string;
  CLAUDE_DIR: string;
  TMPDIR: string;
  [name: string]: string;
}

export interface GlobOptions {
  caseInsensitive: boolean;
}

/**
 * Literal runs of a brace-free glob that every path it matches contains: the text between wildcards, minus
 * the slashes at their ends (`a/**` also matches `a`, `**` may stand for no segment). An empty list (no
 * filter) for anything whose literals are not plain: escapes, extglob groups, negation.
 */
export function requiredLiterals(glob: string): string[] {
  if (/[\\(){}|]/.test(glob) || glob.startsWith('!')) return [];
  const runs: string[] = [];
  let run = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*' || ch === '?' || ch === '[') {
      runs.push(run);
      run = '';
      if (ch === '[') {
        const close = glob.indexOf(']', i + 2);
        if (close < 0) return [];
        i = close;
      }
      continue;
    }
    run += ch;
  }
  runs.push(run);
  return runs.map((r) => r.replace(/^\/+|\/+$/g, '')).filter((r) => r.length > 0);
}

/** Turn a policy glob into an absolute glob: `~`, `${VAR}`, workspace-relative. */
export function absoluteGlob(glob: string, vars: GlobVars): string {
  let g = glob.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (m, name: string) => vars[name] ?? m);
  if (g === '~' || g.startsWith('~/')) g = vars.HOME + g.slice(1);
  if (!g.startsWith('/') && !g.startsWith('**')) g = vars.WORKSPACE.replace(/\/$/, '') + '/' + g.replace(/^\.\//, '');
  return g;
}

interface Compiled {
  source: string;
  alternatives: string[];
  /** Literal directory prefix of each alternative, for a cheap intersection pre-check. */
  prefixes: string[];
  /** The glob names a fixed directory prefix (does not start with `**`). */
  anchored: boolean;
  res?: RegExp[];
  /** Per alternative: literal runs every matching path contains (see requiredLiterals). */
  literals: string[][];
  /** For unanchored globs: a regex per segment after the leading `**`. */
  tail?: (RegExp | null)[][];
}

/** A set of policy globs, each compiled on first use (the hook compiles only what a call needs). */
export class GlobSet {
  private built: Compiled[] | undefined;
  private readonly one: (Compiled | undefined)[] = [];
  /** Per glob, literal runs of its source (variables and `~` left out) that any matching path contains. */
  private gates: string[][] | undefined;

  constructor(
    private readonly globs: readonly string[],
    private readonly vars: GlobVars,
    private readonly opts: GlobOptions,
  ) {}

  private compiledAt(i: number): Compiled {
    let c = this.one[i];
    if (!c) {
      const source = this.globs[i]!;
      // A trailing `/**` also matches the directory itself (globRegex and globsIntersect both do so).
      const abs = absoluteGlob(source, this.vars);
      const norm = braces(this.opts.caseInsensitive ? abs.toLowerCase() : abs);
      const firstSeg = abs.split('/')[1] ?? '';
      c = this.one[i] = { source, alternatives: norm, prefixes: norm.map(staticPrefix), literals: norm.map(requiredLiterals), anchored: !abs.startsWith('**') && firstSeg !== '**' };
    }
    return c;
  }

  private get compiled(): Compiled[] {
    this.built ??= this.globs.map((_, i) => this.compiledAt(i));
    return this.built;
  }

  /**
   * Cheap gates from the sources as written: `${HOME}/.aws/**` needs "/.aws" in the path whatever HOME is.
   * They spare a call that tests one path against a hundred globs the preparation of all hundred.
   */
  private gateOf(i: number): string[] {
    this.gates ??= this.globs.map((g) => {
      if (/(^|\/)\.\.?(\/|$)/.test(g.replace(/^\.\//, ''))) return []; // dot segments: no gate
      const s = g.replace(/\$\{[A-Z_][A-Z0-9_]*\}/g, '*').replace(/^~(?=\/|$)/, '*').replace(/^\.\//, '');
      return requiredLiterals(this.opts.caseInsensitive ? s.toLowerCase() : s);
    });
    return this.gates[i]!;
  }

  get size(): number {
    return this.globs.length;
  }

  private regexes(c: Compiled): RegExp[] {
    if (!c.res) {
      c.res = c.alternatives.flatMap((a) => globRegExps(a, this.opts.caseInsensitive));
    }
    return c.res;
  }

  /** Compile every glob now (validation). Throws on an invalid glob. */
  check(): void {
    for (const c of this.compiled) this.regexes(c);
  }

  /**
   * The first glob (as written in the policy) matching `path`, if any. A glob whose literal parts the path
   * lacks is passed over without compiling or running its regex: most of a policy's globs (a hundred secret
   * file patterns) cannot match a given path, and V8 compiles each regex on its first run.
   */
  test(path: string): string | undefined {
    const p = this.opts.caseInsensitive ? path.toLowerCase() : path;
    for (let i = 0; i < this.globs.length; i++) {
      if (!this.gateOf(i).every((l) => p.includes(l))) continue;
      const c = this.compiledAt(i);
      if (!c.literals.some((lits) => lits.every((l) => p.includes(l)))) continue;
      for (const re of this.regexes(c)) if (re.test(p)) return c.source;
    }
    return undefined;
  }

  /**
   * A glob matching a whole tree rooted at `dir`: the directory itself; for anchored globs such as
   * `~/.ssh/**`, anything below it; for unanchored ones (`**` then `/.claude/settings.json`), only when the
   * directory is itself part of what the glob names (`rm -rf .claude`). So a recursive grep or delete in
   * the project is not mistaken for an access to every secret file the tree might happen to contain.
   */
  testTree(dir: string): string | undefined {
    const hit = this.test(dir);
    if (hit) return hit;
    const dirSegs = (this.opts.caseInsensitive ? dir.toLowerCase() : dir).split('/').filter(Boolean);
    for (let i = 0; i < this.globs.length; i++) {
      // `**/.env`: its first segment must be one of the directory's, whatever the rest says.
      const first = /^\*\*\/([^/*?[\]{}()!+@\\]+)(?:\/|$)/.exec(this.opts.caseInsensitive ? this.globs[i]!.toLowerCase() : this.globs[i]!);
      if (first && !dirSegs.includes(first[1]!)) continue;
      const c = this.compiledAt(i);
      if (c.anchored) continue;
      c.tail ??= c.alternatives.map((alt) =>
        alt
          .split('/')
          .filter(Boolean)
          .slice(1)
          .map((seg) => (seg === '**' ? null : new RegExp(`^${segmentSource(seg)}$`, this.opts.caseInsensitive ? 'i' : ''))),
      );
      for (const tail of c.tail) {
        for (let k = 1; k <= Math.min(dirSegs.length, tail.length - 1); k++) {
          const last = dirSegs.slice(dirSegs.length - k);
          let ok = true;
          for (let i = 0; i < k && ok; i++) {
            const re = tail[i]!;
            if (re === null) break;
            ok = re.test(last[i]!);
          }
          if (ok) return c.source;
        }
      }
    }
    const d = (this.opts.caseInsensitive ? dir.toLowerCase() : dir).replace(/\/$/, '');
    const tree = `${d.replace(/[*?[\]{}()!@+\\]/g, '\\$&')}/**`;
    for (const c of this.compiled) {
      if (!c.anchored) continue;
      for (let i = 0; i < c.alternatives.length; i++) {
        if (!prefixesMeet(c.prefixes[i]!, d)) continue;
        if (globsIntersect(c.alternatives[i]!, tree, false)) return c.source;
      }
    }
    return undefined;
  }

  /**
   * The first glob that matches some path the `pattern` could also match. A `*` or `?` at the start of a
   * pattern segment does not stand for a leading dot (as in the shell, ripgrep and Grep's default of
   * skipping hidden files): `*.tsx` does not reach `.env.tsx`; `.e*` does reach `.env`.
   */
  intersects(pattern: string, hiddenDirs = false): string | undefined {
    // A write or delete of every file below a literal directory (`find dist -type f -exec rm {} \;` gives
    // `dist/**`) is judged like the same operation on the tree (`rm -rf dist`, see testTree): a glob naming
    // a file anywhere (`**/CLAUDE.md`) is not taken to be reached through it.
    if (hiddenDirs && /^\/[^*?[\]{}]*\/\*\*$/.test(pattern)) return this.testTree(pattern.slice(0, -3));
    const p = this.opts.caseInsensitive ? pattern.toLowerCase() : pattern;
    const factAlts = braces(p).map((f) => [f, staticPrefix(f)] as const);
    for (const c of this.compiled) {
      for (let i = 0; i < c.alternatives.length; i++) {
        for (const [f, fp] of factAlts) {
          if (!prefixesMeet(c.prefixes[i]!, fp)) continue;
          if (globsIntersect(c.alternatives[i]!, f, true, hiddenDirs)) return c.source;
        }
      }
    }
    return undefined;
  }
}

/**
 * Two globs whose literal directory prefixes are not on one path (neither is an ancestor of the other)
 * cannot match a common path. Relative prefixes (globs starting with `**`) meet everything.
 */
function prefixesMeet(a: string, b: string): boolean {
  if (!a.startsWith('/') || !b.startsWith('/') || a === '/' || b === '/') return true;
  return a === b || a.startsWith(b + '/') || b.startsWith(a + '/');
}

/** The literal directory prefix of a glob (`/a/b/*.txt` → `/a/b`). */
export function staticPrefix(pattern: string): string {
  const segs = pattern.split('/');
  const out: string[] = [];
  for (const s of segs) {
    if (/[*?[\]{}]/.test(s)) break;
    out.push(s);
  }
  return out.join('/') || '/';
}

// ── glob intersection ───────────────────────────────────────────────────

type Tok = { k: 'lit'; c: string } | { k: 'any' } | { k: 'star' } | { k: 'class'; re: RegExp; chars: string };

function tokenizeSegment(seg: string): Tok[] {
  const toks: Tok[] = [];
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '\\' && i + 1 < seg.length) toks.push({ k: 'lit', c: seg[++i]! });
    else if (c === '*') {
      if (toks[toks.length - 1]?.k !== 'star') toks.push({ k: 'star' });
    } else if (c === '?') toks.push({ k: 'any' });
    else if (c === '[') {
      let j = i + 1;
      if (seg[j] === '!' || seg[j] === '^') j++;
      if (seg[j] === ']') j++;
      const close = seg.indexOf(']', j);
      if (close < 0) {
        toks.push({ k: 'lit', c });
        continue;
      }
      let body = seg.slice(i + 1, close);
      if (body.startsWith('!')) body = '^' + body.slice(1);
      let re: RegExp;
      try {
        re = new RegExp(`^[${body.replace(/\\(?!\])/g, '\\\\')}]$`);
      } catch {
        re = /^[^/]$/;
      }
      toks.push({ k: 'class', re, chars: body });
      i = close;
    } else if ((c === '@' || c === '!' || c === '+') && seg[i + 1] === '(') {
      // extglob: over-approximate as "anything"
      const close = seg.indexOf(')', i);
      toks.push({ k: 'star' });
      i = close < 0 ? seg.length : close;
    } else toks.push({ k: 'lit', c });
  }
  return toks;
}

const CANDIDATES = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).filter((c) => c !== '/');

function accepts(t: Tok, c: string): boolean {
  if (c === '/') return false;
  switch (t.k) {
    case 'lit':
      return t.c === c;
    case 'any':
    case 'star':
      return true;
    case 'class':
      return t.re.test(c);
  }
}

function compatible(a: Tok, b: Tok, noDot: boolean): boolean {
  const cands = a.k === 'lit' ? [a.c] : b.k === 'lit' ? [b.c] : [...CANDIDATES, ...(a.k === 'class' ? a.chars : ''), ...(b.k === 'class' ? b.chars : '')];
  return cands.some((c) => !(noDot && c === '.') && accepts(a, c) && accepts(b, c));
}

/** Do two single-segment patterns share a string? In `b`, a leading `.` must be literal when `bDot`. */
function segmentsIntersect(a: Tok[], b: Tok[], bDot: boolean): boolean {
  const seen = new Set<string>();
  const stack: [number, number, boolean][] = [[0, 0, false]];
  while (stack.length) {
    const [i, j, started] = stack.pop()!;
    const key = `${i},${j},${started ? 1 : 0}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (i === a.length && j === b.length) return true;
    const ta = a[i];
    const tb = b[j];
    if (ta?.k === 'star') stack.push([i + 1, j, started]);
    if (tb?.k === 'star') stack.push([i, j + 1, started]);
    if (ta && tb && compatible(ta, tb, bDot && !started && tb.k !== 'lit')) {
      const ni = ta.k === 'star' ? i : i + 1;
      const nj = tb.k === 'star' ? j : j + 1;
      if (ni !== i || nj !== j || !started) stack.push([ni, nj, true]);
    }
  }
  return false;
}

/**
 * Whether two path globs (absolute, `/`-separated, braces already expanded) can match a common path.
 * `b` is the fact's pattern. With `bDot`, a `*` or `?` at the start of one of its segments does not stand
 * for a leading dot (shell and ripgrep semantics), and its final segment cannot invent the literal start of
 * the rule's file name (`*.tsx` is a selection by extension, not an aim at `kubeconfig.*`). With
 * `bHidden`, its `**` does not descend into hidden directories either (used for deletes and writes,
 * so `find . -name '*.pyc' -delete` is not read as reaching into `.claude/`).
 */
export function globsIntersect(a: string, b: string, bDot: boolean, bHidden = false): boolean {
  const A = a.split('/').filter((s, i) => s !== '' || i === 0);
  const B = b.split('/').filter((s, i) => s !== '' || i === 0);
  const ta = A.map((s) => (s === '**' ? null : tokenizeSegment(s)));
  const tb = B.map((s) => (s === '**' ? null : tokenizeSegment(s)));
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * 10007 + j;
    const m = memo.get(key);
    if (m !== undefined) return m;
    memo.set(key, false);
    let r = false;
    if (i === A.length && j === B.length) r = true;
    else if (i < A.length && ta[i] === null) r = go(i + 1, j) || (j < B.length && go(i, j + 1));
    else if (j < B.length && tb[j] === null) r = go(i, j + 1) || (i < A.length && !(bHidden && A[i]!.startsWith('.')) && go(i + 1, j));
    else if (i < A.length && j < B.length) {
      const lastPair = i === A.length - 1 && j === B.length - 1;
      const invents = bDot && lastPair && ta[i]![0]?.k === 'lit' && tb[j]![0] !== undefined && tb[j]![0]!.k !== 'lit';
      r = !invents && segmentsIntersect(ta[i]!, tb[j]!, bDot) && go(i + 1, j + 1);
    }
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}
