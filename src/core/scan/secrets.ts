/**
 * The one secret detector of Agent Warden: the audit scrubber (src/core/audit/redact.ts `scrubSecrets`), the
 * PreToolUse secret facts (tool inputs that would write or send a credential) and the PostToolUse output scan
 * all use the rules below.
 *
 * Rules: well-known credential formats (the formats of secretlint's recommended preset 13.0.7, MIT, ported to
 * one linear regex each, plus AWS, Google, npm, PyPI, Azure, DigitalOcean and other gitleaks classics), key/value
 * rules where the key names a credential (`password=…`, `--token …`, `Authorization: …`, `user:pass@`), and a
 * Shannon-entropy check for unknown formats. Each finding says which detector fired, where (offsets into the
 * text), a short fingerprint (sha256 prefix, never the value) and whether the value is a documented example or
 * an obvious placeholder (so test fixtures and documentation do not count as secrets).
 *
 * Smuggling: a value hidden by zero-width characters, full-width letters (NFKC), URL-encoding or base64 is
 * found in a normalised/decoded variant of the text (`findSecretsDeep`), reported with its `encoding`.
 *
 * Pure: no I/O. Linear patterns; a rule's regex runs only when its cheap substring hint is present.
 */
import { createHash } from 'node:crypto';
import { DYN } from '../types';

/** What replaces a secret: `[REDACTED:<kind>]`. Never matched again by any rule (scrubbing is idempotent). */
export const REDACTED = '[REDACTED';

const marker = (kind: string): string => `${REDACTED}:${kind}]`;

export type SecretDetector = 'format' | 'keyed' | 'entropy';

interface Rule {
  kind: string;
  detector: 'format' | 'keyed';
  /**
   * Cheap substring test: on short texts the regex runs only when it passes (most texts have none of the
   * triggers, so most regexes are never even compiled in a hook process). On long texts a regex that starts
   * with a literal is cheaper than the test, so only `costly` rules are gated there.
   */
  hint: (text: string, lower: string) => boolean;
  /** The regex does not start with a literal (scans every position): keep the hint on long texts too. */
  costly?: boolean;
  re: RegExp;
  /** Replacement for a match (groups as in String.replace): returning the match unchanged means "not a secret". */
  replace?: (m: string, ...groups: string[]) => string;
  /**
   * For key/value rules: `re` consumes only the key part and captures the value in a trailing lookahead group,
   * so a key that is not a credential does not swallow its value (which may hold the next `key=value`).
   * Returns the replacement for key + value, or null to keep both.
   */
  keyed?: (groups: string[]) => string | null;
}

/** Key name segments that name a credential (`GITHUB_TOKEN`, `db.password`, `clientSecret`). */
const SECRET_WORDS = new Set(['password', 'passwd', 'pass', 'passphrase', 'secret', 'token', 'apikey', 'credential', 'credentials', 'signature', 'sig', 'privatekey', 'secretkey', 'accesskey']);
/** `key` counts as a credential word after one of these (`api_key`, `ACCESS_KEY`, `signingKey`). */
const KEY_QUALIFIERS = new Set(['api', 'access', 'private', 'secret', 'auth', 'signing', 'encryption', 'master', 'client', 'session', 'account']);
/** A segment that turns a credential word into metadata about it (`password_file`, `token_path`, `max_token_len`). */
const NOT_SECRET_SEGMENTS = new Set(['file', 'path', 'dir', 'hash', 'length', 'len', 'min', 'max', 'policy', 'reset', 'prompt', 'field', 'name', 'type', 'id', 'env', 'helper', 'cmd', 'command', 'stdin', 'count', 'limit', 'expiry', 'expires', 'ttl', 'url', 'endpoint', 'header', 'required']);

