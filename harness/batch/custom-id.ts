/**
 * A work item's `custom_id` in a batch file: `<record id>#<repeat>`, e.g. `ticket-0042#0`.
 * It is read back by splitting at the LAST `#`: the repeat is digits only, so whatever the record
 * id holds (`#`, spaces, any Unicode) the split is exact, and the id stays readable in the files.
 */
export function customId(recordId: string, repeat: number): string {
  if (!Number.isInteger(repeat) || repeat < 0) {
    throw new RangeError(`Expected \`repeat\` to be a non-negative integer, got ${repeat}`);
  }
  return `${recordId}#${repeat}`;
}

/** The work item a custom_id names; undefined when it is not of our making. */
export function parseCustomId(id: string): { recordId: string; repeat: number } | undefined {
  const at = id.lastIndexOf('#');
  if (at < 0) return undefined;
  const digits = id.slice(at + 1);
  if (!/^(0|[1-9]\d*)$/.test(digits)) return undefined;
  const repeat = Number(digits);
  return Number.isSafeInteger(repeat) ? { recordId: id.slice(0, at), repeat } : undefined;
}
