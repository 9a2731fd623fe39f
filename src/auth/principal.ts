import type { KeyRecord } from '../store/keys.ts';

/** Who is calling: the master key, or a virtual key (by its hash). */
export type Principal = { kind: 'master' } | { kind: 'key'; token: string; key: KeyRecord };
