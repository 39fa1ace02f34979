/**
 * Static word expansion, in Bash's order: brace expansion, tilde expansion, parameter / command /
 * arithmetic / process substitution, field splitting on IFS, and pathname-expansion patterns.
 *
 * Values the analyser cannot know are kept as the DYN placeholder, never dropped: a word that expands to
 * "something unknown" stays visible to the policy. Variables may hold several possible values (after an
 * `if` that assigns in one branch, say); expansion then yields every combination, up to a bound.
 */
import { DYN } from '../types';
import type { Script, Word, WordPart } from './ast';
import { parseExpansionText } from './parse';

/** Possible values of a variable or expansion: known alternatives, plus "anything else" when `dyn`. */
export interface Vals {
  v: string[];
  dyn: boolean;
  /** The value came from a download or a decoded payload (`$(curl …)`, `$(… | base64 -d)`). */
  taint?: Taint;
}

export type Taint = 'download' | 'decoded';

/**
 * Separates the elements of an array (and of `$@`) inside one value. Bash strings cannot contain NUL,
 * so it never collides with real text; `"$@"` and `"${a[@]}"` split on it into separate fields.
 */
export const ELEMENT_SEP = '\u0000';

export const UNKNOWN: Vals = Object.freeze({ v: [], dyn: true }) as Vals;
export const known = (...v: string[]): Vals => ({ v, dyn: false });

export interface Field {
  /** The argument as the program would receive it; DYN stands for unknown text. */
  text: string;
  dynamic: boolean;
  /** A minimatch pattern when the field contains active glob characters (pathname expansion applies). */
  glob?: string;
  /** Where expansion-derived text in the field came from. */
  from?: { vars?: boolean; subst?: boolean };
  /** `glob` is a pattern the program matches itself (find -name, rg --glob): never expanded by the shell. */
  noExpand?: boolean;
  /** The field is a process substitution (`<(…)`); its body. */
  procsub?: Script;
  /** Part of the field came from a download or a decoded payload. */
  taint?: Taint;
}

export interface ExpandContext {
  home: string;
  homeOf(user: string): string | undefined;
  cwd(): Vals;
  oldpwd(): Vals;
  getVar(name: string): Vals;
  /** `${name:=value}` assigns. */
  setVar(name: string, v: Vals): void;
  /** Analyse a command or process substitution; return its output when statically known. */
  onSubst(body: Script, kind: 'cmdsub' | 'procsub'): Vals;
  ifs(): string;
}

const MAX_ALTERNATIVES = 64;

/** Segment kinds: q quoted literal, u unquoted literal, g active glob, x unquoted expansion result, d dynamic. */
interface Seg {
  s: string;
  k: 'q' | 'u' | 'g' | 'x' | 'd';
  /** v: came from a parameter expansion, c: from a command substitution. */
  o?: 'v' | 'c';
  proc?: Script;
  taint?: Taint;
}

export interface ExpandOptions {
  /** No field splitting or globbing (assignment values, here-strings, `[[ ]]`, case words). */
  noSplit?: boolean;
}

export function expandWord(word: Word, ctx: ExpandContext, opts: ExpandOptions = {}): Field[] {
  const out: Field[] = [];
  const variants = braceExpand(word.parts);
  for (const parts of variants) {
    for (const segs of expandParts(tilde(parts, ctx), ctx, opts)) {
      for (const f of toFields(segs, ctx, opts)) {
        out.push(f);
        if (out.length > MAX_ALTERNATIVES) return [{ text: DYN, dynamic: true }];
      }
    }
  }
  return out;
}

/** Expand a word that must yield exactly one string (redirection targets, case words): all alternatives. */
export function expandSingle(word: Word, ctx: ExpandContext): Field[] {
  return expandWord(word, ctx, { noSplit: true });
}

// ── brace expansion ─────────────────────────────────────────────────────

type Tok = { c: string } | { p: WordPart };

