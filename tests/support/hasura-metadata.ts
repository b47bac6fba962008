import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

/** hasura/ at the repository root: the Hasura project that docker compose applies. */
export const hasuraProjectDir = path.resolve(__dirname, '../../hasura');

export interface TrackedTable {
  table: { name: string; schema: string };
  [permissionKind: string]: unknown;
}

export interface MetadataSource {
  name: string;
  kind: string;
  configuration: { connection_info: { database_url: string | { from_env: string } } };
  tables: TrackedTable[];
}

export type PermissionKind = 'select' | 'insert' | 'update' | 'delete';

export interface Permission {
  table: string;
  kind: PermissionKind;
  role: string;
  permission: Record<string, unknown>;
}

/** A metadata file with Hasura's `"!include <file>"` strings replaced by that file, relative to the includer. */
function readWithIncludes(file: string): unknown {
  const resolve = (value: unknown): unknown => {
    if (typeof value === 'string' && value.startsWith('!include ')) {
      return readWithIncludes(path.join(path.dirname(file), value.slice('!include '.length).trim()));
    }
    if (Array.isArray(value)) return value.map(resolve);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, each]) => [key, resolve(each)]));
    }
    return value;
  };
  return resolve(parseYaml(readFileSync(file, 'utf8')));
}

/** The database sources of hasura/metadata, with their tracked tables. */
export function readMetadataSources(): MetadataSource[] {
  return readWithIncludes(path.join(hasuraProjectDir, 'metadata/databases/databases.yaml')) as MetadataSource[];
}

/** Every permission on every tracked table, whatever the operation. */
export function readPermissions(): Permission[] {
  const kinds: PermissionKind[] = ['select', 'insert', 'update', 'delete'];
  return readMetadataSources().flatMap((source) =>
    source.tables.flatMap((tracked) =>
      kinds.flatMap((kind) =>
        (
          (tracked[`${kind}_permissions`] as { role: string; permission: Record<string, unknown> }[] | undefined) ?? []
        ).map(({ role, permission }) => ({
          table: `${tracked.table.schema}.${tracked.table.name}`,
          kind,
          role,
          permission,
        })),
      ),
    ),
  );
}

/** Every session variable a value names, as a key or as a string, lower-cased as Hasura compares them. */
export function sessionVariablesIn(value: unknown): string[] {
  const isVariable = (text: string) => /^x-hasura-/i.test(text);
  if (typeof value === 'string') return isVariable(value) ? [value.toLowerCase()] : [];
  if (Array.isArray(value)) return value.flatMap(sessionVariablesIn);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, each]) => [
      ...(isVariable(key) ? [key.toLowerCase()] : []),
      ...sessionVariablesIn(each),
    ]);
  }
  return [];
}

/** The up.sql of every migration of hasura/migrations, by path relative to it. */
export function readMigrationScripts(): Record<string, string> {
  const root = path.join(hasuraProjectDir, 'migrations');
  const scripts: Record<string, string> = {};
  for (const database of readdirSync(root)) {
    for (const migration of readdirSync(path.join(root, database))) {
      const file = path.join(database, migration, 'up.sql');
      scripts[file] = readFileSync(path.join(root, file), 'utf8');
    }
  }
  return scripts;
}
