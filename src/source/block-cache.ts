// Block hashes of the content last sent for each file, so a change sends only changed blocks.
// Bounded: least recently used entries are dropped past a byte budget; a dropped file is simply
// sent whole on its next change.

/** Hashes of one file's blocks as last sent. */
export interface BlockHashes {
  blockSize: number;
  size: number;
  hashes: BigUint64Array;
}

/** LRU map of relative path -> block hashes, bounded by total hash bytes. */
export class BlockCache {
  private map = new Map<string, BlockHashes>();
  private bytes = 0;

  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  get(rel: string): BlockHashes | undefined {
    const v = this.map.get(rel);
    if (v) {
      this.map.delete(rel);
      this.map.set(rel, v);
    }
    return v;
  }

  set(rel: string, v: BlockHashes): void {
    this.delete(rel);
    this.map.set(rel, v);
    this.bytes += v.hashes.byteLength;
    while (this.bytes > this.maxBytes && this.map.size > 1) {
      const oldest = this.map.keys().next().value as string;
      this.delete(oldest);
    }
  }

  delete(rel: string): void {
    const v = this.map.get(rel);
    if (!v) return;
    this.bytes -= v.hashes.byteLength;
    this.map.delete(rel);
  }

  /** Renames an entry (and those below it, for directory renames). */
  move(from: string, to: string): void {
    const prefix = from + '/';
    for (const k of [...this.map.keys()]) {
      if (k === from || k.startsWith(prefix)) {
        const v = this.map.get(k) as BlockHashes;
        this.delete(k);
        this.set(to + k.slice(from.length), v);
      }
    }
  }

  deleteTree(rel: string): void {
    const prefix = rel + '/';
    for (const k of [...this.map.keys()]) if (k === rel || k.startsWith(prefix)) this.delete(k);
  }
}
