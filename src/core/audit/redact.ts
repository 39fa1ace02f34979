/**
 * Redaction for audit events: a secret scrubber for free text (commands, outputs, prompts, fact texts) and the
 * tool-input redactor (file contents erased to sha256 + byte count, strings capped, policy erase pointers).
 *
 * Pure: no I/O. Runs on the hook's critical path, so every pattern is linear and inputs are bounded before
 * they are scanned (callers scrub a window slightly larger than what they keep, never megabytes).
 */
import { createHash } from 'node:crypto';

/** What replaces a secret: `[REDACTED:<kind>]`. Never matched again by any rule (scrubbing is idempotent). */
export const REDACTED = '[REDACTED';

const marker = (kind: string): string => `${REDACTED}:${kind}]`;

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * The longest prefix of `s` that is at most `maxBytes` UTF-8 bytes, never splitting a character (a surrogate
 * pair stays whole or goes).
 */
export function utf8Prefix(s: string, maxBytes: number): string {
  if (s.length <= maxBytes / 3) return s; // every UTF-16 unit is at most 3 UTF-8 bytes
  const buf = Buffer.from(s, 'utf8');
  if (buf.length <= maxBytes) return s;
  let end = Math.max(0, maxBytes);
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--; // back up to a character boundary
  return buf.subarray(0, end).toString('utf8');
}

interface Rule {
  kind: string;
  /**
   * Cheap substring test: the rule's regex runs only when it passes. Most texts have none of the triggers,
   * so the regexes are neither compiled nor run (that is most of a cold hook process's scrubbing cost).
   */
  hint: (text: string, lower: string) => boolean;
  re: RegExp;
  /** Replacement for a match (groups as in String.replace). */
  replace?: (m: string, ...groups: string[]) => string;
  /**
   * For key/value rules: `re` consumes only the key part and captures the value in a trailing lookahead group,
   * so a key that is not a credential does not swallow its value (which may hold the next `key=value`).
   * Returns the replacement for key + value, or null to keep both.
   */
  keyed?: (groups: string[]) => string | null;
}

function replaceKeyed(text: string, re: RegExp, decide: (groups: string[]) => string | null): string {
  re.lastIndex = 0;
  let out = '';
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const groups = m.map((g) => g ?? '');
    const value = groups[groups.length - 1]!;
    const rep = decide(groups);
    if (rep !== null) {
      out += text.slice(last, m.index) + rep;
      last = m.index + m[0].length + value.length;
      re.lastIndex = last;
    } else if (m[0].length === 0) re.lastIndex++;
  }
  return last === 0 ? text : out + text.slice(last);
}

/** Key name segments that name a credential (`GITHUB_TOKEN`, `db.password`, `clientSecret`). */
const SECRET_WORDS = new Set(['password', 'passwd', 'pass', 'passphrase', 'secret', 'token', 'apikey', 'credential', 'credentials', 'signature', 'sig', 'privatekey', 'secretkey', 'accesskey']);
/** `key` counts as a credential word after one of these (`api_key`, `ACCESS_KEY`, `signingKey`). */
const KEY_QUALIFIERS = new Set(['api', 'access', 'private', 'secret', 'auth', 'signing', 'encryption', 'master', 'client', 'session']);
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
  return v === '' || v.startsWith('$') || v.startsWith(REDACTED) || v.startsWith('{{') || v.startsWith('%') || (v.startsWith('<') && v.endsWith('>'));
}

function unquote(v: string): { q: string; body: string } {
  const q = v[0];
  if ((q === '"' || q === "'") && v.length >= 2 && v.endsWith(q)) return { q, body: v.slice(1, -1) };
  return { q: '', body: v };
}

const AWS_PREFIXES = ['AKIA', 'ASIA', 'ABIA', 'ACCA', 'AGPA', 'AIDA', 'AROA', 'AIPA', 'ANPA', 'ANVA', 'APKA'];

