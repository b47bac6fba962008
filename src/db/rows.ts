import type { Knex } from 'knex';

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

/** A text[] value: an array literal, since knex would spread an array binding into a list. */
export const textArray = (db: Knex, values: readonly string[]) =>
  db.raw('?::text[]', [`{${values.map((value) => JSON.stringify(value)).join(',')}}`]);
