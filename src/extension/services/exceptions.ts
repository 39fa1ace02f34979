/**
 * Exception requests from the editor, after they are sent: kept in the extension's global state (they
 * survive a reload), followed on the server with long polls while pending, the signed grant installed
 * where the hook reads it when approved (with a notification), and expiry handled (notification, view
 * update). Grants reach the hook as the server's signed grant list (src/runtime/grants.ts): on approval the
 * list is fetched and verified at once; a revoked or expired grant drops out of it at the next fetch.
 */
import * as vscode from 'vscode';
import { ServerClient, type RequestState } from '../adapters/server';
import { deferred } from '../lazy';
import { Disposable, toDisposable } from '../lifecycle';
import { errorText } from '../log';
import type { ExceptionDraft } from '../model/exceptionForm';
import { advance, exceptionSummary, inForce, type ExceptionRecord } from '../model/exceptions';
import { clockTime } from '../model/format';
import type { Warden } from '../warden';

const KEY = 'agentWarden.exceptions';
const MAX_KEPT = 200;

export class ExceptionTracker extends Disposable {
  private readonly polls = new Map<string, AbortController>();
  private timer: NodeJS.Timeout | undefined;
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this.changed.event;

  constructor(private readonly warden: Warden) {
    super();
    this._register(toDisposable(() => {
      for (const c of this.polls.values()) c.abort();
      this.polls.clear();
      if (this.timer) clearTimeout(this.timer);
    }));
  }

  all(): ExceptionRecord[] {
    return this.warden.context.globalState.get<ExceptionRecord[]>(KEY) ?? [];
  }

  get(id: string): ExceptionRecord | undefined {
    return this.all().find((r) => r.requestId === id);
  }

  /** The newest record for a decision (by its audit event id). */
  forEvent(eventId: string): ExceptionRecord | undefined {
    return this.all().filter((r) => r.sourceEventId === eventId).sort((a, b) => b.createdAt - a.createdAt)[0];
  }

  counts(now = Date.now()): { pending: number; active: number } {
    const rs = this.all();
    return { pending: rs.filter((r) => r.status === 'pending').length, active: rs.filter((r) => inForce(r, now)).length };
  }

  start(): void {
    this.tick();
    for (const r of this.all()) if (r.status === 'pending') this.follow(r);
  }

  private async save(records: ExceptionRecord[]): Promise<void> {
    const kept = records.sort((a, b) => b.createdAt - a.createdAt).slice(0, MAX_KEPT);
    await this.warden.context.globalState.update(KEY, kept);
    this.changed.fire();
  }

  private async update(id: string, fn: (r: ExceptionRecord) => ExceptionRecord): Promise<ExceptionRecord | undefined> {
    const rs = this.all();
    const i = rs.findIndex((r) => r.requestId === id);
    if (i < 0) return undefined;
    rs[i] = fn(rs[i]!);
    await this.save(rs);
    return rs[i];
  }

  private async client(server: string): Promise<ServerClient> {
    const token = await this.warden.deviceToken();
    if (!token) throw new Error('this machine is not enrolled with the server (no device token): run "Agent Warden: Set Up" with an enrollment token');
    return new ServerClient(server, token);
  }

