/**
 * The one clock tests judge time by: it stands still until the test moves it, so a verdict on
 * time (a deadline met, a rate measured) depends on what the test says costs time, not on how
 * loaded the machine is. Inject `now` where the code under test reads the time.
 */
export class TestClock {
  private ms: number;

  constructor(startMs = Date.now()) {
    this.ms = startMs;
  }

  /** epoch ms, as Date.now() (a bound function: pass it as it is) */
  readonly now = (): number => this.ms;

  advance(ms: number): void {
    this.ms += ms;
  }

  /** Moves the clock to `ms` (never back: a clock that runs backwards would break measured rates). */
  catchUp(ms: number): void {
    this.ms = Math.max(this.ms, ms);
  }
}
