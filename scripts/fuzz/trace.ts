// The run's trace (logs/frames.log): each round and a summary of each frame it sent, so a
// failing round can be read back and replayed from its seed.
import { createWriteStream, type WriteStream } from 'node:fs';

let out: WriteStream | null = null;

/** Starts tracing into `file`. */
export function traceTo(file: string): void {
  out = createWriteStream(file, { flags: 'a' });
}

/** Ends the trace. */
export function traceEnd(): Promise<void> {
  const o = out;
  out = null;
  return new Promise((r) => (o ? o.end(() => r()) : r()));
}

/** One line of the trace. */
export function trace(line: string): void {
  out?.write(`${new Date().toISOString()} ${line}\n`);
}

/** A frame as the trace shows it: type, length, and its header when it is readable. */
export function traceFrame(b: Buffer): void {
  if (!out) return;
  if (b.length < 9) return trace(`  bytes ${b.toString('hex').slice(0, 64)}`);
  const type = b.readUInt8(4);
  const hl = b.readUInt32BE(5);
  let head = type & 0x80 ? '(compressed)' : b.subarray(9, 9 + Math.min(hl, 300)).toString('utf8');
  if (hl > 300) head += '…';
  trace(`  frame ${type} len ${b.readUInt32BE(0)} body ${Math.max(0, b.length - 9 - hl)}: ${head}`);
}
