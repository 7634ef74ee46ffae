// Workload sizes of the heavy e2e tests, from one place. `npm test` proves behaviour at the short
// size, which still crosses every threshold a test relies on (each says which); `npm run test:long`
// (SMR_LONG=1, the same files) runs the sizes they had before, for endurance and scale.

/** True under `npm run test:long`. */
export const LONG = process.env.SMR_LONG === '1';

/** `short` under `npm test`, `long` under `npm run test:long`. */
export function sized<T>(short: T, long: T): T {
  return LONG ? long : short;
}
