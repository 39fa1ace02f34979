/**
 * The machine context a decision needs: home, user, platform, project root, state directory, and the
 * environment variables a shell command would expand (a fixed, non-secret subset: the hook never copies
 * the rest of its environment anywhere).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { CompileEnv } from '../core/evaluate/compile';
import type { AnalysisEnv } from '../core/facts/extract';
import { normalizeAbs, toPosix, type FsProbe, type Platform } from '../core/paths/paths';

/** Variables whose values are paths or names, never credentials; used to expand `$VAR` in commands. */
const EXPANDABLE = [
  'HOME', 'USER', 'LOGNAME', 'SHELL', 'TMPDIR', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME', 'XDG_STATE_HOME',
  'XDG_RUNTIME_DIR', 'CLAUDE_PROJECT_DIR', 'CLAUDE_CONFIG_DIR', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'KUBECONFIG',
  'GOOGLE_APPLICATION_CREDENTIALS', 'DOCKER_CONFIG', 'GNUPGHOME', 'NPM_CONFIG_USERCONFIG', 'CARGO_HOME', 'GOPATH', 'RUSTUP_HOME',
  'PYENV_ROOT', 'NVM_DIR', 'VIRTUAL_ENV', 'CONDA_PREFIX', 'JAVA_HOME', 'ANDROID_HOME', 'GIT_DIR', 'GIT_WORK_TREE',
];

export interface MachineContext {
  home: string;
  user: string;
  platform: Platform;
  stateDir: string;
  claudeDir: string;
  tmpDir: string;
  /** Directory holding the running guard (dist/), protected from modification. */
  guardDir: string;
  vars: Record<string, string>;
}

export function platformOf(p: NodeJS.Platform = process.platform): Platform {
  return p === 'darwin' ? 'darwin' : p === 'win32' ? 'win32' : 'linux';
}

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.HOME || os.homedir(), '.agent-warden');
}

export function machineContext(opts: { stateDir?: string; env?: NodeJS.ProcessEnv; guardDir?: string } = {}): MachineContext {
  const env = opts.env ?? process.env;
  const platform = platformOf();
  const posix = (p: string): string => normalizeAbs(toPosix(p, platform));
  const home = posix(env.HOME || os.homedir());
  let user = env.USER || env.LOGNAME || '';
  if (!user) {
    try {
      user = os.userInfo().username;
    } catch {
      user = 'user';
    }
  }
  const vars: Record<string, string> = {};
  for (const k of EXPANDABLE) {
    const v = env[k];
    if (v !== undefined) vars[k] = v;
  }
  vars.HOME = home;
  return {
    home,
    user,
    platform,
    stateDir: posix(opts.stateDir ?? defaultStateDir(env)),
    claudeDir: posix(env.CLAUDE_CONFIG_DIR || path.join(home, '.claude')),
    tmpDir: posix(env.TMPDIR || os.tmpdir()),
    guardDir: posix(opts.guardDir ?? path.resolve(__dirname)),
    vars,
  };
}

export function analysisEnv(m: MachineContext, workspace: string | undefined, fs: FsProbe | undefined, deadline?: number): AnalysisEnv {
  const env: AnalysisEnv = { home: m.home, user: m.user, platform: m.platform, vars: m.vars };
  if (workspace) env.workspace = workspace;
  if (fs) env.fs = fs;
  if (deadline !== undefined) env.deadline = deadline;
  return env;
}

export function compileEnv(m: MachineContext, workspace: string): CompileEnv {
  return {
    home: m.home,
    workspace,
    stateDir: m.stateDir,
    claudeDir: m.claudeDir,
    tmpDir: m.tmpDir,
    caseInsensitive: m.platform !== 'linux',
    vars: { GUARD_DIR: m.guardDir },
  };
}
