// A few MiB of real blocks kept in the connection's state dir and given back when that disk
// fills. The index shares the disk with the journal: once the journal has taken the last block,
// recording the target's acks (an index commit, then the journal's ack cursor) failed too, the
// queue never drained, and the queue never reset to free its space — a deadlock with the data
// safe but stuck. Released, the reserve carries those commits until the drained journal is reset
// (the way ext4 keeps blocks for root, or a database its emergency WAL space).
import { constants as C, promises as fsp } from 'node:fs';
import path from 'node:path';
import { log } from '../shared/log.js';

/** Bytes kept: SQLite's WAL checkpoints at about 4 MiB, and the connection's files are small. */
export const RESERVE_BYTES = 8 * 1024 * 1024;
const FILE = 'space-reserve';

/** The reserve of one connection's state dir. */
export class SpaceReserve {
  private held = false;

  constructor(
    private readonly dir: string,
    private readonly bytes = RESERVE_BYTES,
  ) {}

  /** The reserve file. */
  get file(): string {
    return path.join(this.dir, FILE);
  }

  /** True while the reserve's blocks are held. */
  get holding(): boolean {
    return this.held;
  }

  /**
   * Takes the blocks (written, not sparse, and synced, so they are really allocated). On a disk
   * without room it holds nothing and says so: the queue still stops safely, but may then need
   * space freed by hand before it can drain.
   */
  async take(name: string): Promise<void> {
    if (this.held) return;
    try {
      await fill(this.file, this.bytes);
      this.held = true;
    } catch (err) {
      await fsp.rm(this.file, { force: true }).catch(() => undefined);
      log.warn(
        `${name}: cannot keep ${this.bytes / (1024 * 1024)} MiB in reserve in ${this.dir} (${(err as Error).message}); a full disk there may need space freed by hand`,
      );
    }
  }

  /** Gives the blocks back to the file system (the disk is full); true when there were some. */
  async release(): Promise<boolean> {
    const had = this.held;
    this.held = false;
    await fsp.rm(this.file, { force: true });
    return had;
  }
}

async function fill(file: string, bytes: number): Promise<void> {
  const st = await fsp.stat(file).catch(() => null);
  if (st?.isFile() && st.blocks * 512 >= bytes) return; // kept from the last run
  const fh = await fsp.open(file, C.O_WRONLY | C.O_CREAT | C.O_TRUNC, 0o600);
  try {
    const zeros = Buffer.alloc(1024 * 1024);
    for (let at = 0; at < bytes; at += zeros.length) {
      const n = Math.min(zeros.length, bytes - at);
      const { bytesWritten } = await fh.write(zeros, 0, n, at);
      if (bytesWritten !== n) throw new Error('short write (no space left)');
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}