function toTokens(parts: WordPart[]): Tok[] {
  const toks: Tok[] = [];
  for (const p of parts) {
    if (p.t === 'lit' && !p.quoted) for (const c of p.v) toks.push({ c });
    else toks.push({ p });
  }
  return toks;
}

function fromTokens(toks: Tok[]): WordPart[] {
  const parts: WordPart[] = [];
  let lit = '';
  for (const t of toks) {
    if ('c' in t) lit += t.c;
    else {
      if (lit) parts.push({ t: 'lit', v: lit, quoted: false });
      lit = '';
      parts.push(t.p);
    }
  }
  if (lit) parts.push({ t: 'lit', v: lit, quoted: false });
  return parts;
}

function braceExpand(parts: WordPart[]): WordPart[][] {
  if (!parts.some((p) => p.t === 'lit' && !p.quoted && p.v.includes('{'))) return [parts];
  const results: Tok[][] = [];
  expandTokens(toTokens(parts), results);
  return results.map(fromTokens);
}

const isC = (t: Tok | undefined, c: string): boolean => !!t && 'c' in t && t.c === c;

function expandTokens(toks: Tok[], out: Tok[][]): void {
  if (out.length > MAX_ALTERNATIVES) return;
  for (let i = 0; i < toks.length; i++) {
    if (!isC(toks[i], '{')) continue;
    // `${` is never a brace expansion; it was parsed as a parameter already, but `$` + `{` from quotes can remain.
    let depth = 0;
    const commas: number[] = [];
    let close = -1;
    for (let j = i + 1; j < toks.length; j++) {
      if (isC(toks[j], '{')) depth++;
      else if (isC(toks[j], '}')) {
        if (depth === 0) {
          close = j;
          break;
        }
        depth--;
      } else if (isC(toks[j], ',') && depth === 0) commas.push(j);
    }
    if (close < 0) continue;
    const prefix = toks.slice(0, i);
    const suffix = toks.slice(close + 1);
    let alts: Tok[][] | null = null;
    if (commas.length) {
      alts = [];
      let from = i + 1;
      for (const c of [...commas, close]) {
        alts.push(toks.slice(from, c));
        from = c + 1;
      }
    } else {
      const inner = toks.slice(i + 1, close);
      if (inner.every((t) => 'c' in t)) alts = sequence(inner.map((t) => (t as { c: string }).c).join(''));
    }
    if (!alts) continue;
    for (const alt of alts) expandTokens([...prefix, ...alt, ...suffix], out);
    return;
  }
  out.push(toks);
}

function sequence(text: string): Tok[][] | null {
  const m = /^(-?\d+|[A-Za-z])\.\.(-?\d+|[A-Za-z])(?:\.\.(-?\d+))?$/.exec(text);
  if (!m) return null;
  const [, a, b, stepText] = m as unknown as [string, string, string, string | undefined];
  const step = Math.abs(Number(stepText ?? 1)) || 1;
  const numeric = /\d/.test(a) && /\d/.test(b);
  if (!numeric && (/\d/.test(a) || /\d/.test(b))) return null;
  const from = numeric ? Number(a) : a.charCodeAt(0);
  const to = numeric ? Number(b) : b.charCodeAt(0);
  const n = Math.floor(Math.abs(to - from) / step) + 1;
  if (n > MAX_ALTERNATIVES) return null;
  const dir = to >= from ? 1 : -1;
  const width = numeric && (/^-?0\d/.test(a) || /^-?0\d/.test(b)) ? Math.max(a.length, b.length) : 0;
  const alts: Tok[][] = [];
  for (let k = 0; k < n; k++) {
    const v = from + dir * k * step;
    const s = numeric ? String(v).padStart(width, '0') : String.fromCharCode(v);
    alts.push([...s].map((c) => ({ c })));
  }
  return alts;
}

// ── tilde expansion ─────────────────────────────────────────────────────

