/**
 * One small async database interface over SQLite (better-sqlite3, the default: one file, WAL, a single
 * process) and PostgreSQL (pg, for several server processes). The SQL is portable: `?` placeholders
 * (rewritten to `$n` for PostgreSQL), TEXT for JSON, BIGINT epoch milliseconds, `ON CONFLICT DO NOTHING`,
 * `RETURNING`. The few dialect differences (auto-increment keys, row locks) go through `Db.sql`.
 *
 * better-sqlite3 and pg are loaded only when a server opens a database: the CLI bundle marks them external,
 * and nothing else in Agent Warden needs them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MIGRATIONS } from './schema';


/**
 * A database driver, which the bundled CLI does not contain (the SQLite one is a native module): present
 * in a checkout after `npm ci` and in the npm package, absent from the VS Code extension's copy.
 */
function driver(name: 'better-sqlite3' | 'pg'): unknown {
  try {
    return require(name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    throw new Error(`the database driver ${name} is not installed next to this warden; run the server from the npm package (npm install -g agent-warden) or from a checkout after npm ci`);
  }
}
export type Dialect = 'sqlite' | 'postgres';

export interface Queryable {
  all<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }>;
}

export interface Db extends Queryable {
  dialect: Dialect;
  /** Run `fn` in one transaction (SQLite: BEGIN IMMEDIATE, serialised; PostgreSQL: one pooled client). */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** ` FOR UPDATE` on PostgreSQL, nothing on SQLite (whose write transactions are serialised). */
  forUpdate: string;
  close(): Promise<void>;
  describe: string;
}

export class DbError extends Error {}

/** `sqlite:<path>`, `sqlite::memory:`, a bare path, or `postgres://…` / `postgresql://…`. */
export function parseDbUrl(url: string): { dialect: Dialect; target: string } {
  if (/^postgres(ql)?:\/\//.test(url)) return { dialect: 'postgres', target: url };
  if (url.startsWith('sqlite:')) return { dialect: 'sqlite', target: url.slice('sqlite:'.length) || ':memory:' };
  if (url.includes('://')) throw new DbError(`unsupported database URL ${JSON.stringify(url.replace(/\/\/[^@]*@/, '//…@'))}: use sqlite:<path> or postgres://…`);
  return { dialect: 'sqlite', target: url };
}

export async function openDb(url: string): Promise<Db> {
  const { dialect, target } = parseDbUrl(url);
  const db = dialect === 'sqlite' ? openSqlite(target) : await openPostgres(target);
  await migrate(db);
  return db;
}

// ---------------------------------------------------------------------------------------------------------
// SQLite

interface SqliteStatement {
  all(...params: unknown[]): unknown[];
  get(...params: unknown[]): unknown;
  run(...params: unknown[]): { changes: number };
  reader: boolean;
}
interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  pragma(p: string): unknown;
  exec(sql: string): void;
  close(): void;
}

