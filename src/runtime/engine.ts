/**
 * The decision engine used by the hook and the CLI: one policy, compiled once per project root, and a
 * machine context. `decide` is analysis (with file-system probing for symlinks and globs) plus the pure
 * evaluation.
 */
import { compilePolicy, type CompiledPolicy } from '../core/evaluate/compile';
import { evaluate } from '../core/evaluate/evaluate';
import type { ExceptionContext } from '../core/exceptions/match';
import { extractFacts } from '../core/facts/extract';
import { normalizeAbs, toPosix, type FsProbe } from '../core/paths/paths';
import type { PolicyDoc } from '../core/policy/schema';
import type { Decision, Facts, HookInput } from '../core/types';
import { analysisEnv, compileEnv, type MachineContext } from './context';

export interface Evaluation {
  decision: Decision;
  facts: Facts;
}

export class Engine {
  private readonly compiled = new Map<string, CompiledPolicy>();

  constructor(
    readonly policy: PolicyDoc,
    readonly machine: MachineContext,
    private readonly fs: FsProbe | undefined,
    /** CLAUDE_PROJECT_DIR when the hook knows it. */
    private readonly projectDir?: string,
  ) {}

  workspaceFor(input: HookInput): string {
    const raw = this.projectDir || (typeof input.cwd === 'string' ? input.cwd : '') || this.machine.home;
    const p = toPosix(raw, this.machine.platform);
    return p.startsWith('/') ? normalizeAbs(p) : this.machine.home;
  }

  compiledFor(workspace: string): CompiledPolicy {
    let c = this.compiled.get(workspace);
    if (!c) {
      c = compilePolicy(this.policy, compileEnv(this.machine, workspace));
      this.compiled.set(workspace, c);
    }
    return c;
  }

  /**
   * `exceptions`: the verified exception grants that may apply to this call (src/runtime/grants.ts
   * `activeGrants(…).contextFor(input)`); without them the policy alone decides.
   */
  decide(input: HookInput, deadline?: number, exceptions?: ExceptionContext): Evaluation {
    const workspace = this.workspaceFor(input);
    const facts = extractFacts(input, analysisEnv(this.machine, workspace, this.fs, deadline));
    const decision = evaluate(this.compiledFor(workspace), facts, exceptions);
    return { decision, facts };
  }
}
