// A crash-safe 64-bit counter in a tiny file with two checksummed slots written alternately
// (the LMDB meta-page trick): a torn write can only damage the slot being written, so the other
// slot still holds the previous value. One fdatasync per update, no rename, no directory fsync.
import { promises as fsp, constants as C } from 'node:fs';
import { crc32 } from 'node:zlib';

const SLOT = 32; // bytes: magic u32, generation u32, value u64, tag (u64, free for callers), crc u32, pad
const MAGIC = 0x534d5243; // "SMRC"

/** One durable counter (applied seq on the target, acked seq on the source) plus a 64-bit tag. */
export class DurableCounter {
  private generation = 0;
  private constructor(
    private readonly fh: fsp.FileHandle,
    private current: { value: number; tag: number },
  ) {}

  /** Opens (creating if needed) the counter file and reads the newest valid slot. */
  static async open(file: string): Promise<DurableCounter> {
    const fh = await fsp.open(file, C.O_RDWR | C.O_CREAT, 0o600);
    const buf = Buffer.alloc(SLOT * 2);
    await fh.read(buf, 0, buf.length, 0);
    let best = { gen: -1, value: 0, tag: 0 };
    for (let i = 0; i < 2; i++) {
      const s = buf.subarray(i * SLOT, (i + 1) * SLOT);
      if (s.readUInt32LE(0) !== MAGIC) continue;
      if (crc32(s.subarray(0, 24)) !== s.readUInt32LE(24)) continue;
      const gen = s.readUInt32LE(4);
      if (gen > best.gen)
        best = { gen, value: Number(s.readBigUInt64LE(8)), tag: Number(s.readBigUInt64LE(16)) };
    }
    const c = new DurableCounter(fh, { value: best.value, tag: best.tag });
    c.generation = Math.max(0, best.gen);
    return c;
  }

  get value(): number {
    return this.current.value;
  }

  get tag(): number {
    return this.current.tag;
  }

  /** Durably records a new value (and optionally a new tag). */
  async set(value: number, tag = this.current.tag): Promise<void> {
    this.generation++;
    const s = Buffer.alloc(SLOT);
    s.writeUInt32LE(MAGIC, 0);
    s.writeUInt32LE(this.generation >>> 0, 4);
    s.writeBigUInt64LE(BigInt(value), 8);
    s.writeBigUInt64LE(BigInt(tag), 16);
    s.writeUInt32LE(crc32(s.subarray(0, 24)), 24);
    await this.fh.write(s, 0, SLOT, (this.generation % 2) * SLOT);
    await this.fh.datasync();
    this.current = { value, tag };
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