  /** Fetch and verify the signed grant list now (what the hook reads). Returns the grant ids it holds. */
  async syncGrants(): Promise<string[]> {
    const { syncGrants } = deferred();
    const r = await syncGrants(this.warden.stateDir, {});
    for (const x of r.rejected) this.warden.log.warn(`grant ${x.grantId ?? `#${x.index}`} ignored: ${x.reason}`);
    return r.grants.map((g) => g.grantId);
  }

  /** Send a request; returns the tracked record (pending, or already decided by an auto-approval). */
  async submit(draft: ExceptionDraft): Promise<ExceptionRecord> {
    const server = this.warden.serverUrl;
    if (!server) throw new Error('Agent Warden is not connected to a server: exceptions are approved there');
    const c = await this.client(server);
    const st = await c.requestException(draft);
    const now = Date.now();
    const rec: ExceptionRecord = {
      requestId: st.id,
      server,
      status: 'pending',
      ruleIds: draft.ruleIds,
      tool: draft.tool,
      matcher: draft.matcher,
      durationMs: draft.durationMs,
      justification: draft.justification,
      sourceEventId: draft.sourceEventId,
      createdAt: now,
      updatedAt: now,
      ...(st.requestExpiresAt ? { requestExpiresAt: st.requestExpiresAt } : {}),
    };
    await this.save([rec, ...this.all().filter((r) => r.requestId !== st.id)]);
    this.warden.log.info(`exception request ${st.id} sent: ${exceptionSummary(rec)}`);
    await this.apply(rec, st);
    const now2 = this.get(st.id) ?? rec;
    if (now2.status === 'pending') this.follow(now2);
    return now2;
  }

  async cancel(id: string): Promise<void> {
    const r = this.get(id);
    if (!r) return;
    if (r.status === 'pending') {
      try {
        await (await this.client(r.server)).cancelException(id);
      } catch (e) {
        this.warden.log.warn(`cancel ${id}: ${errorText(e)}`);
      }
    }
    this.polls.get(id)?.abort();
    await this.update(id, (x) => ({ ...x, status: 'cancelled', updatedAt: Date.now() }));
  }

  /** Ask the server once (the "refresh" action and tests). */
  async check(id: string): Promise<ExceptionRecord | undefined> {
    const r = this.get(id);
    if (!r) return undefined;
    const st = await (await this.client(r.server)).exceptionState(id, 0);
    await this.apply(r, st);
    return this.get(id);
  }

  /** Long-poll the server while the request is pending. */
  private follow(r: ExceptionRecord): void {
    if (this.polls.has(r.requestId) || this.isDisposed) return;
    const ctl = new AbortController();
    this.polls.set(r.requestId, ctl);
    const loop = async (): Promise<void> => {
      let failures = 0;
      while (!ctl.signal.aborted) {
        const cur = this.get(r.requestId);
        if (!cur || cur.status !== 'pending') break;
        try {
          const c = await this.client(cur.server);
          const st = await c.exceptionState(cur.requestId, 25, ctl.signal);
          failures = 0;
          await this.apply(cur, st);
        } catch (e) {
          if (ctl.signal.aborted) break;
          failures++;
          this.warden.log.debug(`exception ${r.requestId}: ${errorText(e)}`);
          await new Promise((res) => setTimeout(res, Math.min(60_000, 1000 * 2 ** Math.min(failures, 6))));
        }
        // a server without long-poll answers at once: do not spin
        await new Promise((res) => setTimeout(res, 1000));
      }
      this.polls.delete(r.requestId);
    };
    void loop();
  }

  /** Record what the server says; install the grant on approval. */
  private async apply(r: ExceptionRecord, st: RequestState): Promise<void> {
    if (st.status === r.status && !(st.status === 'approved' && !r.grant?.installed)) {
      if (st.requestExpiresAt && st.requestExpiresAt !== r.requestExpiresAt) await this.update(r.requestId, (x) => ({ ...x, requestExpiresAt: st.requestExpiresAt }));
      return;
    }
    const now = Date.now();
    if (st.status === 'approved') {
      // The grant reaches the hook through the signed grant list: fetch it now.
      let installed = false;
      let held: string[] = [];
      try {
        held = await this.syncGrants();
        installed = st.grantId ? held.includes(st.grantId) : held.length > 0;
        this.warden.log.info(`exception ${r.requestId} approved; grant list fetched (${held.length} grant${held.length === 1 ? '' : 's'} for this device${st.grantId ? `, ${installed ? 'including' : 'NOT including'} ${st.grantId}` : ''})`);
      } catch (e) {
        this.warden.log.error(`exception ${r.requestId}: cannot fetch the grant list: ${errorText(e)}`);
      }
      const expiresAt = st.expiresAt ?? now + r.durationMs;
      const updated = await this.update(r.requestId, (x) => ({
        ...x,
        status: 'approved',
        updatedAt: now,
        grant: { grantId: st.grantId ?? r.requestId, expiresAt, installed, ...(st.approvedBy ? { approvedBy: st.approvedBy } : {}) },
      }));
      this.tick();
      if (updated) {
        const who = st.approvedBy?.length ? ` by ${st.approvedBy.join(', ')}` : '';
        const msg = installed
          ? `Exception approved${who}: ${exceptionSummary(updated)}, until ${clockTime(expiresAt)}. Ask the agent to run the call again.`
          : `Exception approved${who}, but its grant is not on this machine yet (see the log); it is fetched again at the next sync.`;
        void (installed ? vscode.window.showInformationMessage(msg, 'Show Decisions') : vscode.window.showWarningMessage(msg, 'Show Log')).then((a) => {
          if (a === 'Show Decisions') void vscode.commands.executeCommand('agentWarden.showDecisions');
          if (a === 'Show Log') this.warden.log.show();
        });
      }
    } else {
      await this.update(r.requestId, (x) => ({ ...x, status: st.status, updatedAt: now, ...(st.message ? { message: st.message } : {}), ...(st.requestExpiresAt ? { requestExpiresAt: st.requestExpiresAt } : {}) }));
      if (st.status === 'denied' || st.status === 'expired' || st.status === 'revoked') {
        void vscode.window.showWarningMessage(`Exception request ${st.status}${st.message ? `: ${st.message}` : ''} (${exceptionSummary(r)})`);
      }
    }
  }

  /** Expire what is past its time, and wake up at the next expiry. */
  private tick(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.isDisposed) return;
    const now = Date.now();
    const rs = this.all();
    let changed = false;
    const next = rs.map((r) => {
      const a = advance(r, now);
      if (a !== r) {
        changed = true;
        if (a.status === 'expired' && r.status === 'approved') {
          void vscode.window.showInformationMessage(`An Agent Warden exception expired: ${exceptionSummary(r)}.`);
        }
      }
      return a;
    });
    if (changed) void this.save(next);
    const wake = next.flatMap((r) => (r.status === 'approved' && r.grant ? [r.grant.expiresAt] : r.status === 'pending' && r.requestExpiresAt ? [r.requestExpiresAt] : [])).filter((t) => t > now);
    if (wake.length) {
      this.timer = setTimeout(() => this.tick(), Math.min(Math.min(...wake) - now + 50, 2 ** 31 - 1));
      this.timer.unref?.();
    }
  }
}
