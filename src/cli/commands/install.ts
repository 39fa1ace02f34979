import { claudeInfo } from '../../runtime/install/claudeVersion';
import { installGuard, InstallError, type OnFailureChoice } from '../../runtime/install/install';
import { INSTALL_SCOPES, type InstallScope } from '../../runtime/install/paths';
import { parseArgs } from '../args';
import { UsageError, type Command } from '../types';

export const install: Command = {
  name: 'install',
  summary: 'Install the Agent Warden hooks into Claude Code settings (user, project or managed)',
  help: `Usage: warden install --scope user|project|managed [options]

Writes one Agent Warden hook per Claude Code event (PreToolUse decides; ConfigChange vetoes changes that
would disable the guard; PostToolUse, PostToolUseFailure, PostToolBatch, UserPromptSubmit, SessionStart,
SessionEnd, SubagentStart, SubagentStop and Stop are recorded) with matcher "*", an absolute runtime and an absolute
path to the hook runner, and a permissions.deny backstop for the most sensitive paths. For user and project
scope the runner is first copied to <state dir>/runtime/<content hash>/, so updating or removing the
extension or package never leaves the hooks pointing at a missing file. Idempotent; every other
setting and hook is kept; the file is validated before an atomic replace and the previous one backed up.
A corrupt settings file is reported and left untouched.

Scopes:
  user      ~/.claude/settings.json (or $CLAUDE_CONFIG_DIR/settings.json)
  project   <dir>/.claude/settings.json
  managed   the OS's managed-settings.json (Linux /etc/claude-code/managed-settings.json), with
            allowManagedHooksOnly: true — for administrators rolling out by MDM; needs write access there

Options:
  --scope <scope>          user, project or managed (required)
  --dir <project dir>      project root for --scope project (default: current directory)
  --settings <file>        write this settings file instead of the scope's default path
  --node <path>            runtime for the hook (default: node on PATH, else this process's runtime)
  --hook <path>            the hook script (default: dist/hook.js beside this CLI)
  --in-place               run the hook script where it is instead of from a copy in the state directory
                           (always so for managed scope: put the runner where every user can read it)
  --policy <ref>           pass --policy to the hook (a policy file, or builtin:baseline)
  --home <dir>             pass --home (state directory) to the hook
  --claude <path>          the Claude Code binary to check (default: claude on PATH)
  --on-failure <mode>      auto (default): set onFailure "block" when Claude Code supports it (2.1.295+);
                           block: always set it; omit (or continue): never set it
  --no-backstop            do not add permissions.deny rules
  --dry-run                print what would be written, change nothing
  --json                   machine-readable result`,
  async run(args, io) {
    const { values } = parseArgs(
      args,
      {
        scope: { type: 'string' }, dir: { type: 'string' }, settings: { type: 'string' }, node: { type: 'string' }, hook: { type: 'string' },
        policy: { type: 'string' }, home: { type: 'string' }, claude: { type: 'string' }, 'on-failure': { type: 'string' },
        'no-backstop': { type: 'boolean' }, 'in-place': { type: 'boolean' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' },
      },
      false,
    );
    const scope = values.scope as InstallScope | undefined;
    if (!scope || !INSTALL_SCOPES.includes(scope)) throw new UsageError(`--scope must be one of ${INSTALL_SCOPES.join(', ')}`);
    const onFailure = (values['on-failure'] ?? 'auto') as OnFailureChoice;
    if (!['auto', 'block', 'omit', 'continue'].includes(onFailure)) throw new UsageError('--on-failure must be auto, block, omit or continue');
    const claude = claudeInfo(values.claude, io.env);
    if (values.claude && !claude) throw new UsageError(`--claude ${values.claude}: not found`);
    const settingsOverride = values.settings ? (scope === 'managed' ? { managedSettings: values.settings } : scope === 'user' ? { userSettings: values.settings } : undefined) : undefined;
    if (values.settings && scope === 'project') throw new UsageError('--settings is for user and managed scope; use --dir for project scope');
    try {
      const r = installGuard({
        scope,
        env: io.env,
        projectDir: values.dir ?? io.cwd,
        ...settingsOverride,
        ...(values.node ? { node: values.node } : {}),
        ...(values.hook ? { hookScript: values.hook } : {}),
        ...(values['in-place'] ? { inPlace: true } : {}),
        ...(values.policy ? { policy: values.policy } : {}),
        ...(values.home ? { home: values.home } : {}),
        ...(claude ? { claude } : {}),
        onFailure,
        backstop: !values['no-backstop'],
        dryRun: !!values['dry-run'],
      });
      if (values.json) {
        io.out(JSON.stringify(r, null, 2));
        return 0;
      }
      if (r.dryRun) {
        io.out(`Would write ${r.file}:`);
        io.out(JSON.stringify(r.settings, null, 2));
      } else if (r.changed) io.out(`Installed Agent Warden hooks in ${r.file}${r.backup ? ` (previous file kept as ${r.backup})` : ''}.`);
      else io.out(`Agent Warden hooks already installed in ${r.file}; nothing changed.`);
      io.out(`  command:    ${r.command}`);
      if (r.hookScript !== r.sourceHookScript) io.out(`  runner:     ${r.hookScript} (a copy of ${r.sourceHookScript})`);
      io.out(`  events:     ${r.events.join(', ')}`);
      io.out(`  onFailure:  ${r.onFailure.set ? 'block (PreToolUse, ConfigChange)' : 'not set'} — ${r.onFailure.reason}`);
      if (r.addedDenyRules.length) io.out(`  deny rules: added ${r.addedDenyRules.join(', ')}`);
      for (const w of r.warnings) if (w !== r.onFailure.reason) io.err(`warning: ${w}`);
      if (r.createdClaudeDir) io.err(`note: ${r.file} is new; restart Claude Code sessions already running in this project (Claude Code before 2.1.329 does not notice a .claude/ directory created after it started).`);
      if (scope === 'project') io.err('note: the hook command holds absolute paths of this machine; teammates run `warden install --scope project` (or --scope user) on theirs.');
      return 0;
    } catch (e) {
      if (e instanceof InstallError) {
        io.err(`warden install: ${e.message}`);
        return 1;
      }
      throw e;
    }
  },
};
