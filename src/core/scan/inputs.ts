/**
 * Secrets in a tool input: what a call would write (Write/Edit/NotebookEdit content), run (a Bash command, also
 * after the shell analyser expanded its variables and quoting), fetch (a WebFetch URL, every URL a command
 * contacts) or hand to another tool (MCP and unknown tools' arguments). Each becomes a SecretFact the policy's
 * `secret` condition matches. Values never leave this module: facts carry kind, place, length and fingerprint.
 *
 * Bounded: at most SCAN_INPUT_CHARS characters of one input field are scanned (the first 3/4 and the last 1/4
 * of that budget when a field is longer), at most 512 string arguments, 64 findings.
 */
import type { Facts, SecretFact, SecretWhere } from '../types';
import { findSecretsDeep, type SecretHit } from './secrets';

export const SCAN_INPUT_CHARS = 256 * 1024;
const MAX_FINDINGS = 64;
const MAX_STRINGS = 512;

/** Keys whose values are file content or edit text being written. */
const CONTENT_KEYS = /^(content|contents|file_text|new_string|new_str|new_source|source_code|text|body|data|patch|diff|code)$/i;
/** Tools whose content keys hold what is written to a file. */
const WRITE_TOOLS = new Set(['Write', 'Edit', 'MultiEdit', 'NotebookEdit']);
/** Keys of a write tool that are what it replaces, not what it writes. */
const OLD_KEYS = new Set(['old_string', 'old_str', 'old_source']);

/** Head and tail of a long text, so a secret at either end is still seen. */
export function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = Math.floor((max * 3) / 4);
  return text.slice(0, head) + '\n' + text.slice(text.length - (max - head));
}

const pointer = (segs: string[]): string => '/' + segs.map((k) => k.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

export function secretFactsOf(tool: string, args: Record<string, unknown>, facts: Pick<Facts, 'commands' | 'urls'>): SecretFact[] {
  const out: SecretFact[] = [];
  const seen = new Set<string>();
  const add = (hits: SecretHit[], where: SecretWhere, field: string, encoding?: string): void => {
    for (const h of hits) {
      if (out.length >= MAX_FINDINGS) return;
      const key = `${h.fingerprint}:${where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ kind: h.kind, detector: h.detector, in: where, field, encoding: encoding ?? h.encoding, fingerprint: h.fingerprint, length: h.length, placeholder: h.placeholder });
    }
  };
  const scan = (text: string, where: SecretWhere, field: string, encoding?: string): void => {
    if (!text) return;
    // Random-looking tokens only count where data leaves the machine, not in file content (fixtures, hashes).
    add(findSecretsDeep(capText(text, SCAN_INPUT_CHARS), { entropy: where !== 'content' }), where, field, encoding);
  };

  if (tool === 'Bash') {
    if (typeof args.command === 'string') scan(args.command, 'command', '/command');
    // What the shell analyser resolved: variables joined, quotes and escapes removed ($'\x67hp_…', "gh""p_…").
    const expanded = facts.commands.map((c) => [c.program, ...c.args].join(' ')).join('\n');
    if (expanded) scan(expanded, 'command', '/command', 'expanded');
  } else if (tool === 'WebFetch') {
    if (typeof args.url === 'string') scan(args.url, 'url', '/url');
  } else {
    let count = 0;
    const walk = (v: unknown, segs: string[], key: string | undefined, depth: number): void => {
      if (count > MAX_STRINGS || depth > 12) return;
      if (typeof v === 'string') {
        count++;
        if (key !== undefined && OLD_KEYS.has(key)) return;
        const where: SecretWhere = key !== undefined && CONTENT_KEYS.test(key) && (WRITE_TOOLS.has(tool) || /write|edit|create|update|save|put|append|upload|commit|push/i.test(tool)) ? 'content' : WRITE_TOOLS.has(tool) ? 'content' : 'arguments';
        if (WRITE_TOOLS.has(tool) && (key === 'file_path' || key === 'notebook_path' || key === 'cell_id' || key === 'cell_type' || key === 'edit_mode')) return;
        scan(v, where, pointer(segs));
        return;
      }
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...segs, String(i)], key, depth + 1));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...segs, k], k, depth + 1);
    };
    walk(args, [], undefined, 0);
  }
  // Every destination a command or tool contacts, as the analyser resolved it.
  for (const u of facts.urls) scan(u.url, 'url', u.via, tool === 'WebFetch' ? undefined : 'expanded');
  return out;
}
