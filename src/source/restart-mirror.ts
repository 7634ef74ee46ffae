// What a connection does when its stream (re)starts without a trustworthy target state.
import type { MirrorOptions } from './mirror.js';

/**
 * The mirror a connection runs when the daemon starts: changes made while it was down (or not yet
 * captured when it was killed) include deletes and renames, so orphans go too. Only the empty-source
 * brake applies (a vanished or unmounted source path); a share limit would refuse ordinary churn.
 */
export const RESTART_MIRROR: MirrorOptions = { mode: 'diff', deleteOrphans: true, orphanBrake: 1 };
