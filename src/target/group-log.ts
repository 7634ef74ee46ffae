// The staging log of a crash-mode replica: every op of the open group (and of committed groups not
// yet applied) as received, one checksummed record each, so a group can be applied again from
// here after a kill -9 (group-stage.ts). A record: u32 length, u32 crc32, then u32 header length,
// the op's checked header as JSON ({seq, kind, meta}) and its body.
import { promises as fsp, constants as C } from 'node:fs';
import { crc32 } from 'node:zlib';
import type { IncomingOp } from './applier.js';

/** Where one record lies in the log. */
interface Entry {
  seq: number;
  off: number;
  len: number;
}

const HEAD = 8;

/** Encodes one op as a log record. */
function encode(op: IncomingOp): Buffer {
  const { body, ...header } = op;
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const rest = Buffer.alloc(4 + json.length + body.length);
  rest.writeUInt32LE(json.length, 0);
  json.copy(rest, 4);
  body.copy(rest, 4 + json.length);
  const head = Buffer.alloc(HEAD);
  head.writeUInt32LE(rest.length, 0);
  head.writeUInt32LE(crc32(rest), 4);
  return Buffer.concat([head, rest]);
}

/** Decodes a record's payload (after its length and checksum). */
function decode(rest: Buffer): IncomingOp {
  const n = rest.readUInt32LE(0);
  const header = JSON.parse(rest.subarray(4, 4 + n).toString('utf8')) as Omit<IncomingOp, 'body'>;
  return { ...header, body: Buffer.from(rest.subarray(4 + n)) } as IncomingOp;
}

/** One replica's staging log. */
export class GroupLog {
  private entries: Entry[] = [];
  private size = 0;

  private constructor(
    private readonly file: string,
    private fh: fsp.FileHandle,
  ) {}

  /** Opens the log, keeps its whole records and cuts a torn tail (a kill in mid-append). */
  static async open(file: string): Promise<GroupLog> {
    const fh = await fsp.open(file, C.O_RDWR | C.O_CREAT, 0o600);
    const log = new GroupLog(file, fh);
    const total = (await fh.stat()).size;
    const head = Buffer.alloc(HEAD);
    let off = 0;
    while (off + HEAD <= total) {
      await fh.read(head, 0, HEAD, off);
      const len = head.readUInt32LE(0);
      if (off + HEAD + len > total) break;
      const rest = Buffer.alloc(len);
      await fh.read(rest, 0, len, off + HEAD);
      if (crc32(rest) !== head.readUInt32LE(4)) break;
      log.entries.push({ seq: decode(rest).seq, off, len: HEAD + len });
      off += HEAD + len;
    }
    if (off !== total) await fh.truncate(off);
    log.size = off;
    return log;
  }

  /** The highest seq held (0 when empty). */
  get lastSeq(): number {
    return this.entries.at(-1)?.seq ?? 0;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.size;
  }

  /** Appends one op (durable only after sync). */
  async append(op: IncomingOp): Promise<void> {
    const rec = encode(op);
    await this.fh.write(rec, 0, rec.length, this.size);
    this.entries.push({ seq: op.seq, off: this.size, len: rec.length });
    this.size += rec.length;
  }

  /** Makes every appended record durable. */
  async sync(): Promise<void> {
    await this.fh.datasync();
  }

  /** Reads the ops with `from` < seq <= `to`, in order. */
  async *read(from: number, to: number): AsyncGenerator<IncomingOp> {
    for (const e of this.entries) {
      if (e.seq <= from) continue;
      if (e.seq > to) return;
      const buf = Buffer.alloc(e.len);
      await this.fh.read(buf, 0, e.len, e.off);
      yield decode(buf.subarray(HEAD));
    }
  }

  /** Drops the records up to `seq` (applied): the rest is copied to a new log put in place. */
  async dropThrough(seq: number): Promise<void> {
    const keep = this.entries.filter((e) => e.seq > seq);
    if (keep.length === this.entries.length) return;
    if (keep.length === 0) {
      await this.fh.truncate(0);
      await this.fh.datasync();
      this.entries = [];
      this.size = 0;
      return;
    }
    const first = keep[0] as Entry;
    const tail = Buffer.alloc(this.size - first.off);
    await this.fh.read(tail, 0, tail.length, first.off);
    const tmp = `${this.file}.new`;
    await fsp.writeFile(tmp, tail, { mode: 0o600, flush: true });
    await fsp.rename(tmp, this.file);
    await this.fh.close();
    this.fh = await fsp.open(this.file, C.O_RDWR);
    this.entries = keep.map((e) => ({ ...e, off: e.off - first.off }));
    this.size = tail.length;
  }

  /** Empties the log (a new stream). */
  async clear(): Promise<void> {
    await this.dropThrough(Number.MAX_SAFE_INTEGER);
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
