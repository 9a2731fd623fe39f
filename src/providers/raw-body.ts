// The client's bytes with only `model` changed, or a member added, without serializing the whole body
// again (a Claude Code request is 50-80 KB: JSON.stringify would cost about half a millisecond on every
// call).
const KEY = Buffer.from('"model"');
const isSpace = (b: number | undefined) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/**
 * `raw` with its top-level `"model": "<current>"` replaced by `next`, or null when that member cannot be
 * found exactly once as written (escapes, odd spacing, the same pair nested elsewhere): then the caller
 * serializes the parsed body instead.
 */
export function withModel(raw: Buffer, current: string, next: string): Buffer | null {
  const value = Buffer.from(JSON.stringify(current));
  let found: { start: number; end: number } | null = null;
  for (let at = raw.indexOf(KEY); at >= 0; at = raw.indexOf(KEY, at + KEY.length)) {
    let i = at + KEY.length;
    while (isSpace(raw[i])) i++;
    if (raw[i] !== 0x3a) continue; // ':'
    i++;
    while (isSpace(raw[i])) i++;
    if (!raw.subarray(i, i + value.length).equals(value)) continue;
    // A second "model": "<current>" pair (say, in a tool's input) makes the top-level one ambiguous.
    if (found) return null;
    found = { start: i, end: i + value.length };
  }
  if (!found) return null;
  return Buffer.concat([raw.subarray(0, found.start), Buffer.from(JSON.stringify(next)), raw.subarray(found.end)]);
}

/**
 * `raw` (a JSON object) with `"key": value` added as its last member; the caller has checked that the
 * object has no such key. Null when `raw` does not end with the object's closing brace.
 */
export function withMember(raw: Buffer, key: string, value: unknown): Buffer | null {
  let end = raw.length - 1;
  while (isSpace(raw[end])) end--;
  if (raw[end] !== 0x7d) return null; // '}'
  let last = end - 1;
  while (isSpace(raw[last])) last--;
  if (last < 0) return null;
  const member = `${raw[last] === 0x7b ? '' : ','}${JSON.stringify(key)}:${JSON.stringify(value)}`;
  return Buffer.concat([raw.subarray(0, end), Buffer.from(member), raw.subarray(end)]);
}
