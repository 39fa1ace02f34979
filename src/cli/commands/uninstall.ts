import { InstallError, uninstallGuard } from '../../runtime/install/install';
import { INSTALL_SCOPES, type InstallScope } from '../../runtime/install/paths';
import { parseArgs } from '../args';
import { UsageError, type Command } from '../types';

export const uninstall: Command = {
  name: 'uninstall',
  summary: 'Remove the Agent Warden hooks (and only them) from Claude Code settings',
  help: `Usage: warden uninstall --scope user|project|managed [--dir <project dir>] [--settings <file>] [--dry-run] [--json]

Removes every hook entry carrying the --agent-warden marker, and the permissions.deny rules and
allowManagedHooksOnly that \`warden install\` added (from its install record beside the settings file).
Everything else in the file stays. The previous file is backed up; a corrupt file is left untouched.
A running Claude Code session keeps the hooks until it is restarted (Agent Warden vetoes the reload).`,
  async run(args, io) {
    const { values } = parseArgs(args, { scope: { type: 'string' }, dir: { type: 'string' }, settings: { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } }, false);
    const scope = values.scope as InstallScope | undefined;
    if (!scope || !INSTALL_SCOPES.includes(scope)) throw new UsageError(`--scope must be one of ${INSTALL_SCOPES.join(', ')}`);
    if (values.settings && scope === 'project') throw new UsageError('--settings is for user and managed scope; use --dir for project scope');
    try {
      const r = uninstallGuard({
        scope,
        env: io.env,
        projectDir: values.dir ?? io.cwd,
        ...(values.settings ? (scope === 'managed' ? { managedSettings: values.settings } : { userSettings: values.settings }) : {}),
        dryRun: !!values['dry-run'],
      });
      if (values.json) io.out(JSON.stringify(r, null, 2));
      else if (!r.changed) io.out(`No Agent Warden hooks in ${r.file}; nothing changed.`);
      else {
        io.out(`${r.dryRun ? 'Would remove' : 'Removed'} ${r.removedHooks} Agent Warden hook entr${r.removedHooks === 1 ? 'y' : 'ies'}${r.removedDenyRules.length ? ` and ${r.removedDenyRules.length} deny rule${r.removedDenyRules.length > 1 ? 's' : ''}` : ''} from ${r.file}${r.removedFile ? ' (the file, which Agent Warden had created, was removed)' : r.backup ? ` (previous file kept as ${r.backup})` : ''}.`);
      }
      if (!values.json) for (const w of r.warnings) io.err(`warning: ${w}`);
      return 0;
    } catch (e) {
      if (e instanceof InstallError) {
        io.err(`warden uninstall: ${e.message}`);
        return 1;
      }
      throw e;
    }
  },
};