function keySegments(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** Credential words also recognised at the end of a run-together segment (`PGPASSWORD`, `authtoken`, `clientsecret`). */
const SECRET_SUFFIXES = ['password', 'passwd', 'passphrase', 'secret', 'token', 'apikey', 'accesskey', 'secretkey', 'privatekey'];

/** True when a key name (variable, flag, JSON key, query parameter) names a credential. */
export function isSecretKey(key: string): boolean {
  const segs = keySegments(key);
  let hit = false;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    if (NOT_SECRET_SEGMENTS.has(s)) return false;
    if (SECRET_WORDS.has(s) || (s === 'key' && i > 0 && KEY_QUALIFIERS.has(segs[i - 1]!)) || SECRET_SUFFIXES.some((w) => s.endsWith(w))) hit = true;
  }
  return hit;
}

/** A value that is a reference or already redacted, not a literal secret: `$VAR`, `$(cmd)`, `{{ x }}`, `<token>`. */
function isReference(v: string): boolean {
  return v === '' || v.includes(DYN) || v.startsWith('$') || v.startsWith(REDACTED) || v.startsWith('{{') || v.startsWith('%') || (v.startsWith('<') && v.endsWith('>'));
}

function unquote(v: string): { q: string; body: string } {
  const q = v[0];
  if ((q === '"' || q === "'") && v.length >= 2 && v.endsWith(q)) return { q, body: v.slice(1, -1) };
  return { q: '', body: v };
}

/** Every key isSecretKey accepts contains one of these (a cheap pre-check: most keys in code are not credentials). */
const KEYISH = /pass|secret|token|key|cred|sig/i;

const AWS_PREFIXES = ['AKIA', 'ASIA', 'ABIA', 'ACCA', 'AGPA', 'AIDA', 'AROA', 'AIPA', 'ANPA', 'ANVA', 'APKA', 'A3T'];
const has = (...needles: string[]) => (t: string): boolean => needles.some((n) => t.includes(n));
const fmt = (kind: string, hint: (t: string, l: string) => boolean, re: RegExp): Rule => ({ kind, detector: 'format', hint, re, replace: () => marker(kind) });

