/** The shape of a `warden` verb. Each verb lives in its own module under commands/. */

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** The whole of standard input. */
  stdin(): Promise<string>;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface Command {
  name: string;
  summary: string;
  /** Full `--help` text. */
  help: string;
  run(args: string[], io: Io): Promise<number>;
}

/** A usage error: printed with the verb's usage line, exit code 2. */
export class UsageError extends Error {}
