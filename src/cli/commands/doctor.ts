import { claudeInfo } from '../../runtime/install/claudeVersion';
import { runDoctor, type DoctorReport } from '../../runtime/install/doctor';
import { parseArgs } from '../args';
import { UsageError, type Command } from '../types';

export const doctor: Command = {
  name: 'doctor',
  summary: 'Check that Agent Warden really guards Claude Code here (every settings layer, version, policy, spool)',
  help: `Usage: warden doctor [--json] [--dir <project dir>] [--user-settings <file>] [--managed-settings <file>]
                     [--claude <path>] [--no-probe]

Reads the user, project, local and managed settings (and managed-settings.d/ drop-ins) and reports, per
layer: whether the Agent Warden hooks are there for every event, whether their runtime and hook script
exist, and whether the hook denies a known-bad call when run exactly as Claude Code runs it; disableAllHooks,
allowManagedHooksOnly, whether bypass-permissions mode is allowed; the Claude Code version and what it
supports; the active policy; the audit spool's backlog.

Exit code 0 when a working guard runs for every tool call, 1 when not.

Options:
  --json                     machine-readable report (for the VS Code extension)
  --dir <dir>                project root (default: current directory)
  --user-settings <file>     user settings file (default: ~/.claude/settings.json)
  --managed-settings <file>  managed settings file (default: the OS's managed-settings.json)
  --claude <path>            Claude Code binary (default: claude on PATH)
  --no-probe                 do not run the hook commands`,
  async run(args, io) {
    const { values } = parseArgs(
      args,
      { json: { type: 'boolean' }, dir: { type: 'string' }, 'user-settings': { type: 'string' }, 'managed-settings': { type: 'string' }, claude: { type: 'string' }, 'no-probe': { type: 'boolean' } },
      false,
    );
    const claude = claudeInfo(values.claude, io.env);
    if (values.claude && !claude) throw new UsageError(`--claude ${values.claude}: not found`);
    const report = runDoctor({
      env: io.env,
      projectDir: values.dir ?? io.cwd,
      ...(values['user-settings'] ? { userSettings: values['user-settings'] } : {}),
      ...(values['managed-settings'] ? { managedSettings: values['managed-settings'] } : {}),
      ...(claude ? { claude } : {}),
      probe: !values['no-probe'],
    });
    if (values.json) io.out(JSON.stringify(report, null, 2));
    else io.out(formatReport(report));
    return report.ok ? 0 : 1;
  },
};

export function formatReport(r: DoctorReport): string {
  const lines: string[] = [`${r.ok ? 'OK' : 'NOT GUARDED'}: ${r.summary}`, ''];
  for (const l of r.layers) {
    const state = !l.exists ? 'absent' : l.error ? 'CORRUPT' : !l.valid ? 'INVALID (ignored by Claude Code)' : l.commands.length ? (l.hooksRun ? 'guard hooks present' : 'guard hooks present but switched off') : 'no guard hooks';
    lines.push(`  ${l.scope.padEnd(8)} ${l.file}: ${state}`);
    for (const c of l.commands) {
      const probe = c.probe ? (c.probe.denied ? (c.probe.ordinaryAllowed ? `denies a known-bad call (${c.probe.ms} ms)` : 'DENIES EVERYTHING, even an ordinary call') : `PROBE FAILED: ${c.probe.error ?? c.probe.decision ?? 'no decision'}`) : 'not probed';
      lines.push(`           ${c.events.length} event${c.events.length > 1 ? 's' : ''}; runtime ${c.runtimeOk ? 'ok' : 'MISSING'}; hook.js ${c.hookScriptOk ? 'ok' : 'MISSING'}; ${probe}${c.onFailure ? `; onFailure ${c.onFailure}` : ''}`);
    }
    if (l.disableAllHooks) lines.push('           disableAllHooks: true');
    if (l.allowManagedHooksOnly) lines.push('           allowManagedHooksOnly: true');
  }
  lines.push('');
  lines.push(`  Claude Code: ${r.claude.found ? `${r.claude.version ?? '?'} (${r.claude.path})` : 'not found'}`);
  lines.push(`  bypass-permissions mode: ${r.bypassPermissionsMode}`);
  lines.push(`  policy: ${r.policy.detail}`);
  lines.push(`  audit spool: ${r.spool.detail}`);
  const shown = r.issues.filter((i) => i.severity !== 'info');
  const infos = r.issues.filter((i) => i.severity === 'info');
  if (shown.length || infos.length) lines.push('');
  for (const i of [...shown, ...infos]) lines.push(`  ${i.severity.toUpperCase().padEnd(7)} ${i.message}`);
  return lines.join('\n');
}
