// Work repeated on an interval, one run at a time: a slow run (a chain round trip) is not followed
// by a backlog of them, and a failing run is logged when its error changes, not on every run.
import { FailureLog, type Logger } from "./log.js";

export class Ticker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly failures: FailureLog;

  constructor(
    private readonly work: () => Promise<void>,
    log: Logger,
    what: string,
  ) {
    this.failures = new FailureLog(log, what);
  }

  start(everyMs: number): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.work()
        .then(
          () => this.failures.succeeded(),
          (error: unknown) => this.failures.failed(error),
        )
        .finally(() => {
          this.running = undefined;
        });
    }, everyMs);
  }

  /** Stops the interval and waits for the run in progress, if any. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