/** Rules in priority order: where two findings overlap, the earlier rule's wins. */
const RULES: Rule[] = [
  {
    kind: 'private-key',
    detector: 'format',
    hint: (t) => t.includes('PRIVATE KEY'),
    re: /-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|$)/g,
    replace: () => marker('private-key'),
  },
  {
    // scheme://user:password@host — keep the user, drop the password (greedy up to the last @ of the authority)
    kind: 'url-credentials',
    detector: 'keyed',
    costly: true,
    hint: (t) => t.includes('://') && t.includes('@'),
    re: /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/:@'"]*):([^\s/'"]+)@/gi,
    replace: (m, scheme, user, pass) => (user!.startsWith(REDACTED) || isReference(pass!) ? m : `${scheme}${user}:${marker('url-credentials')}@`),
  },
  {
    kind: 'authorization',
    detector: 'keyed',
    costly: true,
    hint: (_t, l) => l.includes('authorization'),
    re: /\b((?:proxy-)?authorization)(["']?\s*[:=]\s*["']?)(?:(bearer|basic|token|digest|negotiate|ntlm|splunk|bot|apikey|aws4-hmac-sha256)\s+)?([^'"\r\n]+)/gi,
    replace: (m, name, sep, scheme, value) => (isReference(value!.trim()) ? m : `${name}${sep}${scheme ? `${scheme} ` : ''}${marker('authorization')}`),
  },
  {
    // curl -u user:password / --user user:password
    kind: 'basic-auth',
    detector: 'keyed',
    costly: true,
    hint: (t) => t.includes('-u') || t.includes('-user'),
    re: /((?:^|\s)(?:-u|--user|--proxy-user)(?:\s+|=))(["']?)([^\s:'"]*):([^\s'"]+)\2/g,
    replace: (m, pre, q, user, pass) => (isReference(pass!) ? m : `${pre}${q}${user}:${marker('basic-auth')}${q}`),
  },
  { kind: 'slack-webhook', detector: 'format', hint: has('hooks.slack.com'), re: /\bhttps:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9/_-]+/g, replace: () => `https://hooks.slack.com/${marker('slack-webhook')}` },
  fmt('aws-access-key', (t) => AWS_PREFIXES.some((p) => t.includes(p)), /\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA|A3T[A-Z0-9])[A-Z0-9]{16}\b/g),
  fmt('github-token', has('gh', 'github_pat_'), /\b(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g),
  fmt('gitlab-token', has('gl'), /\bgl(?:pat|ptt|rt|dt|cbt|oas|ft|imt|agent|soat|ffct)-[A-Za-z0-9_-]{20,}/g),
  fmt('grafana-token', has('glc_', 'glsa_'), /\b(?:glc_[A-Za-z0-9+/]{32,400}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})(?![A-Za-z0-9+/=])/g),
  fmt('slack-token', has('xox', 'xapp-'), /\b(?:xox[abposre]|xapp)-[A-Za-z0-9-]{10,}/g),
  fmt('stripe-key', has('_live_', '_test_', 'whsec_'), /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}|\bwhsec_[A-Za-z0-9]{20,}/g),
  fmt('anthropic-key', has('sk-ant-'), /\bsk-ant-[A-Za-z0-9_-]{20,}/g),
  fmt('openai-key', has('sk-'), /\bsk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}/g),
  fmt('google-api-key', has('AIza'), /\bAIza[0-9A-Za-z_-]{35}\b/g),
  fmt('google-oauth-token', has('ya29.'), /\bya29\.[0-9A-Za-z_-]{30,}/g),
  fmt('npm-token', has('npm_'), /\bnpm_[A-Za-z0-9]{36}\b/g),
  fmt('pypi-token', has('pypi-'), /\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}/g),
  fmt('huggingface-token', has('hf_'), /\bhf_[A-Za-z]{34}(?![A-Za-z])/g),
  fmt('groq-key', has('gsk_'), /\bgsk_[A-Za-z0-9]{52}(?![A-Za-z0-9])/g),
  fmt('linear-key', has('lin_api_'), /\blin_api_[A-Za-z0-9_]{32,128}(?![A-Za-z0-9_])/g),
  fmt('notion-token', has('ntn_', 'secret_'), /\b(?:ntn_[0-9]{11}[A-Za-z0-9]{35}|secret_[A-Za-z0-9]{43})(?![A-Za-z0-9])/g),
  fmt('sendgrid-key', has('SG.'), /\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g),
  fmt('shopify-token', has('shp'), /\bshp(?:pa|ca|at|ss)_[a-fA-F0-9]{32,64}(?![A-Za-z0-9])/g),
  fmt('vault-token', has('hvs.', 'hvb.', 'hvr.'), /\b(?:hvs|hvr)\.[A-Za-z0-9_-]{90,120}(?![A-Za-z0-9_-])|\bhvb\.[A-Za-z0-9_-]{138,300}(?![A-Za-z0-9_-])/g),
  fmt('vercel-token', has('vcp_', 'vci_', 'vca_', 'vcr_', 'vck_'), /\bvc[pcark]_[A-Za-z0-9]{20,60}(?![A-Za-z0-9])/g),
  fmt('databricks-token', has('dapi'), /\bdapi[a-f0-9]{32}(?:-[0-9])?(?![A-Fa-f0-9])/g),
  fmt('docker-token', has('dckr_pat_'), /\bdckr_pat_[A-Za-z0-9_-]{27}(?![A-Za-z0-9_-])/g),
  fmt('figma-token', has('figd_'), /\bfigd_[A-Za-z0-9_-]{40,200}(?![A-Za-z0-9_-])/g),
  fmt('cloudflare-token', has('cfk_', 'cfut_', 'cfat_'), /\b(?:cfk|cfut|cfat)_[A-Za-z0-9]{40}[0-9a-f]{8}(?![A-Za-z0-9])/g),
  fmt('tailscale-key', has('tskey-'), /\btskey-[a-z]{2,20}-[0-9A-Za-z_]{8,40}-[0-9A-Za-z_]{16,60}(?![0-9A-Za-z_])/g),
  fmt('1password-token', has('ops_ey'), /\bops_ey[A-Za-z0-9+/=]{100,1280}(?![A-Za-z0-9+/=])/g),
  fmt('digitalocean-token', has('dop_v1_', 'doo_v1_', 'dor_v1_'), /\bdo[opr]_v1_[a-f0-9]{64}\b/g),
  fmt('age-secret-key', has('AGE-SECRET-KEY-1'), /\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}\b/g),
  fmt('square-token', has('sq0atp-', 'sq0csp-'), /\b(?:sq0atp-[0-9A-Za-z_-]{22}|sq0csp-[0-9A-Za-z_-]{43})\b/g),
  { kind: 'azure-storage-key', detector: 'format', hint: has('AccountKey='), re: /AccountKey=[A-Za-z0-9+/]{86}==/g, replace: () => `AccountKey=${marker('azure-storage-key')}` },
  fmt('jwt', has('eyJ'), /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g),
  {
    // A bearer credential outside an Authorization header; needs a digit so prose ("bearer authentication") stays.
    kind: 'bearer',
    detector: 'keyed',
    costly: true,
    hint: (_t, l) => l.includes('bearer'),
    re: /\b(bearer)\s+(?=[A-Za-z0-9._~+/-]*\d)([A-Za-z0-9._~+/-]{8,}=*)/gi,
    replace: (_m, word) => `${word} ${marker('bearer')}`,
  },
  {
    // --password hunter2, --api-key "x y", -token abc (space-separated flag values; `=` is handled below)
    kind: 'credential',
    detector: 'keyed',
    costly: true,
    hint: (t) => t.includes('-'),
    re: /((?:^|\s)--?([A-Za-z][A-Za-z0-9-]*))(\s+)(?=("[^"]*"|'[^']*'|[^\s'"]+))/g,
    keyed: ([, flag, name, sp, value]) => {
      if (!KEYISH.test(name!) || !isSecretKey(name!)) return null;
      const { q, body } = unquote(value!);
      if (isReference(body) || body.startsWith('-')) return null;
      return `${flag}${sp}${q}${marker('credential')}${q}`;
    },
  },
  {
    // key=value and key: value (shell assignments, query strings, env files, JSON/YAML); the key decides.
    kind: 'credential',
    detector: 'keyed',
    costly: true,
    hint: (t) => t.includes('=') || t.includes(':'),
    // The lookahead keeps keys that cannot name a credential (most keys in code) out of the JS loop.
    re: /(["']?)\b(?=[A-Za-z0-9_.-]*?(?:pass|secret|token|key|cred|sig))([A-Za-z_][A-Za-z0-9_.-]*)\1([ \t]*[=:][ \t]*)(?=("[^"\r\n]*"|'[^'\r\n]*'|[^\s&;,'"<>(){}[\]]+))/gi,
    keyed: ([, kq, key, sep, value]) => {
      if (!KEYISH.test(key!) || !isSecretKey(key!)) return null;
      const { q, body } = unquote(value!);
      if (isReference(body) || (!q && body.endsWith(':'))) return null;
      if (sep!.includes(':') && !kq && !q) {
        // `token: value` in prose or YAML: only a value that looks like a credential (not a plain word)
        const strong = body.length >= 16 || (body.length >= 4 && /[^A-Za-z]/.test(body));
        if (!strong) return null;
      }
      return `${kq}${key}${kq}${sep}${q}${marker('credential')}${q}`;
    },
  },
];

/** The rules, for tests (every kind has corpus cases) and measurements. */
export const SECRET_RULES: readonly Readonly<Pick<Rule, 'kind' | 'detector' | 'hint' | 're'>>[] = RULES;

/** Every secret kind the rules can report (plus `high-entropy`). */
export const SECRET_KINDS: readonly string[] = [...new Set([...RULES.map((r) => r.kind), 'high-entropy'])];

/** One secret found in a text. Offsets are UTF-16 indexes into the scanned text. */
export interface SecretFinding {
  kind: string;
  detector: SecretDetector;
  /** The secret value itself: [start, end). */
  start: number;
  end: number;
  /** The region a scrubber replaces and its replacement (the value alone, or the whole match). */
  replaceStart: number;
  replaceEnd: number;
  replacement: string;
}

function addFinding(out: SecretFinding[], rule: Rule, index: number, whole: string, rep: string): void {
  const mi = rep.indexOf(REDACTED);
  const me = mi < 0 ? -1 : rep.indexOf(']', mi);
  if (mi >= 0 && me > mi) {
    const pre = rep.slice(0, mi);
    const suf = rep.slice(me + 1);
    if (pre.length + suf.length <= whole.length && whole.startsWith(pre) && whole.endsWith(suf)) {
      const start = index + pre.length;
      const end = index + whole.length - suf.length;
      out.push({ kind: rule.kind, detector: rule.detector, start, end, replaceStart: start, replaceEnd: end, replacement: rep.slice(mi, me + 1) });
      return;
    }
  }
  out.push({ kind: rule.kind, detector: rule.detector, start: index, end: index + whole.length, replaceStart: index, replaceEnd: index + whole.length, replacement: rep });
}

const overlaps = (a: SecretFinding, b: SecretFinding): boolean => a.replaceStart < b.replaceEnd && b.replaceStart < a.replaceEnd;

/** Above this length the literal-prefixed rules skip their substring hint (see Rule.hint). */
const LONG_TEXT = 16 * 1024;

export interface FindOptions {
  /** Also report high-entropy tokens of no known format (default false: the scrubber does not). */
  entropy?: boolean;
  /** Stop after this many findings (default 256). */
  max?: number;
}

/** Every secret the rules recognise in `text`: non-overlapping (earlier rules win), in text order. */
export function findSecrets(text: string, opts: FindOptions = {}): SecretFinding[] {
  const max = opts.max ?? 256;
  const lower = text.toLowerCase();
  const long = text.length > LONG_TEXT;
  const accepted: SecretFinding[] = [];
  for (const r of RULES) {
    if (accepted.length >= max) break;
    if ((!long || r.costly) && !r.hint(text, lower)) continue;
    const found: SecretFinding[] = [];
    r.re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = r.re.exec(text)) && found.length < max) {
      if (r.keyed) {
        const groups = m.map((g) => g ?? '');
        const value = groups[groups.length - 1]!;
        const rep = r.keyed(groups);
        const whole = m[0] + value;
        if (rep !== null) {
          addFinding(found, r, m.index, whole, rep);
          r.re.lastIndex = m.index + whole.length;
        } else if (m[0].length === 0) r.re.lastIndex++;
      } else {
        const rep = r.replace!(m[0], ...m.slice(1).map((g) => g ?? ''));
        if (rep !== m[0]) addFinding(found, r, m.index, m[0], rep);
        if (m[0].length === 0) r.re.lastIndex++;
      }
    }
    for (const f of found) if (!accepted.some((a) => overlaps(a, f))) accepted.push(f);
  }
  if (opts.entropy && accepted.length < max) {
    for (const f of entropyFindings(text, max - accepted.length)) if (!accepted.some((a) => overlaps(a, f))) accepted.push(f);
  }
  return accepted.sort((a, b) => a.start - b.start);
}

