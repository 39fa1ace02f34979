/**
 * Prompt-injection signals in content the agent reads (files, web pages, command output, MCP results).
 *
 * Signals, each with a severity the policy maps to an action (record, warn the model, taint the session):
 * - hidden-comment / hidden-element: instructions inside HTML comments, markdown comments (`[//]: # (…)`) or
 *   elements hidden with CSS/`hidden` (text a human reviewer does not see but the model reads);
 * - instruction-override: "ignore previous instructions", "disregard the system prompt", "do not tell the user";
 * - role-marker: fake system/role/turn markers (`<|im_start|>system`, `<system-reminder>`, `[INST]`,
 *   `{"role":"system"}`, `\n\nHuman:`);
 * - ai-directive: imperatives addressed to an AI/assistant/agent;
 * - exfiltration-instruction: asking to send credentials or local files somewhere, data-carrying image links;
 * - command-instruction: asking to run commands, pipe-to-shell one-liners;
 * - tag-smuggling (Unicode tag characters that spell hidden ASCII), bidi-control (Trojan Source), invisible-unicode
 *   (zero-width characters);
 * - encoded-payload: base64 that decodes to text carrying the signals above (or, as low, just a long blob).
 *
 * Severity: high = an attempt to take over the agent (override, role marker, exfiltration, anything hidden or
 * encoded that carries instructions); medium = suspicious but common in honest text (the same phrases quoted or
 * in code, AI-addressed imperatives, bidi controls, many zero-width characters); low = worth recording only
 * (visible command instructions, plain encoded blobs, a few zero-width characters).
 *
 * Phrases disguised with zero-width characters or look-alike letters (Cyrillic, Greek, fullwidth, mathematical)
 * are looked for again in a folded copy of the text and rated high: nobody spells an honest sentence that way.
 * The fold runs only when the text shows a disguise (see DISGUISE), so Greek or Cyrillic prose costs nothing:
 * 1 MB of Russian text scans in ~11 ms, 1 MB of mixed-script text in ~80 ms (ASCII: ~30 ms).
 *
 * Pure and linear: hidden regions are found with indexOf scans, every regex is bounded, at most `max`
 * findings (default 32) are returned.
 */

export type InjectionKind =
  | 'hidden-comment'
  | 'hidden-element'
  | 'instruction-override'
  | 'role-marker'
  | 'ai-directive'
  | 'exfiltration-instruction'
  | 'command-instruction'
  | 'tag-smuggling'
  | 'bidi-control'
  | 'invisible-unicode'
  | 'encoded-payload';

export const INJECTION_KINDS: readonly InjectionKind[] = [
  'hidden-comment', 'hidden-element', 'instruction-override', 'role-marker', 'ai-directive', 'exfiltration-instruction',
  'command-instruction', 'tag-smuggling', 'bidi-control', 'invisible-unicode', 'encoded-payload',
];

export type Severity = 'high' | 'medium' | 'low';
export const SEVERITIES: readonly Severity[] = ['high', 'medium', 'low'];
const RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2 };
export const maxSeverity = (a: Severity, b: Severity): Severity => (RANK[a] >= RANK[b] ? a : b);
export const atLeast = (s: Severity, min: Severity): boolean => RANK[s] >= RANK[min];

export interface InjectionFinding {
  kind: InjectionKind;
  severity: Severity;
  /** UTF-16 offsets into the scanned text. */
  start: number;
  end: number;
  /** What fired, in words (never the raw content beyond a short phrase). */
  detail: string;
  /** For hidden or encoded content: the signals found inside it. */
  inner?: InjectionKind[];
  /** For tag smuggling: the hidden ASCII it spells (clipped). */
  decoded?: string;
}

interface Phrase {
  kind: InjectionKind;
  severity: Severity;
  re: RegExp;
  detail: string;
  /** Severity when the phrase is quoted or in code (documentation about the attack, test data). */
  quoted?: Severity;
}

