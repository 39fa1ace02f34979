/** Syntax tree of a Bash command line, as produced by `parse.ts`. */

export type WordPart =
  /** Literal text. `quoted` when it came from quotes or a backslash escape (no globbing, no splitting, no braces). */
  | { t: 'lit'; v: string; quoted: boolean }
  /** `$name`, `${name}`, `${name:-word}`… `op` is the operator text (`:-`, `#`, `//`, …); `arg` its operand. */
  | { t: 'param'; name: string; op?: string; arg?: Word; quoted: boolean; length?: boolean; indirect?: boolean; index?: string }
  /** `$(…)` or backticks; `body` is the parsed script. */
  | { t: 'cmdsub'; body: Script; quoted: boolean; backtick?: boolean }
  /** `$((…))`; not evaluated. */
  | { t: 'arith'; raw: string; quoted: boolean }
  /** `<(…)` or `>(…)`. */
  | { t: 'procsub'; dir: '<' | '>'; body: Script }
  /** Unquoted glob characters: `*`, `?`, `[…]`, extglob `@(…)`. */
  | { t: 'glob'; v: string };

export interface Word {
  parts: WordPart[];
  /**
   * An array assignment given to a declaration builtin (`declare -a a=(x y)`, `local a=(…)`): bash parses it
   * as an assignment, not as a word. `parts` then hold just the name.
   */
  assign?: Assign;
  /** Offset of the word in the source. */
  pos: number;
  /** Source text of the word. */
  raw: string;
}

export type RedirOp = '>' | '>>' | '<' | '<<' | '<<-' | '<<<' | '>&' | '<&' | '&>' | '&>>' | '>|' | '<>';

export interface Redir {
  op: RedirOp;
  /** File descriptor number written before the operator, if any. */
  fd?: number;
  /** Target word (file, fd number or here-string). For here-docs: the delimiter. */
  target: Word;
  /** Here-doc body; a Word (with expansions) when the delimiter was unquoted, literal otherwise. */
  heredoc?: Word;
}

export interface Assign {
  name: string;
  append: boolean;
  value: Word | null;
  /** `a=(x y z)` */
  array?: Word[];
  pos: number;
}

export type Command =
  | { type: 'simple'; assigns: Assign[]; words: Word[]; redirs: Redir[]; pos: number }
  | { type: 'pipeline'; cmds: Command[]; negated: boolean; pos: number }
  | { type: 'andor'; op: '&&' | '||'; left: Command; right: Command; pos: number }
  | { type: 'seq'; items: { cmd: Command; background: boolean }[]; pos: number }
  | { type: 'subshell'; body: Script; redirs: Redir[]; pos: number }
  | { type: 'group'; body: Script; redirs: Redir[]; pos: number }
  | { type: 'if'; clauses: { cond: Script; body: Script }[]; elseBody?: Script; redirs: Redir[]; pos: number }
  | { type: 'loop'; kind: 'while' | 'until'; cond: Script; body: Script; redirs: Redir[]; pos: number }
  | { type: 'for'; name: string; items: Word[] | null; body: Script; redirs: Redir[]; pos: number; select?: boolean }
  | { type: 'arithfor'; raw: string; body: Script; redirs: Redir[]; pos: number }
  | { type: 'case'; word: Word; items: { patterns: Word[]; body: Script }[]; redirs: Redir[]; pos: number }
  | { type: 'func'; name: string; body: Command; pos: number }
  | { type: 'test'; words: Word[]; redirs: Redir[]; pos: number }
  | { type: 'arith'; raw: string; redirs: Redir[]; pos: number };

/** A whole command line: a sequence of commands. */
export interface Script {
  type: 'script';
  body: Command;
  pos: number;
}

export class ShellParseError extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(message);
    this.name = 'ShellParseError';
  }
}