export interface ScrubResult {
  text: string;
  /** Kinds of secrets found (unique, in rule order). */
  kinds: string[];
}

/** Replace every recognised secret in `text` by `[REDACTED:<kind>]`. */
export function scrubSecrets(text: string): ScrubResult {
  const found = findSecrets(text);
  if (!found.length) return { text, kinds: [] };
  const kinds = RULES.map((r) => r.kind).filter((k, i, all) => all.indexOf(k) === i && found.some((f) => f.kind === k));
  let out = '';
  let last = 0;
  for (const f of [...found].sort((a, b) => a.replaceStart - b.replaceStart)) {
    out += text.slice(last, f.replaceStart) + f.replacement;
    last = f.replaceEnd;
  }
  return { text: out + text.slice(last), kinds };
}

// ---------------------------------------------------------------------------------------------------------
// entropy

/** Shannon entropy in bits per character. */
export function shannonEntropy(s: string): number {
  if (!s) return 0;
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  const n = s.length;
  for (const k of counts.values()) {
    const p = k / n;
    h -= p * Math.log2(p);
  }
  return h;
}

const TOKEN_RE = /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{24,200}={0,2}/g;

/**
 * Random-looking tokens of no known format: 24–200 characters of the base64/base64url alphabet, upper case,
 * lower case and digits all present, at least 4.2 bits of entropy per character (3.8 below 32 characters).
 * Hex strings (hashes, commit ids), UUIDs, paths and identifiers in camelCase or snake_case are not reported.
 */
