/**
 * Path glob → RegExp, with minimatch's semantics for the syntax policies use (`**` segments, `*`, `?`,
 * `[…]`, `{a,b}`, `\` escapes; `dot: true`), but built in microseconds: the hook compiles globs on every
 * run, and minimatch's general-purpose compiler costs ~80 µs per glob plus ~6 ms to load. Equivalence with
 * minimatch is checked by a differential property test (test/unit/globRegex.test.ts).
 */

const MAX_BRACE_EXPANSIONS = 256;

/** Expand `{a,b}` alternations (nested allowed; `\{` is literal). Sequences (`{1..3}`) are not expanded. */
export function braces(glob: string): string[] {
  let depth = 0;
  let open = -1;
  const commas: number[] = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '{') {
      if (depth === 0) {
        open = i;
        commas.length = 0;
      }
      depth++;
    } else if (c === ',' && depth === 1) commas.push(i);
    else if (c === '}' && depth > 0) {
      depth--;
      if (depth === 0) {
        if (!commas.length) {
          open = -1;
          continue;
        }
        const pre = glob.slice(0, open);
        const post = glob.slice(i + 1);
        const out: string[] = [];
        let from = open + 1;
        for (const cut of [...commas, i]) {
          for (const tail of braces(pre + glob.slice(from, cut) + post)) {
            out.push(tail);
            if (out.length > MAX_BRACE_EXPANSIONS) return out;
          }
          from = cut + 1;
        }
        return out;
      }
    }
  }
  return [glob];
}

const escape = (c: string): string => (/[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c);

/** Regex source for one segment (no `/`), where `*` and `?` never match `/`. */
export function segmentSource(seg: string): string {
  // A segment that is only stars never matches an empty segment (minimatch: `*` alone is `[^/]+?`).
  if (/^\*+$/.test(seg)) return '[^/]+?';
  let out = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '\\' && i + 1 < seg.length) out += escape(seg[++i]!);
    else if (c === '*') {
      while (seg[i + 1] === '*') i++;
      out += '[^/]*?';
    } else if (c === '?') out += '[^/]';
    else if (c === '[') {
      let j = i + 1;
      let negate = false;
      if (seg[j] === '!' || seg[j] === '^') {
        negate = true;
        j++;
      }
      let body = '';
      let k = j;
      for (; k < seg.length; k++) {
        const d = seg[k]!;
        if (d === ']' && k > j) break;
        if (d === '\\' && k + 1 < seg.length) body += `\\${seg[++k]}`;
        else body += d === '^' || d === '[' || d === ']' ? `\\${d}` : d;
      }
      if (k >= seg.length) out += '\\[';
      else {
        out += negate ? `[^/${body}]` : `[${body}]`;
        i = k;
      }
    } else out += escape(c);
  }
  return out;
}

/** Regex source (anchored) for a brace-free glob. */
export function globSource(glob: string): string {
  const absolute = glob.startsWith('/');
  // Consecutive `**` segments mean the same as one.
  const segs = (absolute ? glob.slice(1) : glob).split('/').filter((seg, i, all) => !(seg === '**' && all[i - 1] === '**'));
  let out = '';
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const last = i === segs.length - 1;
    if (seg === '**') {
      if (i === 0 && !absolute) out += last ? '.*' : '(?:/|.*?/)?';
      else if (last) out += '(?:/.*)?';
      else out += '(?:/|/.*?/)';
      continue;
    }
    // A preceding `**` segment already consumed the separator.
    if (i === 0 ? absolute : segs[i - 1] !== '**') out += '/';
    out += segmentSource(seg);
  }
  return `^${out}$`;
}

export function globRegExps(glob: string, caseInsensitive: boolean): RegExp[] {
  return braces(glob).map((g) => new RegExp(globSource(g), caseInsensitive ? 'is' : 's'));
}
