// A level-free wake-up: waiters sleep until the next notify() (or their timeout).

/** Many waiters, woken together by notify(). */
export class Signal {
  private waiters: Array<() => void> = [];

  /** Resolves at the next notify(), or after `timeoutMs` when given. */
  wait(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      this.waiters.push(done);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== done);
          resolve();
        }, timeoutMs);
      }
    });
  }

  notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
