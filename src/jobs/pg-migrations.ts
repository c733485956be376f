/**
 * The PostgreSQL ledger's schema, as versioned migrations. `PgLedger.open` applies the ones a database
 * lacks, in one transaction that holds an advisory lock, so instances starting together apply each
 * exactly once; `schema_migrations` records them. Append only: a migration that shipped never changes
 * (a database that has it would not run it again), and each must be safe for an older instance still
 * running against the database during a rolling upgrade (add, do not rename or drop).
 *
 * The tables and columns are SQLite's (ledger.ts, ledger-costs.ts) plus `seq`, the row sequence that
 * plays SQLite's `rowid` (page order, cost order). Input hashes are not here: they stay per machine.
 * Times are epoch milliseconds (BIGINT); JSON columns are TEXT so that a row reads back exactly as
 * written (JSONB would reorder keys), as in SQLite.
 */
import { AppError } from '../errors.js';
import { LOCK_MIGRATIONS, LOCK_SPACE, type PgDb } from './pg-db.js';

/** The channel a task's id is notified on when its row changes (see the trigger below). */
export const TASKS_CHANNEL = 'lipsync_tasks';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'tasks, costs, uploads, downloads; change notifications',
    sql: `
CREATE TABLE tasks (
  id TEXT PRIMARY KEY,
  seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
  fingerprint TEXT NOT NULL,
  provider TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  phase TEXT,
  rejected BOOLEAN NOT NULL DEFAULT false,
  provider_task_id TEXT,
  request TEXT NOT NULL,
  prepared TEXT,
  operation TEXT,
  snapshot TEXT,
  warnings TEXT,
  error TEXT,
  provider_status TEXT,
  unchanged_polls INTEGER NOT NULL DEFAULT 0,
  polls INTEGER NOT NULL DEFAULT 0,
  owner_pid INTEGER,
  owner_host TEXT,
  lease_until BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  completed_at BIGINT
);
CREATE INDEX tasks_fp ON tasks (fingerprint, created_at DESC, seq DESC);
CREATE INDEX tasks_order ON tasks (created_at DESC, seq DESC);
CREATE INDEX tasks_status ON tasks (status);
CREATE INDEX tasks_ptid ON tasks (provider, provider_task_id);

CREATE TABLE costs (
  task_id TEXT PRIMARY KEY,
  seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
  provider TEXT NOT NULL,
  amount DOUBLE PRECISION,
  unit TEXT NOT NULL,
  source TEXT NOT NULL,
  paid BOOLEAN NOT NULL DEFAULT true,
  balance_before DOUBLE PRECISION,
  balance_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX costs_time ON costs (created_at);

CREATE TABLE uploads (
  provider TEXT NOT NULL,
  scope TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size BIGINT NOT NULL,
  url TEXT NOT NULL,
  meta TEXT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (provider, scope, sha256, size)
);

CREATE TABLE downloads (
  task_id TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (task_id, path)
);

-- Every insert or update of a task notifies its id, in the writing transaction (delivered at commit),
-- whatever statement wrote it: no write path can forget to.
CREATE FUNCTION lipsync_task_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('${TASKS_CHANNEL}', NEW.id);
  RETURN NULL;
END;
$$;
CREATE TRIGGER tasks_notify AFTER INSERT OR UPDATE ON tasks
  FOR EACH ROW EXECUTE FUNCTION lipsync_task_changed();
`,
  },
];

/**
 * Applies the migrations `db` lacks, in one transaction under an advisory lock: instances that start
 * together wait for each other, and the later ones find nothing left to do. Returns what it applied.
 */
export async function migrate(db: PgDb, list: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  try {
    return await db.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_SPACE, LOCK_MIGRATIONS]);
      // READ COMMITTED: the statements after the lock see what the previous holder committed.
      await c.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
      );
      const done = new Set(
        (await c.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
          (r) => r.version,
        ),
      );
      const applied: number[] = [];
      for (const m of list) {
        if (done.has(m.version)) continue;
        await c.query(m.sql);
        await c.query(
          'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)',
          [m.version, m.name],
        );
        applied.push(m.version);
      }
      return applied;
    });
  } catch (err) {
    // PostgreSQL 15 no longer lets every user create tables in the public schema.
    if ((err as { code?: unknown }).code === '42501')
      throw new AppError(
        'invalid_input',
        `The PostgreSQL user ${db.target.user ?? '(default)'} may not create the ledger's tables in database ${db.target.database ?? ''}.`,
        {
          hint: 'Let the database owner run lipsync-mcp once, or GRANT CREATE ON SCHEMA public to this user (LIPSYNC_DATABASE_URL names the user).',
          details: { setting: 'LIPSYNC_DATABASE_URL' },
          cause: err,
        },
      );
    throw err;
  }
}
