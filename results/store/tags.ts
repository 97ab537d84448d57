/** A record's stored tags (records.tags_json); a non-string value (from a hand-made database) becomes its JSON. */
export function parseTags(json: string): Record<string, string> {
  try {
    const v = JSON.parse(json) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return {};
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)]),
    );
  } catch {
    // A corrupt tags column shows as no tags rather than stopping a report or the gate.
    return {};
  }
}
