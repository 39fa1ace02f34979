/**
 * Watches the audit spool and hands new records to a callback within a second of the hook's append:
 * a file-system watch on the spool's log directory (immediate, debounced by 50 ms) plus a 1 s poll as the
 * fallback for file systems without notifications and for the directory appearing later. No vscode import.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AuditRecord } from '../../runtime/audit/spool';
import { SpoolTail } from '../model/spoolTail';

export interface SpoolWatcherOptions {
  backlog?: number;
  pollMs?: number;
  onError?: (e: unknown) => void;
}

export class SpoolWatcher {
  private tail: SpoolTail;
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private watcher: fs.FSWatcher | undefined;
  private watchedDir: string | undefined;
  private running = false;
  private lastError = '';

  constructor(
    private stateDir: string,
    private readonly onRecords: (records: AuditRecord[], initial: boolean) => void,
    private readonly opts: SpoolWatcherOptions = {},
  ) {
    this.tail = new SpoolTail(stateDir, opts.backlog ?? 500);
  }

  get dir(): string {
    return this.stateDir;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.readNow(true);
    const every = this.opts.pollMs ?? 1000;
    this.timer = setInterval(() => this.readNow(false), every);
    this.timer.unref?.();
  }

  /** Follow another state directory (the hook's --home changed): start over from its newest events. */
  setStateDir(stateDir: string): void {
    if (stateDir === this.stateDir) return;
    this.stateDir = stateDir;
    this.tail = new SpoolTail(stateDir, this.opts.backlog ?? 500);
    this.unwatch();
    if (this.running) this.readNow(true);
  }

  /** Read what is new now (also called by the watch). */
  readNow(initial = false): void {
    try {
      let first = initial;
      for (;;) {
        const recs = this.tail.read(2000);
        if (recs.length) this.onRecords(recs, first);
        first = false;
        if (recs.length < 2000) break;
      }
      this.lastError = '';
      this.ensureWatch();
    } catch (e) {
      const msg = (e as Error).message;
      if (msg !== this.lastError) this.opts.onError?.(e);
      this.lastError = msg;
    }
  }

  private ensureWatch(): void {
    const dir = path.join(this.stateDir, 'audit', 'log');
    if (this.watcher && this.watchedDir === dir) return;
    if (!fs.existsSync(dir)) return;
    this.unwatch();
    try {
      this.watcher = fs.watch(dir, { persistent: false }, () => {
        if (this.debounce) return;
        this.debounce = setTimeout(() => {
          this.debounce = undefined;
          this.readNow(false);
        }, 50);
      });
      this.watcher.on('error', () => this.unwatch());
      this.watchedDir = dir;
    } catch {
      // no notifications here: the poll covers it
      this.watcher = undefined;
    }
  }

  private unwatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.watchedDir = undefined;
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    this.timer = undefined;
    this.debounce = undefined;
    this.unwatch();
  }
}
