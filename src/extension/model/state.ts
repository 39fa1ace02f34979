/**
 * The one state the status bar (and the views' context keys) are drawn from, and how it is drawn.
 * Pure: no vscode import, so state → text is unit-tested in plain Node.
 */
import { escapeMarkdown, formatSpan, plural, relative } from './format';

export type StatusKind = 'notInstalled' | 'policyProblem' | 'offline' | 'observe' | 'enforcing';

export interface InstallState {
  /** A working Agent Warden PreToolUse hook is configured in a settings layer whose hooks run. */
  installed: boolean;
  /** Scopes with the guard hooks (user, project, local, managed). */
  scopes: string[];
  /** Why it is not installed / not running, when known. */
  problem?: string;
}

export interface PolicyState {
  source: 'bundle' | 'baseline' | 'file';
  id: string;
  version: string;
  mode: 'enforce' | 'observe';
  /** For bundles: fresh, stale (not re-issued lately) or grace (expired, still enforced for a while). */
  freshness?: 'fresh' | 'stale' | 'grace';
  issuedAt?: number;
  expiresAt?: number;
  graceEndsAt?: number;
  /** A configured bundle could not be used: the baseline applies instead. */
  fallback?: { code: string; message: string };
  /** The last sync refused an update (the last good bundle stays). */
  rejected?: { at: number; code: string; message: string };
}

export interface ServerState {
  configured: boolean;
  url?: string;
  /** The last sync attempt reached the server (null: not tried yet). */
  reachable: boolean | null;
  lastError?: string;
  lastSuccess?: number;
  nextAttempt?: number;
  /** Enrolled (a device token is stored). */
  enrolled?: boolean;
}

export interface WardenState {
  install: InstallState;
  policy: PolicyState;
  server: ServerState;
  deniesThisSession: number;
  pendingExceptions: number;
  activeExceptions: number;
  audit?: { backlog: number; level: string };
  /** Time the state was computed (ms). */
  now: number;
}

export interface StatusView {
  kind: StatusKind;
  text: string;
  /** Short state word for screen readers and the tooltip title. */
  title: string;
  /** 'warning' | 'error' background, or none. */
  background?: 'warning' | 'error';
  /** Markdown with command links (the caller marks it trusted for agentWarden.* commands only). */
  tooltip: string;
  ariaLabel: string;
}

/** The state, one word: the first that applies of not installed, policy problem, offline, observe, enforcing. */
export function statusKind(s: WardenState): StatusKind {
  if (!s.install.installed) return 'notInstalled';
  if (s.policy.fallback || s.policy.rejected || (s.policy.freshness && s.policy.freshness !== 'fresh')) return 'policyProblem';
  if (s.server.configured && s.server.reachable === false) return 'offline';
  if (s.policy.mode === 'observe') return 'observe';
  return 'enforcing';
}

/** "v12" for a bundle, "baseline 1.0.0" for the built-in policy. */
export function policyShort(p: PolicyState): string {
  if (p.source === 'bundle') return `v${p.version}`;
  if (p.id.startsWith('builtin:')) return `${p.id.slice('builtin:'.length)} ${p.version}`;
  return p.version;
}

export function policyProblemWord(p: PolicyState): string {
  if (p.fallback) return 'policy rejected';
  if (p.freshness === 'grace') return 'policy expired';
  if (p.freshness === 'stale') return 'policy stale';
  if (p.rejected) return 'update rejected';
  return 'policy problem';
}

const TITLES: Record<StatusKind, string> = {
  notInstalled: 'Not installed',
  policyProblem: 'Policy needs attention',
  offline: 'Offline',
  observe: 'Observe mode',
  enforcing: 'Enforcing',
};

export const MENU_LINKS: { command: string; icon: string; label: string; hint: string }[] = [
  { command: 'agentWarden.showDecisions', icon: 'list-tree', label: 'Decisions', hint: 'Show the decisions view' },
  { command: 'agentWarden.syncNow', icon: 'sync', label: 'Sync now', hint: 'Fetch the policy bundle now' },
  { command: 'agentWarden.doctor', icon: 'pulse', label: 'Doctor', hint: 'Open the doctor report' },
  { command: 'agentWarden.requestException', icon: 'unlock', label: 'Request exception', hint: 'Request a temporary exception for a blocked call' },
  { command: 'agentWarden.setup', icon: 'gear', label: 'Set up', hint: 'Install the hooks and connect to the server' },
];

