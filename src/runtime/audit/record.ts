/**
 * One call per hook run: build the event for a decision or a recorded hook event and append it durably.
 * What the hook runner uses; everything here is synchronous and loads no schema library.
 */
import * as os from 'node:os';
import {
  buildDecisionEvent,
  buildHookEvent,
  type AuditContext,
  type DecisionMeta,
} from '../../core/audit/event';
import type { Decision, HookInput } from '../../core/types';
import { loadDeviceId } from './device';
import { appendAuditEvent, AuditError, type AppendOptions, type AppendResult } from './spool';

export interface AuditSetup {
  /** The state directory (MachineContext.stateDir). */
  stateDir: string;
  /** The OS user (MachineContext.user). */
  user: string;
  /** Agent Warden's version. */
  clientVersion: string;
  /** Claude Code's version, when known. */
  agentVersion?: string | null;
  /** Policy mask: JSON pointers into tool_input to erase. */
  erase?: readonly string[];
  /** Spool options (cap, segment size, lock timeout). */
  spool?: AppendOptions;
  /** Event time (default now). */
  now?: number;
}

/** The builder context for this machine: device id (created on first use), user, host, version, OS. */
export function auditContext(setup: AuditSetup): AuditContext {
  let deviceId: string;
  try {
    deviceId = loadDeviceId(setup.stateDir);
  } catch (e) {
    throw new AuditError('IO', `cannot load the device id: ${(e as Error).message}`);
  }
  const ctx: AuditContext = {
    actor: { user: setup.user, deviceId, host: os.hostname() },
    client: { version: setup.clientVersion, os: `${process.platform}-${process.arch}` },
    agentVersion: setup.agentVersion ?? null,
  };
  if (setup.erase) ctx.erase = setup.erase;
  if (setup.now !== undefined) ctx.now = setup.now;
  if (setup.spool?.maxEventBytes !== undefined) ctx.maxEventBytes = setup.spool.maxEventBytes;
  return ctx;
}

/**
 * Record a PreToolUse decision. Returns the stored event's id/seq/hash (put the id in the decision reason).
 * Throws AuditError; the hook must then answer deny ("audit unavailable").
 */
export function recordDecision(setup: AuditSetup, input: HookInput, decision: Decision, meta: DecisionMeta): AppendResult {
  return appendAuditEvent(setup.stateDir, buildDecisionEvent(input, decision, auditContext(setup), meta), setup.spool);
}

/** Record a non-deciding hook event (PostToolUse, UserPromptSubmit, SessionStart, ConfigChange, …). Throws AuditError. */
export function recordHookEvent(setup: AuditSetup, input: HookInput): AppendResult {
  return appendAuditEvent(setup.stateDir, buildHookEvent(input, auditContext(setup)), setup.spool);
}
