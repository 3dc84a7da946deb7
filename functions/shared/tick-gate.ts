// Schedule ticks carry no credentials (a PingSource CloudEvent type, a cron-connector header), so
// anyone who can reach the function can send them: each would ask the echo service and the API.
// One tick per minimum interval runs; the others are told when to come back.

export class TickGate {
  private lastStarted: number | undefined;

  constructor(
    private readonly minIntervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Undefined when a tick may run now (and counts it); else the seconds until the next may. */
  admit(): number | undefined {
    const now = this.now();
    const waited = this.lastStarted === undefined ? Infinity : now - this.lastStarted;
    if (waited < this.minIntervalMs) return Math.ceil((this.minIntervalMs - waited) / 1000);
    this.lastStarted = now;
    return undefined;
  }
}
