/**
 * Deny notifications without a flood (pure; the clock is passed in): at most `burst` notifications per
 * `windowMs`. A decision that arrives while the window is full is held back and counted; when a slot frees
 * the next notification says how many were held back ("and 4 more calls were blocked").
 */
export interface NotifyDecision<T> {
  item: T;
  /** Calls held back since the last notification shown. */
  suppressed: number;
}

export class NotificationLimiter<T> {
  private shown: number[] = [];
  private held = 0;
  private latest: T | undefined;

  constructor(
    readonly burst = 2,
    readonly windowMs = 15_000,
  ) {}

  /** Offer an item at `now`: returns what to show, or undefined (held back). */
  offer(item: T, now: number): NotifyDecision<T> | undefined {
    this.shown = this.shown.filter((t) => now - t < this.windowMs);
    if (this.shown.length >= this.burst) {
      this.held++;
      this.latest = item;
      return undefined;
    }
    this.shown.push(now);
    const suppressed = this.held;
    this.held = 0;
    this.latest = undefined;
    return { item, suppressed };
  }

  /** When held-back items are waiting and a slot is free at `now`: the newest of them, once. */
  flush(now: number): NotifyDecision<T> | undefined {
    if (!this.held || this.latest === undefined) return undefined;
    this.shown = this.shown.filter((t) => now - t < this.windowMs);
    if (this.shown.length >= this.burst) return undefined;
    this.shown.push(now);
    const out = { item: this.latest, suppressed: this.held - 1 };
    this.held = 0;
    this.latest = undefined;
    return out;
  }

  /** Milliseconds until a slot frees (0 when one is free). */
  nextSlotIn(now: number): number {
    this.shown = this.shown.filter((t) => now - t < this.windowMs);
    if (this.shown.length < this.burst) return 0;
    return Math.max(0, this.windowMs - (now - this.shown[0]!));
  }

  get pending(): number {
    return this.held;
  }
}
