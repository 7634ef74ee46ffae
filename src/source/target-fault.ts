// The target's report that it cannot apply (a FAULT frame: a full disk, a read-only file system):
// kept, shown in status and logged until the target acknowledges the seq that failed.
import { log } from '../shared/log.js';
import type { FaultHeader } from '../protocol/messages.js';

/** One link's view of the target's last fault. */
export class TargetFaultState {
  /** The fault in force, or null. */
  fault: FaultHeader | null = null;

  constructor(private readonly name: () => string) {}

  /** The fault as status and logs show it (null: none). */
  get text(): string | null {
    return this.fault ? `target: ${this.fault.message}` : null;
  }

  /** The target reported a fault; a new one (not the same again, on a retry) is logged. */
  report(fault: FaultHeader): void {
    const before = this.text;
    this.fault = fault;
    if (this.text !== before) log.warn(`link ${this.name()}: ${this.text}`);
  }

  /** The target acked `seq`: true when that clears the fault (the failed seq is now durable). */
  acked(seq: number): boolean {
    if (!this.fault || seq < this.fault.seq) return false;
    log.info(`link ${this.name()}: the target applies again (acked seq ${seq})`);
    this.fault = null;
    return true;
  }

  /** Forgets the fault (a new stream: its seqs are not the ones that failed). */
  clear(): void {
    this.fault = null;
  }
}