function entropyFindings(text: string, max: number): SecretFinding[] {
  const out: SecretFinding[] = [];
  TOKEN_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = TOKEN_RE.exec(text)) && out.length < max) {
    const t = m[0];
    const before = m.index > 0 ? text[m.index - 1]! : '';
    // An integrity hash (sha512-…), part of a longer word or path.
    if (/[A-Za-z0-9]/.test(before) || /sha(?:1|256|384|512)-$/.test(text.slice(Math.max(0, m.index - 7), m.index))) continue;
    if (!isRandomLooking(t)) continue;
    out.push({ kind: 'high-entropy', detector: 'entropy', start: m.index, end: m.index + t.length, replaceStart: m.index, replaceEnd: m.index + t.length, replacement: marker('high-entropy') });
  }
  return out;
}

export function isRandomLooking(t: string): boolean {
  const body = t.replace(/=+$/, '');
  if (body.length < 24) return false;
  if (/^[0-9a-fA-F-]+$/.test(body)) return false; // hex: hashes, commit ids, UUIDs
  if (body.includes('/') && /\/[A-Za-z]+\//.test(body)) return false; // a path
  if (!/[a-z]/.test(body) || !/[A-Z]/.test(body) || !/[0-9]/.test(body)) return false;
  // identifiers: long runs of letters separated by _ - or case changes (camelCase, snake_case) read as words
  const words = body.split(/[_\-/+]|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])/).filter(Boolean);
  if (words.length >= 3 && words.filter((w) => /^(?:[A-Za-z]?[a-z]{2,}[0-9]{0,3}|[A-Z])$/.test(w)).length >= words.length * 0.8) return false;
  const h = shannonEntropy(body);
  return body.length >= 32 ? h >= 4.2 : h >= 3.8;
}