export function policyLine(p: PolicyState, now: number): string {
  const what = p.source === 'bundle' ? `signed bundle **${escapeMarkdown(p.id)}** v${p.version}` : p.source === 'file' ? `local policy file ${escapeMarkdown(p.id)}` : `built-in **${escapeMarkdown(p.id)}** ${p.version}`;
  const bits: string[] = [];
  if (p.freshness) bits.push(p.freshness);
  if (p.issuedAt) bits.push(`issued ${relative(p.issuedAt, now)}`);
  if (p.freshness === 'grace' && p.graceEndsAt) bits.push(`the baseline takes over ${relative(p.graceEndsAt, now)}`);
  else if (p.expiresAt) bits.push(`expires ${relative(p.expiresAt, now)}`);
  bits.push(p.mode === 'observe' ? 'observe mode: records, blocks nothing' : 'enforced');
  return `Policy: ${what} (${bits.join(', ')})`;
}

export function statusView(s: WardenState): StatusView {
  const kind = statusKind(s);
  const ver = policyShort(s.policy);
  const denies = s.deniesThisSession > 0 ? ` · ${s.deniesThisSession} denied` : '';
  const pending = s.pendingExceptions > 0 ? ` $(clock) ${s.pendingExceptions}` : '';
  let text: string;
  let background: StatusView['background'];
  switch (kind) {
    case 'notInstalled':
      text = '$(shield) Warden: not installed';
      background = 'warning';
      break;
    case 'policyProblem':
      text = `$(warning) Warden ${ver} (${policyProblemWord(s.policy)})`;
      background = s.policy.fallback || s.policy.freshness === 'grace' ? 'error' : 'warning';
      break;
    case 'offline':
      text = `$(cloud-offline) Warden ${ver} (offline)`;
      break;
    case 'observe':
      text = `$(eye) Warden ${ver} (observe)`;
      break;
    case 'enforcing':
      text = `$(shield) Warden ${ver}`;
      break;
  }
  text += denies + pending;

  const lines: string[] = [`**Agent Warden: ${TITLES[kind]}**`];
  if (!s.install.installed) lines.push(`Claude Code tool calls are **not guarded** here${s.install.problem ? `: ${escapeMarkdown(s.install.problem)}` : ''}. Run *Set Up* to install the hooks.`);
  else lines.push(`Hooks: installed in ${s.install.scopes.join(', ')} settings`);
  lines.push(policyLine(s.policy, s.now));
  if (s.policy.fallback) lines.push(`$(error) The configured bundle is not used: ${escapeMarkdown(s.policy.fallback.message)}`);
  if (s.policy.rejected) lines.push(`$(warning) Last update rejected ${relative(s.policy.rejected.at, s.now)}: ${escapeMarkdown(s.policy.rejected.message)}`);
  if (!s.server.configured) lines.push('Server: not connected (the policy is enforced offline)');
  else {
    const last = s.server.lastSuccess ? `last sync ${relative(s.server.lastSuccess, s.now)}` : 'never synced';
    const err = s.server.reachable === false && s.server.lastError ? ` · $(cloud-offline) ${escapeMarkdown(s.server.lastError)}` : '';
    lines.push(`Server: ${escapeMarkdown(s.server.url ?? '')} (${last})${err}`);
  }
  lines.push(`Denied this session: ${s.deniesThisSession}`);
  if (s.pendingExceptions || s.activeExceptions) lines.push(`Exceptions: ${s.pendingExceptions} pending, ${s.activeExceptions} active`);
  if (s.audit && (s.audit.backlog > 0 || s.audit.level !== 'ok')) lines.push(`Audit: ${plural(s.audit.backlog, 'event')} not yet at the server${s.audit.level !== 'ok' ? ` (spool ${s.audit.level})` : ''}`);
  lines.push('---');
  lines.push(MENU_LINKS.map((l) => `[$(${l.icon}) ${l.label}](command:${l.command} "${l.hint}")`).join(' · '));
  const aria = `Agent Warden: ${TITLES[kind]}, policy ${ver}, ${s.deniesThisSession} denied this session${s.pendingExceptions ? `, ${s.pendingExceptions} exception requests pending` : ''}`;
  return { kind, text, title: TITLES[kind], ...(background ? { background } : {}), tooltip: lines.join('\n\n'), ariaLabel: aria };
}

/** The policy's age in words ("3 h"), for the policy view. */
export function policyAge(p: PolicyState, now: number): string | undefined {
  return p.issuedAt ? formatSpan(now - p.issuedAt) : undefined;
}
