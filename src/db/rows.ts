/**
 * The one row a statement answers when its WHERE or its RETURNING cannot come back empty (an
 * insert, an aggregate, an update of a row this transaction holds locked). An empty answer is a
 * broken invariant, not a missing record: it throws instead of reading as undefined.
 */
export function onlyRow<T>(rows: readonly T[]): T {
  const [row] = rows;
  if (row === undefined) throw new Error('the statement answered no row');
  return row;
}
