// Human rendering of connection status.
import { formatBytes } from '../shared/units.js';
import type { ConnectionStatus } from '../source/connection.js';

/** A few lines describing one connection. */
export function statusLines(s: ConnectionStatus): string[] {
  const m = s.mirror;
  const mirror =
    m.state === 'idle'
      ? 'idle'
      : `${m.state}${m.mode ? ` (${m.mode})` : ''} ${m.filesDone}/${m.filesTotal} files, ${formatBytes(m.bytesDone)}/${formatBytes(m.bytesTotal)}, ${m.percent}%`;
  return [
    `${s.name}: ${s.path} -> ${s.target} ${s.targetPath}`,
    `  link ${s.link}, replication ${s.replication}, transmit ${s.transmit}, target ${s.targetState}`,
    `  mirror ${mirror}`,
    `  queue ${s.queue.ops} ops, ${formatBytes(s.queue.bytes)}; captured seq ${s.lastCapturedSeq}, acked seq ${s.lastAckedSeq}`,
    `  sent ${formatBytes(s.sent.bytes)} data, ${formatBytes(s.sent.wireBytes)} on the wire; tasks pending ${s.tasks.pending}`,
    ...(s.watcher ? [`  ${watcherLine(s.watcher)}`] : []),
    ...(s.lastError && s.link !== 'connected' ? [`  last error: ${s.lastError}`] : []),
  ];
}

function watcherLine(w: NonNullable<ConnectionStatus['watcher']>): string {
  const dirs = w.watchedDirs === null ? '' : `, ${w.watchedDirs} directories watched`;
  const unwatched = w.unwatched ? `, ${w.unwatched} unwatched` : '';
  return `watcher ${w.backend}${dirs}${unwatched}; ${w.missed} possible event losses, ${w.rescans} rescans`;
}
