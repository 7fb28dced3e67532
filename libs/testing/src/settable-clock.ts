/**
 * A clock that follows real time plus an offset the test moves forward, for protocol rules that
 * are about time (poll intervals, expiry) without sleeping. Structurally a domain `Clock`.
 */
export class SettableClock {
  private offsetMs = 0;

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }
}
