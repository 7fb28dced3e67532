/**
 * Narrows a text column to one of its allowed values. The CHECK constraints keep the database clean;
 * this catches the rest (a column without one, or a hand-edited row) at the boundary instead of
 * letting an impossible value travel through the domain.
 */
export function oneOf<T extends string>(value: string, allowed: readonly T[], column: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new Error(`unexpected value in ${column}`);
}