function tilde(parts: WordPart[], ctx: ExpandContext): WordPart[] {
  const first = parts[0];
  // Bash also expands `~` after `=` and `:` in any word shaped like an assignment (`dd if=~/x`, `export K=~/y`).
  if (first && first.t === 'lit' && !first.quoted && /^[A-Za-z_][A-Za-z0-9_]*=/.test(first.v) && first.v.includes('~')) {
    const eq = first.v.indexOf('=');
    const value = first.v.slice(eq + 1).replace(/(^|:)~(?=\/|:|$)/g, `$1${ctx.home}`);
    return [{ t: 'lit', v: first.v.slice(0, eq + 1) + value, quoted: false }, ...parts.slice(1)];
  }
  if (!first || first.t !== 'lit' || first.quoted || !first.v.startsWith('~')) return parts;
  const slash = first.v.indexOf('/');
  if (slash < 0 && parts.length > 1) return parts;
  const prefix = slash < 0 ? first.v.slice(1) : first.v.slice(1, slash);
  const rest = slash < 0 ? '' : first.v.slice(slash);
  let replacement: WordPart | null = null;
  if (prefix === '') replacement = { t: 'lit', v: ctx.home, quoted: true };
  else if (prefix === '+') replacement = valsPart(ctx.cwd());
  else if (prefix === '-') replacement = valsPart(ctx.oldpwd());
  else if (/^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(prefix)) {
    const h = ctx.homeOf(prefix);
    replacement = h === undefined ? null : { t: 'lit', v: h, quoted: true };
  }
  if (!replacement) return parts;
  const out: WordPart[] = [replacement];
  if (rest) out.push({ t: 'lit', v: rest, quoted: false });
  return [...out, ...parts.slice(1)];
}

/** A pseudo-part carrying known values (used for `~+` / `~-`). */
function valsPart(v: Vals): WordPart {
  if (v.v.length === 1 && !v.dyn) return { t: 'lit', v: v.v[0]!, quoted: true };
  return { t: 'param', name: '\u0000vals', quoted: true, arg: { parts: v.v.map((s) => ({ t: 'lit', v: s, quoted: true })), pos: 0, raw: '' } };
}

// ── parameter and substitution expansion ────────────────────────────────

function expandParts(parts: WordPart[], ctx: ExpandContext, opts: ExpandOptions): Seg[][] {
  let acc: Seg[][] = [[]];
  for (const p of parts) {
    const alts = partAlternatives(p, ctx, opts);
    const next: Seg[][] = [];
    for (const a of acc) {
      for (const b of alts) {
        next.push([...a, ...b]);
        if (next.length > MAX_ALTERNATIVES) return [[{ s: DYN, k: 'd' }]];
      }
    }
    acc = next;
  }
  return acc;
}

function partAlternatives(p: WordPart, ctx: ExpandContext, opts: ExpandOptions): Seg[][] {
  switch (p.t) {
    case 'lit':
      return [[{ s: p.v, k: p.quoted ? 'q' : 'u' }]];
    case 'glob':
      return [[{ s: p.v, k: opts.noSplit ? 'u' : 'g' }]];
    case 'arith':
      scanArith(p.raw, ctx);
      return [[{ s: DYN, k: 'd' }]];
    case 'procsub':
      ctx.onSubst(p.body, 'procsub');
      return [[{ s: '/dev/fd/63', k: 'q', proc: p.body }]];
    case 'cmdsub':
      return valsToSegs(stripNewlines(ctx.onSubst(p.body, 'cmdsub')), p.quoted, 'c');
    case 'param':
      return valsToSegs(paramVals(p, ctx), p.quoted, 'v');
  }
}

function stripNewlines(v: Vals): Vals {
  return { ...v, v: v.v.map((s) => s.replace(/\n+$/, '')) };
}

function valsToSegs(v: Vals, quoted: boolean, o: 'v' | 'c'): Seg[][] {
  const t = v.taint ? { taint: v.taint } : {};
  const alts: Seg[][] = v.v.map((s) => [{ s, k: quoted ? 'q' : 'x', o, ...t }]);
  if (v.dyn) alts.push([{ s: DYN, k: 'd', o, ...t }]);
  return alts.length ? alts : [[{ s: DYN, k: 'd', o, ...t }]];
}

