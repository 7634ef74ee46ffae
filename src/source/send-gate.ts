// How a mirror paces a whole file it sends: asked between two parts, and told where a send that
// stopped (the mirror paused) got to, so the rest can follow when it resumes.
import type { WholeCursor } from './file-capture.js';

/** Where a stopped whole-file mirror send got to, and the file it was reading then. */
export interface MirrorCursor {
  rel: string;
  at: WholeCursor;
  ino: number;
  size: number;
  mtimeMs: number;
  /** The seq of the last op queued for the path when the send stopped (a later one supersedes it). */
  seq: number;
}

/** Passed with a mirror step's work down to the file it sends. */
export interface SendGate {
  /** Waits while the queue is long; 'stop' when the mirror paused or ended. */
  beforePart(): Promise<'go' | 'stop'>;
  /** The send stopped here: the target keeps the parts sent in the transfer's temp file. */
  stopped(at: MirrorCursor): void;
}
