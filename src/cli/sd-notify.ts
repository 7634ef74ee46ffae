// systemd's readiness protocol (sd_notify(3)): a unit with Type=notify learns that a daemon is
// ready to serve, and that it is stopping, from datagrams to $NOTIFY_SOCKET. The protocol is one
// datagram of "KEY=value" lines; the packages that wrap libsystemd for Node need a compiler and
// libsystemd-dev at install time and are unmaintained, so it is sent through the koffi binding smr
// already has (fsmeta's unixDatagram). Outside systemd ($NOTIFY_SOCKET unset) nothing is sent.
import { unixDatagram } from '../fsmeta/index.js';
import { log } from '../shared/log.js';

/** Tells systemd `state` (e.g. "READY=1"); a failure is logged, never fatal to the daemon. */
export function sdNotify(state: string, env: NodeJS.ProcessEnv = process.env): void {
  const socket = env.NOTIFY_SOCKET;
  if (!socket) return;
  if (!socket.startsWith('/') && !socket.startsWith('@')) {
    log.warn(`NOTIFY_SOCKET "${socket}" is not a unix socket address; systemd not told ${state}`);
    return;
  }
  try {
    unixDatagram(socket, Buffer.from(state));
  } catch (err) {
    log.warn(`could not tell systemd ${state} on ${socket}: ${(err as Error).message}`);
  }
}

/** The daemons' lifecycle as systemd hears it: ready once serving, stopping on a signal. */
export const systemdLifecycle = {
  ready: (): void => sdNotify('READY=1'),
  stopping: (): void => sdNotify('STOPPING=1'),
};
