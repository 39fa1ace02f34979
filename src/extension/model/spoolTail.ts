/**
 * Follows the local audit spool (src/runtime/audit/spool.ts) from where it last stopped: a cheap read from
 * a byte position, so it can run on every file-system notification and on a 1 s timer. No vscode import.
 *
 * On start it reads only the newest `backlog` events (however long the spool is). If the spool is reset
 * under it (a state directory recreated: the newest seq goes backwards), it starts over from the newest.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { auditDir, readAudit, spoolStatus, type AuditRecord } from '../../runtime/audit/spool';

export interface TailPosition {
  seq: number;
  segment: string;
  offset: number;
}

export class SpoolTail {
  private next: TailPosition | null = null;
  private started = false;

  constructor(
    readonly stateDir: string,
    /** Events read at start (the newest ones). */
    readonly backlog = 500,
    /** Records read per batch. */
    readonly batch = 500,
  ) {}

  /** The next seq to read (0 before the first read). */
  get position(): number {
    return this.next?.seq ?? 0;
  }

  /** New records since the last call (at most `max`; call again while it returns a full batch). */
  read(max = 5000): AuditRecord[] {
    if (!this.started) {
      this.started = true;
      const last = spoolStatus(this.stateDir).lastSeq;
      this.next = last > 0 ? { seq: Math.max(1, last - this.backlog + 1), segment: '', offset: 0 } : null;
    }
    const out: AuditRecord[] = [];
    for (;;) {
      const from = this.next?.seq ?? 1;
      const opts: Parameters<typeof readAudit>[1] = { fromSeq: from, limit: Math.min(this.batch, max - out.length) };
      if (this.next && this.next.segment) opts.position = { segment: this.next.segment, offset: this.next.offset };
      const r = readAudit(this.stateDir, opts);
      if (!r.records.length) {
        if (this.next && this.next.seq > 1 && this.spoolWentBack()) continue;
        break;
      }
      out.push(...r.records);
      if (r.next) this.next = r.next;
      if (r.records.length < (opts.limit ?? this.batch) || out.length >= max) break;
    }
    return out;
  }

  /** The spool's newest seq is below what we already read: it was reset. Start over from its newest events. */
  private spoolWentBack(): boolean {
    // Cheap test first: the segment we stopped in is still there and not shorter than where we stopped.
    if (this.next?.segment) {
      try {
        if (fs.statSync(path.join(auditDir(this.stateDir), 'log', this.next.segment)).size >= this.next.offset) return false;
      } catch {
        /* gone: check below */
      }
    }
    const last = spoolStatus(this.stateDir).lastSeq;
    if (last >= (this.next?.seq ?? 1) - 1) return false;
    this.next = last > 0 ? { seq: Math.max(1, last - this.backlog + 1), segment: '', offset: 0 } : null;
    return last > 0;
  }
}