/** Substitutions hidden in arithmetic (`$(( $(cmd) ))`) still run; analyse them. */
function scanArith(raw: string, ctx: ExpandContext): void {
  if (!raw.includes('$(') && !raw.includes('`')) return;
  const w = parseExpansionText(raw);
  for (const part of w.parts) if (part.t === 'cmdsub') ctx.onSubst(part.body, 'cmdsub');
}

function wordVals(word: Word | undefined, ctx: ExpandContext): Vals {
  if (!word) return known('');
  const fields = expandWord(word, ctx, { noSplit: true });
  const out: Vals = { v: [], dyn: false };
  for (const f of fields) {
    if (f.dynamic) out.dyn = true;
    else out.v.push(f.text);
  }
  if (!fields.length) out.v.push('');
  return out;
}

function mapVals(v: Vals, fn: (s: string) => string | null): Vals {
  const out: Vals = { v: [], dyn: v.dyn };
  for (const s of v.v) {
    const r = fn(s);
    if (r === null) out.dyn = true;
    else out.v.push(r);
  }
  return out;
}

function paramVals(p: Extract<WordPart, { t: 'param' }>, ctx: ExpandContext): Vals {
  if (p.name === '\u0000vals') return { v: p.arg?.parts.map((x) => (x.t === 'lit' ? x.v : '')) ?? [], dyn: false };
  let v: Vals;
  if (p.indirect) {
    // ${!name}: the variable whose name is name's value.
    const target = ctx.getVar(p.name);
    if (target.dyn || target.v.length !== 1 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(target.v[0]!)) {
      if (p.arg) wordVals(p.arg, ctx);
      return UNKNOWN;
    }
    v = ctx.getVar(target.v[0]!);
  } else if (p.name === 'PWD') v = ctx.cwd();
  else if (p.name === 'OLDPWD') v = ctx.oldpwd();
  else if (/^[A-Za-z_]/.test(p.name) || /^[0-9]+$/.test(p.name) || p.name === '@' || p.name === '*' || p.name === '#') v = ctx.getVar(p.name);
  else v = UNKNOWN;
  if (p.index !== undefined) {
    const idx = p.index.trim();
    if (idx === '@' || idx === '*') {
      if (p.length) return mapVals(v, (s) => String(s === '' ? 0 : s.split(ELEMENT_SEP).length));
      v = idx === '*' ? mapVals(v, (s) => s.split(ELEMENT_SEP).join(' ')) : v;
    } else if (/^[0-9]+$/.test(idx)) v = mapVals(v, (s) => s.split(ELEMENT_SEP)[Number(idx)] ?? '');
    else v = UNKNOWN;
  } else if (p.name === '*') v = mapVals(v, (s) => s.split(ELEMENT_SEP).join(' '));
  else if (p.name !== '@') v = mapVals(v, (s) => s.split(ELEMENT_SEP)[0] ?? '');
  if (p.length) return mapVals(v, (s) => String(s.length));
  if (!p.op) return v;
  const op = p.op;
  switch (op) {
    case ':-':
    case '-':
    case ':=':
    case '=': {
      const arg = wordVals(p.arg, ctx);
      const useDefault = op.startsWith(':') ? (s: string) => s === '' : () => false;
      const out: Vals = { v: [], dyn: v.dyn };
      for (const s of v.v) {
        if (useDefault(s)) out.v.push(...arg.v), (out.dyn ||= arg.dyn);
        else out.v.push(s);
      }
      if (v.dyn || v.v.length === 0) out.v.push(...arg.v), (out.dyn ||= arg.dyn);
      if ((op === ':=' || op === '=') && /^[A-Za-z_][A-Za-z0-9_]*$/.test(p.name)) ctx.setVar(p.name, out);
      return out;
    }
    case ':+':
    case '+': {
      const arg = wordVals(p.arg, ctx);
      const out: Vals = { v: [], dyn: false };
      for (const s of v.v) {
        if (op === ':+' && s === '') out.v.push('');
        else out.v.push(...arg.v), (out.dyn ||= arg.dyn);
      }
      if (v.dyn) out.v.push('', ...arg.v), (out.dyn ||= arg.dyn);
      return out;
    }
    case ':?':
    case '?':
      wordVals(p.arg, ctx);
      return v;
    case '#':
    case '##':
    case '%':
    case '%%': {
      const pat = wordVals(p.arg, ctx);
      if (pat.dyn || pat.v.length !== 1) return { v: v.v, dyn: true };
      const re = patternRegex(pat.v[0]!);
      return mapVals(v, (s) => removeAffix(s, re, op));
    }
    case '/':
    case '//':
    case '/#':
    case '/%': {
      const arg = p.arg?.raw ?? '';
      const slash = findUnescapedSlash(arg);
      const patText = slash < 0 ? arg : arg.slice(0, slash);
      const repText = slash < 0 ? '' : arg.slice(slash + 1);
      if (/[$`"'\\]/.test(patText + repText)) {
        if (p.arg) wordVals(p.arg, ctx);
        return { v: v.v, dyn: true };
      }
      const re = patternRegex(patText);
      return mapVals(v, (s) => replacePattern(s, re, repText, op));
    }
    case '^^':
      return mapVals(v, (s) => s.toUpperCase());
    case ',,':
      return mapVals(v, (s) => s.toLowerCase());
    case '^':
      return mapVals(v, (s) => s.charAt(0).toUpperCase() + s.slice(1));
    case ',':
      return mapVals(v, (s) => s.charAt(0).toLowerCase() + s.slice(1));
    case ':': {
      const m = /^\s*(-?\d+)\s*(?::\s*(-?\d+)\s*)?$/.exec(p.arg?.raw ?? '');
      if (!m) return { v: v.v, dyn: true };
      const off = Number(m[1]);
      const len = m[2] === undefined ? undefined : Number(m[2]);
      return mapVals(v, (s) => {
        const start = off < 0 ? Math.max(0, s.length + off) : off;
        if (len === undefined) return s.slice(start);
        return len < 0 ? s.slice(start, s.length + len) : s.slice(start, start + len);
      });
    }
    default:
      return { v: [], dyn: true };
  }
}

function findUnescapedSlash(s: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '/') return i;
  }
  return -1;
}

/** Regex source for a shell pattern (`*`, `?`, `[…]`), without anchors. */
function patternSource(pat: string): string {
  let re = '';
  for (let i = 0; i < pat.length; i++) {
    const c = pat[i]!;
    if (c === '*') re += '[\\s\\S]*';
    else if (c === '?') re += '[\\s\\S]';
    else if (c === '[') {
      const close = pat.indexOf(']', i + 2);
      if (close < 0) re += '\\[';
      else {
        let body = pat.slice(i + 1, close);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += '[' + body.replace(/\\/g, '\\\\') + ']';
        i = close;
      }
    } else if (c === '\\' && i + 1 < pat.length) re += escapeRe(pat[++i]!);
    else re += escapeRe(c);
  }
  return re;
}

const escapeRe = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function patternRegex(pat: string): { src: string } {
  return { src: patternSource(pat) };
}

function removeAffix(s: string, re: { src: string }, op: string): string | null {
  if (s.length > 4096) return null;
  const full = new RegExp(`^(?:${re.src})$`);
  const shortest = op === '#' || op === '%';
  const candidates: number[] = [];
  if (op === '#' || op === '##') {
    for (let i = 0; i <= s.length; i++) if (full.test(s.slice(0, i))) candidates.push(i);
    if (!candidates.length) return s;
    return s.slice(shortest ? candidates[0]! : candidates[candidates.length - 1]!);
  }
  for (let i = s.length; i >= 0; i--) if (full.test(s.slice(i))) candidates.push(i);
  if (!candidates.length) return s;
  return s.slice(0, shortest ? candidates[0]! : candidates[candidates.length - 1]!);
}

function replacePattern(s: string, re: { src: string }, rep: string, op: string): string {
  if (re.src === '') return s;
  if (op === '/#') return s.replace(new RegExp(`^(?:${re.src})`), () => rep);
  if (op === '/%') return s.replace(new RegExp(`(?:${re.src})$`), () => rep);
  return s.replace(new RegExp(re.src, op === '//' ? 'g' : ''), () => rep);
}

// ── field splitting and glob patterns ───────────────────────────────────

const GLOB_SPECIAL = /[*?[\]{}()!@+\\]/g;

function toFields(segs: Seg[], ctx: ExpandContext, opts: ExpandOptions): Field[] {
  const ifs = opts.noSplit ? '' : ctx.ifs();
  const fields: Seg[][] = [];
  let cur: Seg[] = [];
  let curHasContent = false;
  const ifsWhite = [...ifs].filter((c) => c === ' ' || c === '\t' || c === '\n').join('');
  const endField = (force: boolean): void => {
    if (curHasContent || force) fields.push(cur);
    cur = [];
    curHasContent = false;
  };
  for (const whole of segs) {
    // Elements of "$@" / "${a[@]}" become separate fields whatever the quoting.
    const pieces = whole.s.includes(ELEMENT_SEP) && (whole.k === 'q' || whole.k === 'x') ? whole.s.split(ELEMENT_SEP) : [whole.s];
    for (let pi = 0; pi < pieces.length; pi++) {
    if (pi > 0) endField(true);
    const seg: Seg = pieces.length > 1 ? { ...whole, s: pieces[pi]! } : whole;
    if (seg.k !== 'x' || !ifs) {
      cur.push(seg);
      if (seg.k !== 'x' || seg.s !== '') curHasContent = true;
      continue;
    }
    let buf = '';
    for (let i = 0; i < seg.s.length; i++) {
      const c = seg.s[i]!;
      if (ifs.includes(c)) {
        if (buf) cur.push({ s: buf, k: 'x', ...(seg.o ? { o: seg.o } : {}), ...(seg.taint ? { taint: seg.taint } : {}) }), (curHasContent = true);
        buf = '';
        const white = ifsWhite.includes(c);
        if (white) {
          if (curHasContent) endField(false);
        } else endField(true);
      } else buf += c;
    }
    if (buf) cur.push({ s: buf, k: 'x', ...(seg.o ? { o: seg.o } : {}), ...(seg.taint ? { taint: seg.taint } : {}) }), (curHasContent = true);
    }
  }
  endField(false);
  if (opts.noSplit && fields.length === 0) fields.push([{ s: '', k: 'q' }]);
  return fields.map((f) => toField(f, opts));
}

function toField(segs: Seg[], opts: ExpandOptions): Field {
  let text = '';
  let dynamic = false;
  let globbing = false;
  for (const s of segs) {
    text += s.s;
    if (s.k === 'd') dynamic = true;
    if (!opts.noSplit && (s.k === 'g' || (s.k === 'x' && /[*?[]/.test(s.s)))) globbing = true;
  }
  const field: Field = { text, dynamic };
  const vars = segs.some((s) => s.o === 'v');
  const subst = segs.some((s) => s.o === 'c');
  if (vars || subst) field.from = { ...(vars ? { vars } : {}), ...(subst ? { subst } : {}) };
  if (segs.length === 1 && segs[0]!.proc) field.procsub = segs[0]!.proc;
  const taint = segs.find((s) => s.taint)?.taint;
  if (taint) field.taint = taint;
  if (globbing) {
    field.glob = segs
      .map((s) => {
        if (s.k === 'g' || s.k === 'x') return s.s;
        if (s.k === 'd') return '*';
        return s.s.replace(GLOB_SPECIAL, '\\$&');
      })
      .join('');
  }
  return field;
}