const W = '[\\s\\S]{0,40}?';
/** Phrases, case-insensitive. Bounded quantifiers only. */
const PHRASES: Phrase[] = [
  {
    kind: 'instruction-override',
    severity: 'high',
    quoted: 'medium',
    detail: 'asks to ignore earlier instructions',
    re: new RegExp(`\\b(?:ignore|disregard|forget|override|bypass)\\b${W}\\b(?:previous|prior|above|earlier|preceding|original|initial|system|safety|developer)\\b${W}\\b(?:instructions?|prompts?|rules|directions|guidelines|guardrails|context|directives|constraints|messages|commands)\\b`, 'gi'),
  },
  {
    kind: 'instruction-override',
    severity: 'high',
    quoted: 'medium',
    detail: 'asks to ignore its instructions',
    re: new RegExp(`\\b(?:ignore|disregard|forget)\\b${W}\\b(?:all|any|your|the|these|every)\\b${W}\\b(?:instructions?|prompts?|directions|directives|guardrails|system prompt)\\b`, 'gi'),
  },
  { kind: 'instruction-override', severity: 'high', quoted: 'medium', detail: 'announces new instructions', re: /\b(?:new|updated|real|actual|true) (?:system )?instructions?\s*(?:[:\-—]|follow|are)|\bsystem prompt (?:override|update)\b|\byour (?:new|real|true) (?:task|instructions|goal|objective) (?:is|are)\b/gi },
  { kind: 'instruction-override', severity: 'high', quoted: 'medium', detail: 'asks to hide actions from the user', re: /\b(?:do not|don't|never|without) (?:tell(?:ing)?|inform(?:ing)?|notify(?:ing)?|alert(?:ing)?|mention(?:ing)?|reveal(?:ing)?|show(?:ing)?) (?:this |it )?(?:to )?(?:the |your )?(?:user|human|developer|operator)\b/gi },
  { kind: 'instruction-override', severity: 'medium', quoted: 'low', detail: 'tries to reassign the assistant\'s role', re: /\byou are now (?:a |an |in )|\bfrom now on,? you (?:are|will|must)\b|\b(?:enter|enable|activate) (?:developer|debug|god|jailbreak|dan) mode\b/gi },
  {
    kind: 'role-marker',
    severity: 'high',
    quoted: 'medium',
    detail: 'fake chat-template or system marker',
    re: /<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id)\|>|\[\/?INST\]|<<\/?SYS>>|<\/?(?:system[-_]reminder|anthropic_system|system[-_]message)>/gi,
  },
  {
    // Prompt-engineering docs use these tags in prose, so they only warn.
    kind: 'role-marker',
    severity: 'medium',
    quoted: 'low',
    detail: 'XML-style system or role tag',
    re: /<\/?(?:system|system[-_]prompt|admin|developer[-_]instructions|instructions|tool_result|function_results)>/gi,
  },
  { kind: 'role-marker', severity: 'medium', quoted: 'low', detail: 'message with a system role (as in chat API calls)', re: /[{,]\s*"role"\s*:\s*"(?:system|developer)"/gi },
  { kind: 'role-marker', severity: 'high', quoted: 'medium', detail: 'fake conversation turn', re: /(?:^|\n)\s*(?:#{1,4}\s*)?(?:\[(?:system|admin|developer)\]|(?:system|admin) (?:message|note|notice|override)\s*:|system\s*:\s*(?=[a-z ]{0,20}(?:ignore|you|assistant|the user|new|important|run|execute))|(?:human|assistant)\s*:\s*(?=\S))/gi },
  {
    kind: 'exfiltration-instruction',
    severity: 'high',
    quoted: 'medium',
    detail: 'asks to send credentials or local files to a destination',
    re: /\b(?:send|post|upload|exfiltrate|forward|transmit|leak|email|e-mail|submit|copy|paste|include|append|attach)\b[^\n]{0,80}?(?:\.env\b|id_rsa|id_ed25519|\.ssh\b|ssh keys?|private keys?|\.aws\b|aws credentials|credentials(?: file)?|environment variables|env(?:ironment)? vars|api[ _-]?keys?|secrets?|access tokens?|auth tokens?|tokens?|passwords?|cookies|\.npmrc|\.netrc|kubeconfig)\b[^\n]{0,80}?\b(?:to|at|into|via)\b[^\n]{0,40}?(?:https?:\/\/|\b[\w.+-]+@[\w-]+\.[\w.]+|\bwebhook\b|\b(?:this|that|the following|our|my) (?:url|address|endpoint|link|form|server)\b)/gi,
  },
  { kind: 'exfiltration-instruction', severity: 'high', quoted: 'medium', detail: 'image or link that carries data in its URL', re: /!\[[^\]\n]{0,200}\]\(\s*https?:\/\/[^)\s]{1,300}?[?&][\w-]{1,40}=(?:\{|\$|%7B|<|\[)[^)\n]{0,300}\)/gi },
  { kind: 'exfiltration-instruction', severity: 'high', quoted: 'medium', detail: 'command that sends secrets to the network', re: /(?:cat|base64|tar|zip|printenv|env)\b[^\n|;]{0,80}?(?:\.env\b|id_rsa|id_ed25519|\.ssh\/|\.aws\/|credentials|\.npmrc|\.netrc|\/etc\/passwd)[^\n]{0,80}?\|\s*(?:curl|wget|nc|ncat|netcat)\b|\b(?:curl|wget)\b[^\n]{0,160}?(?:-d|--data(?:-binary|-raw|-urlencode)?|-F|--form|-T|--upload-file|--post-file)[\s=]+["']?@?[^\s]*?(?:\.env\b|id_rsa|id_ed25519|\.ssh\/|\.aws\/|credentials|\$\((?:env|printenv|cat)\b)/gi },
  { kind: 'ai-directive', severity: 'medium', quoted: 'low', detail: 'imperative addressed to an AI agent', re: /\b(?:note|message|instructions?|attention|important|notice|reminder)\s+(?:to|for)\s+(?:the\s+)?(?:ai|llm|assistant|agent|model|claude|chatgpt|copilot|bot)s?\b|\b(?:ai|llm|claude|chatgpt|copilot|coding) (?:assistants?|agents?|models?)?\s*(?:,|:)?\s*(?:must|should|need to|are required to|have to)\s+(?:now\s+)?(?:run|execute|send|read|fetch|download|install|delete|remove|call|use|ignore|open|write|modify|add|include|curl)\b|\b(?:if you are|as) an? (?:ai|llm|language model|assistant|agent)\b[^\n]{0,60}?\b(?:must|should|please|you need to)\b/gi },
  { kind: 'command-instruction', severity: 'low', quoted: 'low', detail: 'asks to run a command', re: /\b(?:please |you (?:must|should|need to) |now |first,? )(?:run|execute|invoke)\b[^\n]{0,40}?\b(?:command|script|following|this)\b|\brun the following (?:command|script)s?\b/gi },
  { kind: 'command-instruction', severity: 'low', quoted: 'low', detail: 'pipes a download into a shell', re: /\b(?:curl|wget)\b[^\n|]{0,200}?\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b|\b(?:ba)?sh\s+<\(\s*(?:curl|wget)\b|\biex\s*\(\s*(?:iwr|irm|invoke-(?:webrequest|restmethod))\b/gi },
];

/** Regions that count as quoted or code: fenced code blocks, inline code, quoted strings, block quotes. */
function isQuoted(text: string, start: number, end: number, fences: [number, number][]): boolean {
  for (const [a, b] of fences) if (start >= a && end <= b) return true;
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  const lineEnd = text.indexOf('\n', end);
  const line = text.slice(lineStart, lineEnd < 0 ? text.length : lineEnd);
  if (/^\s*>/.test(line)) return true;
  const before = text.slice(Math.max(lineStart, start - 160), start);
  // An odd number of quote characters of one kind before the match on its line: inside a quoted string —
  // unless that string is a JSON value (`"content": "…"`, `"body": "…"`): that is data (a message, an issue
  // body), not a quotation.
  for (const q of ['"', "'", '`', '\u201c', '\u2018']) {
    const close = q === '\u201c' ? '\u201d' : q === '\u2018' ? '\u2019' : q;
    const opens = before.split(q).length - 1;
    const closes = close === q ? 0 : before.split(close).length - 1;
    if (close === q ? opens % 2 === 1 : opens > closes) {
      const open = before.lastIndexOf(q);
      if (q === '"' && /"\s*:\s*$/.test(before.slice(0, open))) continue;
      return true;
    }
  }
  return false;
}

function fencesOf(text: string): [number, number][] {
  const out: [number, number][] = [];
  let i = 0;
  while (out.length < 256) {
    const a = text.indexOf('```', i);
    if (a < 0) break;
    const b = text.indexOf('```', a + 3);
    if (b < 0) {
      out.push([a, text.length]);
      break;
    }
    out.push([a, b + 3]);
    i = b + 3;
  }
  return out;
}

function phraseFindings(text: string, base: number, fences: [number, number][] | null, max: number): InjectionFinding[] {
  const out: InjectionFinding[] = [];
  for (const p of PHRASES) {
    p.re.lastIndex = 0;
    let m: RegExpExecArray | null;
    let n = 0;
    while ((m = p.re.exec(text)) && n < 8 && out.length < max) {
      if (m[0].length === 0) {
        p.re.lastIndex++;
        continue;
      }
      n++;
      const start = m.index + (m[0].startsWith('\n') ? 1 : 0);
      let quoted = fences !== null && p.quoted !== undefined && isQuoted(text, start, m.index + m[0].length, fences);
      // A quoted exfiltration command with an imperative before it ("run `cat ~/.ssh/id_rsa | curl …`") is an order.
      if (quoted && p.kind === 'exfiltration-instruction' && /\b(?:run|execute|paste|type|enter)\b[^\n]{0,60}$/i.test(text.slice(Math.max(0, start - 80), start))) quoted = false;
      out.push({ kind: p.kind, severity: quoted ? p.quoted! : p.severity, start: base + start, end: base + m.index + m[0].length, detail: quoted ? `${p.detail} (quoted or in code)` : p.detail });
    }
  }
  return out;
}

/** Instruction-like signals inside hidden or decoded text, for its severity. */
function innerSignals(inner: string): { kinds: InjectionKind[]; severity: Severity | undefined } {
  const found = phraseFindings(inner, 0, null, 16);
  const kinds = [...new Set(found.map((f) => f.kind))];
  let severity: Severity | undefined;
  for (const f of found) severity = severity ? maxSeverity(severity, f.severity === 'low' ? 'medium' : 'high') : f.severity === 'low' ? 'medium' : 'high';
  // Hidden text that talks to an AI or gives orders is an attempt even without the strong phrases.
  if (!severity && /\b(?:ai|llm|assistant|agent|claude|model|chatgpt|copilot)\b/i.test(inner) && /\b(?:must|should|please|always|never|important|run|execute|send|read|ignore|do not|don't)\b/i.test(inner)) {
    kinds.push('ai-directive');
    severity = 'high';
  }
  if (!severity && /\b(?:run|execute|curl|wget|bash|sh -c|rm -rf|chmod|sudo)\b/i.test(inner) && /\b(?:you|please|must|should|now)\b/i.test(inner)) {
    kinds.push('command-instruction');
    severity = 'medium';
  }
  return { kinds, severity };
}

const HIDDEN_STYLE = /(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px|pt|em|rem)?\s*[;"']|opacity\s*:\s*0(?:\.0+)?\s*[;"']|color\s*:\s*(?:#fff(?:fff)?|white|transparent)\b|(?:left|top)\s*:\s*-\d{3,}px|\bhidden(?:\s|>|=|$)|aria-hidden\s*=\s*["']?true)/i;

/** HTML comments, markdown comments and hidden elements, each with its inner text. */
function hiddenRegions(text: string, max: number): { kind: 'hidden-comment' | 'hidden-element'; start: number; end: number; inner: string; what: string }[] {
  const out: { kind: 'hidden-comment' | 'hidden-element'; start: number; end: number; inner: string; what: string }[] = [];
  let i = 0;
  while (out.length < max) {
    const a = text.indexOf('<!--', i);
    if (a < 0) break;
    const b = text.indexOf('-->', a + 4);
    const end = b < 0 ? Math.min(text.length, a + 8192) : b + 3;
    out.push({ kind: 'hidden-comment', start: a, end, inner: text.slice(a + 4, Math.min(b < 0 ? end : b, a + 4 + 8192)), what: 'HTML comment' });
    if (b < 0) break;
    i = end;
  }
  const md = /^\s{0,3}\[(?:\/\/|comment|_)\]:\s*<?#>?\s*(?:\(([^)\n]{1,2000})\)|"([^"\n]{1,2000})")/gim;
  let m: RegExpExecArray | null;
  while ((m = md.exec(text)) && out.length < max) out.push({ kind: 'hidden-comment', start: m.index, end: m.index + m[0].length, inner: m[1] ?? m[2] ?? '', what: 'markdown comment' });
  const tag = /<([a-z][a-z0-9]{0,15})\b([^<>]{0,400})>/gi;
  let n = 0;
  while ((m = tag.exec(text)) && out.length < max && n < 2000) {
    n++;
    if (!HIDDEN_STYLE.test(m[2]!)) continue;
    const close = text.indexOf(`</${m[1]!}`, m.index + m[0].length);
    const innerEnd = close < 0 ? Math.min(text.length, m.index + m[0].length + 2000) : Math.min(close, m.index + m[0].length + 8192);
    const inner = text.slice(m.index + m[0].length, innerEnd).replace(/<[^<>]{0,400}>/g, ' ');
    if (inner.trim().length < 8) continue;
    out.push({ kind: 'hidden-element', start: m.index, end: innerEnd, inner, what: `hidden <${m[1]!.toLowerCase()}> element` });
    tag.lastIndex = innerEnd;
  }
  return out;
}

const TAG_CHARS = /(?:\udb40[\udc00-\udc7f]){2,}/g;
const BIDI = /[\u202a-\u202e\u2066-\u2069]/g;
const ZERO_WIDTH = /[\u200b-\u200d\u2060-\u2064\u180e]/g;

function unicodeFindings(text: string, out: InjectionFinding[], max: number): void {
  if (!/[^\x00-\x7f]/.test(text)) return;
  let m: RegExpExecArray | null;
  TAG_CHARS.lastIndex = 0;
  while ((m = TAG_CHARS.exec(text)) && out.length < max) {
    // Emoji subdivision flags (🏴 + tag letters + cancel tag) are the one honest use.
    const prev = text.codePointAt(Math.max(0, m.index - 2));
    if (prev === 0x1f3f4 && m[0].length <= 14) continue;
    let decoded = '';
    for (let i = 0; i < m[0].length; i += 2) {
      const cp = m[0].codePointAt(i)! - 0xe0000;
      if (cp >= 0x20 && cp < 0x7f) decoded += String.fromCharCode(cp);
    }
    const inner = innerSignals(decoded);
    out.push({ kind: 'tag-smuggling', severity: 'high', start: m.index, end: m.index + m[0].length, detail: `invisible Unicode tag characters spell hidden text (${decoded.length} chars)`, inner: inner.kinds, decoded: decoded.slice(0, 200) });
  }
  const bidi: number[] = [];
  BIDI.lastIndex = 0;
  while ((m = BIDI.exec(text)) && bidi.length < 64) bidi.push(m.index);
  if (bidi.length && out.length < max) out.push({ kind: 'bidi-control', severity: 'medium', start: bidi[0]!, end: bidi[bidi.length - 1]! + 1, detail: `${bidi.length}${bidi.length === 64 ? '+' : ''} bidirectional control character(s) that reorder how text is displayed` });
  const zw: number[] = [];
  ZERO_WIDTH.lastIndex = 0;
  while ((m = ZERO_WIDTH.exec(text)) && zw.length < 256) zw.push(m.index);
  if (zw.length && out.length < max) {
    // Text hidden between zero-width characters is still plain text: scanned by the phrases. What matters here
    // is many of them (steganography, breaking up words so filters miss them).
    const inWords = zw.filter((i) => /\w/.test(text[i - 1] ?? '') && /\w/.test(text[i + 1] ?? '')).length;
    const severity: Severity = zw.length >= 10 || inWords >= 3 ? 'medium' : 'low';
    out.push({ kind: 'invisible-unicode', severity, start: zw[0]!, end: zw[zw.length - 1]! + 1, detail: `${zw.length}${zw.length === 256 ? '+' : ''} zero-width character(s)${inWords ? `, ${inWords} inside words` : ''}` });
  }
}

/** A base64 run of 40+ characters (and its padding), after a non-base64 character (no re-scanning inside words). */
const B64 = /(?:^|[^A-Za-z0-9+/])([A-Za-z0-9+/]{40,}={0,2})/g;

function base64Runs(text: string, max: number): { index: number; run: string }[] {
  const out: { index: number; run: string }[] = [];
  B64.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = B64.exec(text)) && out.length < max) out.push({ index: m.index + m[0].length - m[1]!.length, run: m[1]! });
  return out;
}

function encodedFindings(text: string, out: InjectionFinding[], max: number): void {
  let tried = 0;
  for (const m of base64Runs(text, 4096)) {
    if (out.length >= max || tried >= 64) break;
    const run = m.run;
    if (/^[0-9a-fA-F]+$/.test(run) || run.length > 65536) continue;
    const before = text.slice(Math.max(0, m.index - 12), m.index);
    if (/sha(?:1|256|384|512)-$|base64,$/.test(before)) continue; // integrity hashes, data: URLs (images)
    tried++;
    const decoded = Buffer.from(run, 'base64').toString('utf8');
    let bad = 0;
    for (let i = 0; i < decoded.length; i++) {
      const c = decoded.charCodeAt(i);
      if ((c < 32 && c !== 9 && c !== 10 && c !== 13) || c === 0xfffd) bad++;
    }
    if (decoded.length < 16 || bad / decoded.length > 0.02 || !/[A-Za-z]{3,}\s+[A-Za-z]{2,}/.test(decoded)) continue;
    const inner = innerSignals(decoded);
    if (inner.severity) out.push({ kind: 'encoded-payload', severity: 'high', start: m.index, end: m.index + run.length, detail: `base64 text (${run.length} chars) that decodes to instructions`, inner: inner.kinds });
    else if (run.length >= 120) out.push({ kind: 'encoded-payload', severity: 'low', start: m.index, end: m.index + run.length, detail: `base64 text (${run.length} chars) that decodes to readable text` });
  }
}

/**
 * Letters of other scripts that look like Latin ones (Unicode's confusables for the Latin alphabet, the
 * Cyrillic and Greek ones an attacker can type), folded to the Latin letter they imitate.
 */
const LOOK_ALIKES =
  // Cyrillic
  'аaвbеeёeкkмmнhоoрpсcтtуyхxѕsіiїiјjһhԁdԛqԝwӏlАAВBЕEКKМMНHОOРPСCТTУYХXЅSІIЈJҮYԀDԚQԜWӀI' +
  // Greek, and Latin letters without a dot or with an open tail
  'αaεeιiκkνvοoρpτtυuχxϲcϳjΑAΒBΕEΖZΗHΙIΚKΜMΝNΟOΡPΤTΥYΧXıiɡg';
/** Code point (below U+0530) → the ASCII letter it imitates, 0 for none. */
const FOLD = new Uint8Array(0x530);
for (let i = 0; i < LOOK_ALIKES.length; i += 2) FOLD[LOOK_ALIKES.charCodeAt(i)] = LOOK_ALIKES.charCodeAt(i + 1);
/**
 * Text worth a second, folded look: zero-width characters or soft hyphens; fullwidth or mathematical Latin
 * letters; a Greek or Cyrillic letter touching a Latin one (a mixed-script word). Text written in Greek or
 * Cyrillic does not pay for the fold; disguised English phrases cannot avoid mixed-script words, since
 * letters such as g and n have no look-alike there.
 */
const DISGUISE = /[\u200b-\u200d\u2060-\u2064\u00ad\uff21-\uff3a\uff41-\uff5a]|\ud835[\udc00-\udfff]|[A-Za-z][\u0131\u0261\u0370-\u03ff\u0400-\u052f]|[\u0131\u0261\u0370-\u03ff\u0400-\u052f][A-Za-z]/;

/**
 * `text` with disguises undone: zero-width characters dropped, look-alikes folded to ASCII. `map[i]` is the
 * offset in `text` of folded character i; `how[i]` is 0 when it was there as it is, 1 when a zero-width
 * character was dropped just before it, 2 when it is a folded look-alike.
 */
function foldDisguises(text: string): { folded: string; map: Int32Array; how: Uint8Array } {
  const codes = new Uint16Array(text.length);
  const map = new Int32Array(text.length);
  const how = new Uint8Array(text.length);
  let n = 0;
  let dropped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 0x200b && c <= 0x200d) || (c >= 0x2060 && c <= 0x2064) || c === 0xad) {
      dropped = true;
      continue;
    }
    let ascii = 0;
    let width = 1;
    if (c < 0x80) ascii = 0;
    else if (c < 0x530) ascii = FOLD[c]!;
    else if (c >= 0xff21 && c <= 0xff5a) ascii = /[A-Za-z]/.test(String.fromCharCode(c - 0xfee0)) ? c - 0xfee0 : 0;
    else if (c === 0xd835 && i + 1 < text.length) {
      // Mathematical bold/italic/script… letters and digits: NFKC gives the plain one.
      const plain = String.fromCodePoint(text.codePointAt(i)!).normalize('NFKC');
      if (/^[A-Za-z0-9]$/.test(plain)) (ascii = plain.charCodeAt(0)), (width = 2);
    }
    codes[n] = ascii || c;
    map[n] = i;
    how[n] = ascii ? 2 : dropped ? 1 : 0;
    n++;
    dropped = false;
    i += width - 1;
  }
  let folded = '';
  for (let k = 0; k < n; k += 8192) folded += String.fromCharCode(...codes.subarray(k, Math.min(n, k + 8192)));
  return { folded, map: map.subarray(0, n), how: how.subarray(0, n) };
}

export interface InjectionOptions {
  /** At most this many findings (default 32). */
  max?: number;
}

/** Every injection signal in `text`, in text order. */
export function findInjection(text: string, opts: InjectionOptions = {}): InjectionFinding[] {
  const max = opts.max ?? 32;
  const out: InjectionFinding[] = [];
  const fences = fencesOf(text);
  for (const r of hiddenRegions(text, max)) {
    if (out.length >= max) break;
    const inner = innerSignals(r.inner);
    // Comments without instruction language (badges, lint directives, TODOs) are not signals.
    if (!inner.severity) continue;
    const severity: Severity = inner.severity === 'medium' ? (r.kind === 'hidden-element' ? 'high' : 'medium') : 'high';
    out.push({ kind: r.kind, severity, start: r.start, end: r.end, detail: `${r.what} with ${inner.kinds.join(', ')}`, inner: inner.kinds });
  }
  // Phrases outside hidden regions (inside them they were reported with the region).
  const hidden = out.map((f) => [f.start, f.end] as const);
  for (const f of phraseFindings(text, 0, fences, max)) {
    if (out.length >= max) break;
    if (hidden.some(([a, b]) => f.start >= a && f.end <= b)) continue;
    out.push(f);
  }
  // Phrases disguised so that a plain match misses them: broken up by zero-width characters (ig\u200bnore
  // previous…) or spelled with look-alike letters (Cyrillic о, fullwidth ｉ, mathematical 𝐢). Look again at
  // the folded text; a phrase found only there was disguised on purpose, which raises its severity.
  if (out.length < max && DISGUISE.test(text)) {
    const { folded, map, how } = foldDisguises(text);
    const seen = new Set(out.map((f) => `${f.kind}:${f.start}`));
    for (const f of phraseFindings(folded, 0, fencesOf(folded), max)) {
      if (out.length >= max) break;
      const start = map[f.start] ?? 0;
      const end = (map[Math.max(0, f.end - 1)] ?? start) + 1;
      if (seen.has(`${f.kind}:${start}`) || out.some((o) => o.kind === f.kind && o.start <= start && o.end >= end)) continue;
      const tricks = [...new Set(how.subarray(f.start, f.end))].filter((h) => h !== 0);
      if (!tricks.length) continue;
      const said = tricks.map((t) => (t === 1 ? 'broken up by zero-width characters' : 'spelled with look-alike letters')).join(', ');
      out.push({ ...f, start, end, severity: f.severity === 'low' ? 'medium' : 'high', detail: `${f.detail} (${said})` });
    }
  }
  if (out.length < max) unicodeFindings(text, out, max);
  if (out.length < max) encodedFindings(text, out, max);
  return out.sort((a, b) => a.start - b.start).slice(0, max);
}

/** The highest severity among findings (undefined for none). */
export function topSeverity(findings: readonly { severity: Severity }[]): Severity | undefined {
  let s: Severity | undefined;
  for (const f of findings) s = s ? maxSeverity(s, f.severity) : f.severity;
  return s;
}