// ---------------------------------------------------------------------------------------------------------
// examples and placeholders

/** Documented example credentials (AWS docs, jwt.io, Stripe docs): what tests and documentation use. */
const DOCUMENTED_EXAMPLES = new Set([
  ['AKIA', 'IOSFODNN7EXAMPLE'].join(''),
  ['AKIA', 'I44QH8DHBEXAMPLE'].join(''),
  ['wJalrXUtnFEMI/K7MDENG/', 'bPxRfiCYEXAMPLEKEY'].join(''),
  ['je7MtGbClwBF/2Zp9Utk/', 'h3yCo8nvbEXAMPLEKEY'].join(''),
  ['eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9', 'eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ', 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'].join('.'),
  ['sk_test_', '4eC39HqLyjWDarjtT1zdp7dc'].join(''),
  ['sk_test_', 'BQokikJOvBiI2HlWgH4olfQ2'].join(''),
  ['pk_test_', 'TYooMQauvdEDq54NiTphI7jx'].join(''),
]);

/** Known credential prefixes, stripped before judging whether the rest is a placeholder. */
const PREFIX_RE = /^(?:[A-Za-z]{2,12}[_-](?:v1_|pat_|api0\d-|live_|test_|api_)?|github_pat_|AKIA|ASIA|eyJ)/;
const PLACEHOLDER_WORDS = /(?:example|sample|placeholder|changeme|change[-_]me|replace[-_]?me|dummy|redacted|your[-_ ]?(?:api[-_ ]?)?(?:key|token|secret|password)|insert[-_]|x{4,}|\*{3,}|\.{3}|…)/i;

/** Mostly an ascending run (`1234567890abcdef…`, `abcdefgh…`): at least 80 % of steps go up by one. */
function isSequential(body: string): boolean {
  const s = body.toLowerCase().replace(/[-_.]/g, '');
  if (s.length < 8) return false;
  const next = (c: string): string => (c === '9' ? 'a' : c === 'z' ? '0' : String.fromCharCode(c.charCodeAt(0) + 1));
  let up = 0;
  for (let i = 1; i < s.length; i++) if (s[i] === next(s[i - 1]!) || (s[i - 1] === 'f' && s[i] === '0') || (s[i - 1] === '9' && s[i] === '0')) up++;
  return up / (s.length - 1) >= 0.8;
}

/**
 * A documented example value, or an obvious placeholder: a body of one or two repeated characters, a short
 * ascending run (`1234567890abcdef`); for key/value findings also placeholder words (`changeme`,
 * `your-api-key`, `example`). A real credential of a known format is never excused by words added to it.
 */
export function isPlaceholder(value: string, detector: SecretDetector): boolean {
  if (DOCUMENTED_EXAMPLES.has(value)) return true;
  const body = value.replace(PREFIX_RE, '');
  if (!body) return true;
  const distinct = new Set(body.replace(/[-_.]/g, '')).size;
  if (distinct <= 2) return true;
  if (isSequential(body)) return true;
  if (detector !== 'format') {
    if ((PLACEHOLDER_WORDS.test(body) || PLACEHOLDER_WORDS.test(value)) && value.length < 48) return true;
    if (/^(?:password|secret|token|none|null|undefined|true|false|test|admin|root|todo|tbd|string|value|\*+)$/i.test(body)) return true;
    // A short lower-case word (`postgres`, `example`, `devpass`): a development default, not a credential worth a block.
    if (/^[a-z]{1,12}$/.test(value)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------
// variants: what an agent may do to hide a secret from a pattern

/** Zero-width, word-joiner, soft-hyphen and bidi characters that do not show but break patterns. */
export const INVISIBLE_RE = /[\u00ad\u180e\u200b-\u200f\u2060-\u2064\u206a-\u206f\u202a-\u202e\u2066-\u2069\ufeff]|\udb40[\udc00-\udc7f]/g;

export type SecretEncoding = 'plain' | 'invisible-chars' | 'unicode-compat' | 'url-encoded' | 'base64' | 'hex' | 'expanded';

/** A text a scan looks at, and how it was derived from the original. */
export interface TextVariant {
  text: string;
  encoding: SecretEncoding;
}

const B64_RUN = /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{20,}={0,2}|(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{24,}={0,2}/g;
const HEX_RUN = /(?<![0-9a-fA-F])(?:[0-9a-fA-F]{2}){12,}\b/g;

function printable(s: string): boolean {
  if (!s.length) return false;
  let bad = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 32 && c !== 9 && c !== 10 && c !== 13) || c === 0xfffd) bad++;
  }
  return bad / s.length < 0.02;
}

/** base64/base64url runs that decode to printable text (at most `max` of them, each ≤ 64 KiB). */
export function decodedBase64Runs(text: string, max = 32): { start: number; end: number; decoded: string }[] {
  const out: { start: number; end: number; decoded: string }[] = [];
  B64_RUN.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = B64_RUN.exec(text)) && out.length < max) {
    const run = m[0];
    if (run.length > 65536 || /^[0-9a-fA-F]+$/.test(run)) continue;
    const decoded = Buffer.from(run.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
    if (decoded.length >= 12 && printable(decoded) && /[A-Za-z]{3}/.test(decoded)) out.push({ start: m.index, end: m.index + run.length, decoded });
  }
  return out;
}

/**
 * The texts to scan for one input: the original, and (when they differ) the original without invisible
 * characters, NFKC-normalised (full-width letters), URL-decoded, and the printable decodings of base64 and hex
 * runs in it. Bounded: at most 32 decoded runs.
 */
export function textVariants(text: string): TextVariant[] {
  const out: TextVariant[] = [{ text, encoding: 'plain' }];
  let cur = text;
  if (/[^\x00-\x7f]/.test(text)) {
    const stripped = text.replace(INVISIBLE_RE, '');
    if (stripped !== text) out.push({ text: (cur = stripped), encoding: 'invisible-chars' });
    const nfkc = cur.normalize('NFKC');
    if (nfkc !== cur) out.push({ text: (cur = nfkc), encoding: 'unicode-compat' });
  }
  if (/%[0-9a-fA-F]{2}/.test(cur)) {
    try {
      const dec = decodeURIComponent(cur.replace(/\+/g, ' '));
      if (dec !== cur) out.push({ text: dec, encoding: 'url-encoded' });
    } catch {
      const dec = cur.replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
      if (dec !== cur) out.push({ text: dec, encoding: 'url-encoded' });
    }
  }
  const b64 = decodedBase64Runs(cur);
  if (b64.length) out.push({ text: b64.map((r) => r.decoded).join('\n'), encoding: 'base64' });
  HEX_RUN.lastIndex = 0;
  const hex: string[] = [];
  let m: RegExpExecArray | null;
  while ((m = HEX_RUN.exec(cur)) && hex.length < 16) {
    const d = Buffer.from(m[0], 'hex').toString('utf8');
    if (printable(d) && /[A-Za-z]{3}/.test(d) && /[^0-9a-fA-F]/.test(d)) hex.push(d);
  }
  if (hex.length) out.push({ text: hex.join('\n'), encoding: 'hex' });
  return out;
}

/** A secret found in some variant of a text, described without its value. */
export interface SecretHit {
  kind: string;
  detector: SecretDetector;
  encoding: SecretEncoding;
  /** Offsets into the original text (plain and invisible-free variants) or of the whole text (decoded variants). */
  start: number;
  end: number;
  length: number;
  /** First 12 hex characters of the sha256 of the value. */
  fingerprint: string;
  placeholder: boolean;
}

export function fingerprintOf(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 12);
}

/**
 * Secrets in `text` and in its variants (textVariants), deduplicated by fingerprint: a value seen plainly is
 * not reported again for a variant.
 */
export function findSecretsDeep(text: string, opts: FindOptions = {}): SecretHit[] {
  const hits: SecretHit[] = [];
  const seen = new Set<string>();
  for (const v of textVariants(text)) {
    for (const f of findSecrets(v.text, opts)) {
      const value = v.text.slice(f.start, f.end);
      const fp = fingerprintOf(value);
      if (seen.has(fp)) continue;
      seen.add(fp);
      const whole = v.encoding !== 'plain' && v.encoding !== 'invisible-chars' && v.encoding !== 'unicode-compat';
      hits.push({
        kind: f.kind,
        detector: f.detector,
        encoding: v.encoding,
        start: whole ? 0 : Math.min(f.start, text.length),
        end: whole ? text.length : Math.min(f.end, text.length),
        length: value.length,
        fingerprint: fp,
        placeholder: isPlaceholder(value, f.detector),
      });
    }
  }
  return hits;
}
