// Keeps the last lines of a program's output in bounded memory, whatever it prints.
import { StringDecoder } from 'node:string_decoder';

/** Longest line kept, in characters; the rest of a longer line is dropped and marked. */
export const MAX_TAIL_LINE_CHARS = 4096;

const TRUNCATED_MARK = ' …[line truncated]';

/** One output stream's undecoded bytes and its unfinished line. */
class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private truncated = false;

  constructor(private readonly emit: (line: string) => void) {}

  write(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl === -1) break;
      this.append(text.slice(start, nl));
      this.flushLine();
      start = nl + 1;
    }
    this.append(text.slice(start));
  }

  end(): void {
    this.append(this.decoder.end());
    if (this.partial.length > 0 || this.truncated) this.flushLine();
  }

  private append(text: string): void {
    if (this.truncated || text.length === 0) return;
    const room = MAX_TAIL_LINE_CHARS - this.partial.length;
    if (text.length > room) {
      this.partial += text.slice(0, room);
      this.truncated = true;
    } else {
      this.partial += text;
    }
  }

  private flushLine(): void {
    const line = this.partial.endsWith('\r') ? this.partial.slice(0, -1) : this.partial;
    this.emit(this.truncated ? line + TRUNCATED_MARK : line);
    this.partial = '';
    this.truncated = false;
  }
}

/** The last `maxLines` lines written to any of its streams, in arrival order. */
export class OutputTail {
  private readonly lines: string[] = [];
  private readonly splitters = new Map<string, LineSplitter>();
  /** Lines dropped from the front because the tail was full. */
  dropped = 0;

  constructor(private readonly maxLines: number) {}

  /** Feeds a chunk of the named stream (stdout, stderr, ...). */
  write(stream: string, chunk: Buffer | string): void {
    let splitter = this.splitters.get(stream);
    if (!splitter) {
      splitter = new LineSplitter((line) => this.push(line));
      this.splitters.set(stream, splitter);
    }
    splitter.write(chunk);
  }

  /** Flushes unfinished lines and returns the kept lines. */
  finish(): string[] {
    for (const splitter of this.splitters.values()) splitter.end();
    this.splitters.clear();
    return [...this.lines];
  }

  private push(line: string): void {
    if (this.maxLines <= 0) {
      this.dropped++;
      return;
    }
    this.lines.push(line);
    if (this.lines.length > this.maxLines) {
      this.lines.shift();
      this.dropped++;
    }
  }
}
