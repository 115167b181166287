/** A LIKE / ILIKE pattern matching `s` anywhere, with LIKE's own wildcards (% _ \) in `s` escaped. */
export function containsPattern(s: string): string {
  return `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
