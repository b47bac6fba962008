import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { openDatabase, type Database } from '../../src/db/database';

// The service's own glue around PGlite in a data directory: initdb in a process of its own, the
// settings it opens with, and pg's answers where knex-pglite's differ. No suite on a live PGlite
// instance reaches these.

describe('the embedded database in a data directory', () => {
  let dataDir: string;
  let db: Database | undefined;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hasura-auth-embedded-'));
  });
  afterEach(async () => {
    await db?.destroy();
    db = undefined;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const sharedBuffers = async (database: Database) =>
    (await database.raw<{ rows: { shared_buffers: string }[] }>('show shared_buffers')).rows[0]!.shared_buffers;

  it('is created on first use and opened as it is afterwards, both times with a 16 MB buffer pool', async () => {
    db = openDatabase({ kind: 'pglite', dataDir });
    expect(await sharedBuffers(db)).toBe('16MB');
    await db.destroy();
    expect(fs.readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim()).toMatch(/^\d+$/);

    db = openDatabase({ kind: 'pglite', dataDir });
    expect(await sharedBuffers(db)).toBe('16MB');
  });

  it('opens a data directory that PGlite made with its own defaults with the same buffer pool', async () => {
    // As an earlier release, or PGlite's own tools, leave one: 128 MB in its postgresql.conf.
    const made = new PGlite(dataDir);
    await made.waitReady;
    await made.close();
    db = openDatabase({ kind: 'pglite', dataDir });
    expect(await sharedBuffers(db)).toBe('16MB');
  });

  it('answers a delete with the number of rows it removed, as pg does', async () => {
    db = openDatabase({ kind: 'pglite', dataDir });
    await db.schema.withSchema('public').createTable('things', (table) => table.integer('n'));
    await db
      .withSchema('public')
      .table('things')
      .insert([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(await db.withSchema('public').table('things').delete().where('n', '<', 3)).toBe(2);
    expect(await db.withSchema('public').table('things').delete().where('n', '>', 3)).toBe(0);
  });

  it('fails every query with initdb’s own reason when the directory cannot hold a database, and keeps what was there', async () => {
    // A file where initdb must create a directory: what a wrong DATA_DIR pointing at other data
    // looks like.
    fs.writeFileSync(path.join(dataDir, 'base'), 'not a database');
    db = openDatabase({ kind: 'pglite', dataDir });
    const reason = `initdb of ${dataDir} failed: {"name":"ErrnoError","errno":54}`;
    await expect(db.raw('select 1')).rejects.toMatchObject({ message: reason });
    await expect(db.raw('select 1')).rejects.toMatchObject({ message: reason });
    expect(fs.readFileSync(path.join(dataDir, 'base'), 'utf8')).toBe('not a database');
  });

  it('runs initdb again for the next query once what stopped it is gone, without a restart', async () => {
    fs.writeFileSync(path.join(dataDir, 'base'), 'in the way');
    db = openDatabase({ kind: 'pglite', dataDir });
    await expect(db.raw('select 1')).rejects.toThrow(/^initdb of .* failed/);
    fs.rmSync(path.join(dataDir, 'base'));

    expect(await sharedBuffers(db)).toBe('16MB');
  });
});
