// A minimal async mutex: tasks run one after another, in call order, whatever each one's outcome.

/** Runs async tasks strictly one at a time. */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  /** Queues `task` behind every task queued before it; resolves with its result. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
