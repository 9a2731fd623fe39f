// The names of entities' live spend and limit counters: `team:ID`, `member:TEAM:USER`. Ids are any
// string, so in a name of several ids each is escaped (`:` and `%`): team "a:b" with user "c" and
// team "a" with user "b:c" must not share a counter.

const esc = (id: string) => id.replaceAll('%', '%25').replaceAll(':', '%3A');
const unesc = (s: string) => s.replaceAll('%3A', ':').replaceAll('%25', '%');

/** The scope of an entity of `kind` (`user`, `member`, ...) with these ids. */
export function scopeOf(kind: string, ids: readonly string[]): string {
  return `${kind}:${ids.length === 1 ? ids[0] : ids.map(esc).join(':')}`;
}

/** The part of a scope of several ids after the kind (`member:` + this). */
export const refOf = (ids: readonly string[]): string => ids.map(esc).join(':');

/** A membership's reference: the part of its scope after the kind (`member:` + this). */
export const memberRef = (teamId: string, userId: string): string => refOf([teamId, userId]);

/** The team and user of a membership's reference. */
export function memberIds(ref: string): [string, string] {
  const [t = '', u = ''] = ref.split(':');
  return [unesc(t), unesc(u)];
}