function openSqlite(file: string): Db {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Database = driver('better-sqlite3') as new (file: string, opts?: Record<string, unknown>) => SqliteDatabase;
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const raw = new Database(file);
  raw.pragma('journal_mode = WAL');
  // FULL: a committed batch survives power loss, not only a crash of the server process.
  raw.pragma('synchronous = FULL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 5000');
  const cache = new Map<string, SqliteStatement>();
  const stmt = (sql: string): SqliteStatement => {
    let s = cache.get(sql);
    if (!s) {
      s = raw.prepare(sql);
      if (cache.size > 500) cache.clear();
      cache.set(sql, s);
    }
    return s;
  };
  const conv = (params: readonly unknown[] = []): unknown[] => params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p === undefined ? null : p));
  const q: Queryable = {
    async all<T>(sql: string, params?: readonly unknown[]) {
      return stmt(sql).all(...conv(params)) as T[];
    },
    async get<T>(sql: string, params?: readonly unknown[]) {
      return stmt(sql).get(...conv(params)) as T | undefined;
    },
    async run(sql: string, params?: readonly unknown[]) {
      const s = stmt(sql);
      if (s.reader) {
        s.all(...conv(params));
        return { changes: 0 };
      }
      return { changes: s.run(...conv(params)).changes };
    },
  };
  // One connection: every operation is serialised so that an awaiting transaction never interleaves
  // with another request's statements.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn, fn);
    chain = p.catch(() => undefined);
    return p;
  };
  let closed = false;
  return {
    dialect: 'sqlite',
    forUpdate: '',
    describe: `sqlite:${file}`,
    all: (sql, params) => serial(() => q.all(sql, params)),
    get: (sql, params) => serial(() => q.get(sql, params)),
    run: (sql, params) => serial(() => q.run(sql, params)),
    tx: <T>(fn: (q: Queryable) => Promise<T>) =>
      serial(async () => {
        raw.exec('BEGIN IMMEDIATE');
        try {
          const r = await fn(q);
          raw.exec('COMMIT');
          return r;
        } catch (e) {
          try {
            raw.exec('ROLLBACK');
          } catch {
            /* already rolled back */
          }
          throw e;
        }
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      await chain;
      raw.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// PostgreSQL

interface PgClient {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
  release(err?: boolean | Error): void;
}
interface PgPool {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
  connect(): Promise<PgClient>;
  end(): Promise<void>;
  on(ev: 'error', fn: (e: Error) => void): void;
}

/** `?` → `$1, $2, …` (the SQL here never has `?` inside string literals). */
export function pgPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

async function openPostgres(url: string): Promise<Db> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pg = driver('pg') as { Pool: new (cfg: Record<string, unknown>) => PgPool; types: { getTypeParser(oid: number, format?: string): (v: string) => unknown } };
  // int8 (COUNT(*), BIGINT columns) as numbers: every value here is an epoch-ms time or a count < 2^53.
  const types = {
    getTypeParser: (oid: number, format?: string) => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)),
  };
  const pool = new pg.Pool({ connectionString: url, max: 10, types, connectionTimeoutMillis: 10_000 });
  pool.on('error', () => undefined); // idle client errors (server restart): the next query reconnects
  const wrap = (c: { query: PgPool['query'] }): Queryable => ({
    async all<T>(sql: string, params?: readonly unknown[]) {
      return (await c.query(pgPlaceholders(sql), params ? [...params] : [])).rows as T[];
    },
    async get<T>(sql: string, params?: readonly unknown[]) {
      return (await c.query(pgPlaceholders(sql), params ? [...params] : [])).rows[0] as T | undefined;
    },
    async run(sql: string, params?: readonly unknown[]) {
      return { changes: (await c.query(pgPlaceholders(sql), params ? [...params] : [])).rowCount ?? 0 };
    },
  });
  const top = wrap(pool);
  await pool.query('SELECT 1');
  const safe = url.replace(/\/\/[^@]*@/, '//…@');
  return {
    dialect: 'postgres',
    forUpdate: ' FOR UPDATE',
    describe: safe,
    ...top,
    async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const r = await fn(wrap(client));
        await client.query('COMMIT');
        client.release();
        return r;
      } catch (e) {
        try {
          await client.query('ROLLBACK');
          client.release();
        } catch (e2) {
          client.release(e2 as Error);
        }
        throw e;
      }
    },
    close: () => pool.end(),
  };
}

// ---------------------------------------------------------------------------------------------------------
// migrations

async function migrate(db: Db): Promise<void> {
  const serial = db.dialect === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGSERIAL PRIMARY KEY';
  await db.run('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
  if (db.dialect === 'postgres') {
    // Two server processes starting together must not both apply a migration.
    await db.tx(async (q) => {
      await q.run('LOCK TABLE schema_migrations IN EXCLUSIVE MODE');
      await applyMigrations(q, serial);
    });
  } else await db.tx((q) => applyMigrations(q, serial));
}

async function applyMigrations(q: Queryable, serial: string): Promise<void> {
  const done = new Set((await q.all<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => Number(r.version)));
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    for (const stmt of m.statements) await q.run(stmt.replace(/\{\{SERIAL_PK\}\}/g, serial));
    await q.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [m.version, Date.now()]);
  }
}