const RULES: Rule[] = [
  {
    kind: 'private-key',
    hint: (t) => t.includes('PRIVATE KEY'),
    re: /-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|$)/g,
    replace: () => marker('private-key'),
  },
  {
    // scheme://user:password@host — keep the user, drop the password (greedy up to the last @ of the authority)
    kind: 'url-credentials',
    hint: (t) => t.includes('://') && t.includes('@'),
    re: /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/:@'"]*):([^\s/'"]+)@/gi,
    replace: (m, scheme, user, pass) => (user!.startsWith(REDACTED) || isReference(pass!) ? m : `${scheme}${user}:${marker('url-credentials')}@`),
  },
  {
    kind: 'authorization',
    hint: (_t, l) => l.includes('authorization'),
    re: /\b((?:proxy-)?authorization)(["']?\s*[:=]\s*["']?)(?:(bearer|basic|token|digest|negotiate|ntlm|splunk|bot|apikey|aws4-hmac-sha256)\s+)?([^'"\r\n]+)/gi,
    replace: (_m, name, sep, scheme) => `${name}${sep}${scheme ? `${scheme} ` : ''}${marker('authorization')}`,
  },
  {
    // curl -u user:password / --user user:password
    kind: 'basic-auth',
    hint: (t) => t.includes('-u') || t.includes('-user'),
    re: /((?:^|\s)(?:-u|--user|--proxy-user)(?:\s+|=))(["']?)([^\s:'"]*):([^\s'"]+)\2/g,
    replace: (m, pre, q, user, pass) => (isReference(pass) ? m : `${pre}${q}${user}:${marker('basic-auth')}${q}`),
  },
  { kind: 'slack-webhook',
    hint: (t) => t.includes('hooks.slack.com'), re: /\bhttps:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9/_-]+/g, replace: () => `https://hooks.slack.com/${marker('slack-webhook')}` },
  { kind: 'aws-access-key',
    hint: (t) => AWS_PREFIXES.some((p) => t.includes(p)), re: /\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b/g, replace: () => marker('aws-access-key') },
  { kind: 'github-token',
    hint: (t) => t.includes('gh') || t.includes('github_pat_'), re: /\b(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g, replace: () => marker('github-token') },
  { kind: 'gitlab-token',
    hint: (t) => t.includes('gl'), re: /\bgl(?:pat|ptt|rt|dt|cbt|oas|ft|imt|agent)-[A-Za-z0-9_-]{20,}/g, replace: () => marker('gitlab-token') },
  { kind: 'slack-token',
    hint: (t) => t.includes('xox'), re: /\bxox[abposre]-[A-Za-z0-9-]{10,}/g, replace: () => marker('slack-token') },
  { kind: 'stripe-key',
    hint: (t) => t.includes('_live_') || t.includes('_test_') || t.includes('whsec_'), re: /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}|\bwhsec_[A-Za-z0-9]{20,}/g, replace: () => marker('stripe-key') },
  { kind: 'anthropic-key',
    hint: (t) => t.includes('sk-ant-'), re: /\bsk-ant-[A-Za-z0-9_-]{20,}/g, replace: () => marker('anthropic-key') },
  { kind: 'openai-key',
    hint: (t) => t.includes('sk-'), re: /\bsk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}/g, replace: () => marker('openai-key') },
  { kind: 'google-api-key',
    hint: (t) => t.includes('AIza'), re: /\bAIza[0-9A-Za-z_-]{35}\b/g, replace: () => marker('google-api-key') },
  { kind: 'npm-token',
    hint: (t) => t.includes('npm_'), re: /\bnpm_[A-Za-z0-9]{36}\b/g, replace: () => marker('npm-token') },
  { kind: 'jwt',
    hint: (t) => t.includes('eyJ'), re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, replace: () => marker('jwt') },
  {
    // A bearer credential outside an Authorization header; needs a digit so prose ("bearer authentication") stays.
    kind: 'bearer',
    hint: (_t, l) => l.includes('bearer'),
    re: /\b(bearer)\s+(?=[A-Za-z0-9._~+/-]*\d)([A-Za-z0-9._~+/-]{8,}=*)/gi,
    replace: (_m, word) => `${word} ${marker('bearer')}`,
  },
  {
    // --password hunter2, --api-key "x y", -token abc (space-separated flag values; `=` is handled below)
    kind: 'credential',
    hint: (t) => t.includes('-'),
    re: /((?:^|\s)--?([A-Za-z][A-Za-z0-9-]*))(\s+)(?=("[^"]*"|'[^']*'|[^\s'"]+))/g,
    keyed: ([, flag, name, sp, value]) => {
      if (!isSecretKey(name!)) return null;
      const { q, body } = unquote(value!);
      if (isReference(body) || body.startsWith('-')) return null;
      return `${flag}${sp}${q}${marker('credential')}${q}`;
    },
  },
  {
    // key=value and key: value (shell assignments, query strings, env files, JSON/YAML); the key decides.
    kind: 'credential',
    hint: (t) => t.includes('=') || t.includes(':'),
    re: /(["']?)\b([A-Za-z_][A-Za-z0-9_.-]*)\1(\s*[=:]\s*)(?=("[^"\r\n]*"|'[^'\r\n]*'|[^\s&;,'"<>(){}[\]]+))/g,
    keyed: ([, kq, key, sep, value]) => {
      if (!isSecretKey(key!)) return null;
      const { q, body } = unquote(value!);
      if (isReference(body)) return null;
      if (sep!.includes(':') && !kq && !q) {
        // `token: value` in prose or YAML: only a value that looks like a credential (not a plain word)
        const strong = body.length >= 16 || (body.length >= 4 && /[^A-Za-z]/.test(body));
        if (!strong) return null;
      }
      return `${kq}${key}${kq}${sep}${q}${marker('credential')}${q}`;
    },
  },
];

export interface ScrubResult {
  text: string;
  /** Kinds of secrets found (unique, in rule order). */
  kinds: string[];
}

/** Replace every recognised secret in `text` by `[REDACTED:<kind>]`. */
export function scrubSecrets(text: string): ScrubResult {
  const kinds: string[] = [];
  let out = text;
  let lower = text.toLowerCase();
  for (const r of RULES) {
    if (!r.hint(out, lower)) continue;
    r.re.lastIndex = 0;
    if (!r.re.test(out)) continue;
    r.re.lastIndex = 0;
    const before = out;
    out = r.keyed ? replaceKeyed(out, r.re, r.keyed) : out.replace(r.re, r.replace as (m: string, ...g: string[]) => string);
    if (out !== before) {
      lower = out.toLowerCase();
      if (!kinds.includes(r.kind)) kinds.push(r.kind);
    }
  }
  return { text: out, kinds };
}

/** How much beyond the kept length is scrubbed, so a secret cut by the limit is still recognised whole. */
const SCRUB_MARGIN = 1024;

export interface ClippedText {
  text: string;
  /** The original was longer than the limit (after scrubbing). */
  truncated: boolean;
  kinds: string[];
}

/**
 * Scrub then keep at most `maxBytes` UTF-8 bytes of `s`. Only the first `maxBytes + 1 KiB` characters are
 * scanned: a secret that straddles the cut is redacted before the cut is made. A private key block that
 * begins before the cut and ends after the scanned window is redacted to the end of the window.
 */
export function scrubAndClip(s: string, maxBytes: number): ClippedText {
  const window = s.length > maxBytes + SCRUB_MARGIN ? s.slice(0, maxBytes + SCRUB_MARGIN) : s;
  const { text, kinds } = scrubSecrets(window);
  const kept = utf8Prefix(text, maxBytes);
  const truncated = kept.length < text.length || window.length < s.length;
  return { text: kept, truncated, kinds };
}

/** Limits for the tool-input redactor. */
export interface InputLimits {
  /** Bytes kept of a Bash command (default 4 KiB). */
  commandBytes: number;
  /** Bytes kept of any other string (default 4 KiB). */
  stringBytes: number;
  /** Items kept of an array, keys of an object (default 100). */
  items: number;
  /** Nesting kept (default 16). */
  depth: number;
}

export const DEFAULT_INPUT_LIMITS: InputLimits = { commandBytes: 4096, stringBytes: 4096, items: 100, depth: 16 };

/** Object keys whose values are file contents or edit text: never stored, only hashed (any depth, any tool). */
const CONTENT_KEYS = new Set(['content', 'contents', 'file_text', 'old_string', 'new_string', 'old_str', 'new_str', 'new_source', 'old_source', 'source_code']);
/** Tools whose `content` keys are not file contents (TodoWrite todos are the agent's task list). */
const CONTENT_KEYS_EXEMPT = new Set(['TodoWrite']);

/** What an erased value is replaced by: its hash and size, never the value. */
export interface ErasedValue {
  erased: true;
  sha256: string;
  bytes: number;
}

export function erasedValue(v: unknown): ErasedValue {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? 'null';
  return { erased: true, sha256: sha256Hex(s), bytes: utf8Bytes(s) };
}

export interface RedactedInput {
  /** The input as it may be stored. */
  input: unknown;
  /** JSON pointers (RFC 6901, relative to tool_input) of values replaced by `{erased, sha256, bytes}`. */
  erased: string[];
  /** Some string, array, object or nesting level was cut. */
  truncated: boolean;
  /** Kinds of secrets the scrubber replaced. */
  redactions: string[];
}

const escapePointer = (k: string): string => k.replace(/~/g, '~0').replace(/\//g, '~1');

/** Does a pointer pattern (`/edits/*\/old_string`, `*` = any one segment) match the pointer segments? */
function pointerMatches(pattern: string[], segs: string[]): boolean {
  if (pattern.length !== segs.length) return false;
  for (let i = 0; i < segs.length; i++) if (pattern[i] !== '*' && pattern[i] !== segs[i]) return false;
  return true;
}

function parsePointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw new Error(`erase pointer ${JSON.stringify(p)} must start with "/"`);
  return p.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Redact a tool input for the audit log:
 * - file contents and edit text (`content`, `old_string`, `new_string`, `new_source`, … at any depth, except
 *   TodoWrite) and every value at an `erase` pointer become `{erased: true, sha256, bytes}`;
 * - every string is scrubbed of secrets; Bash `command` keeps 4 KiB, other strings 4 KiB;
 * - arrays/objects keep 100 entries, nesting 16 levels.
 */
export function redactToolInput(tool: string, input: unknown, erase: readonly string[] = [], limits: InputLimits = DEFAULT_INPUT_LIMITS): RedactedInput {
  const patterns = erase.map(parsePointer);
  const erased: string[] = [];
  const kinds = new Set<string>();
  let truncated = false;
  const contentKeys = !CONTENT_KEYS_EXEMPT.has(tool);
  const isBash = tool === 'Bash';

  const walk = (v: unknown, segs: string[], key: string | undefined): unknown => {
    if (segs.length && patterns.some((p) => pointerMatches(p, segs))) {
      erased.push('/' + segs.map(escapePointer).join('/'));
      return erasedValue(v);
    }
    if (contentKeys && key !== undefined && CONTENT_KEYS.has(key) && v !== null && v !== undefined) {
      erased.push('/' + segs.map(escapePointer).join('/'));
      return erasedValue(v);
    }
    if (typeof v === 'string') {
      const max = isBash && segs.length === 1 && key === 'command' ? limits.commandBytes : limits.stringBytes;
      const c = scrubAndClip(v, max);
      if (c.truncated) truncated = true;
      for (const k of c.kinds) kinds.add(k);
      return c.text;
    }
    if (v === null || typeof v !== 'object') return typeof v === 'bigint' ? String(v) : v;
    if (segs.length >= limits.depth) {
      truncated = true;
      return erasedValue(v);
    }
    if (Array.isArray(v)) {
      if (v.length > limits.items) truncated = true;
      return v.slice(0, limits.items).map((x, i) => walk(x, [...segs, String(i)], undefined));
    }
    const out: Record<string, unknown> = {};
    let n = 0;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (n++ >= limits.items) {
        truncated = true;
        break;
      }
      const safeKey = scrubSecrets(utf8Prefix(k, 256)).text;
      out[safeKey] = walk(x, [...segs, k], k);
    }
    return out;
  };

  const redacted = input === undefined ? null : walk(input, [], undefined);
  return { input: redacted, erased, truncated, redactions: [...kinds] };
}
