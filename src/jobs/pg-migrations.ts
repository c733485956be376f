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
import {
  grantTables,
  LEDGER_TABLES,
  LOCK_MIGRATIONS,
  LOCK_SPACE,
  type PgDb,
  type PgTarget,
  pgFailure,
  type Queryable,
  sqlIdent,
} from './pg-db.js';

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
  {
    version: 2,
    name: "listing indexes: pages of all, one provider's and unfinished tasks in order",
    // Partial, like the pages' WHERE: a page is an index scan with no filter and no sort however deep
    // its cursor (`pgPageQuery`). A short write lock on tasks while they are built (a transaction may not
    // build CONCURRENTLY); tasks_order stays for instances still running version 1.
    sql: `
CREATE INDEX tasks_page ON tasks (created_at DESC, seq DESC) WHERE NOT rejected;
CREATE INDEX tasks_page_provider ON tasks (provider, created_at DESC, seq DESC) WHERE NOT rejected;
CREATE INDEX tasks_unfinished ON tasks (created_at DESC, seq DESC)
  WHERE NOT rejected AND status NOT IN ('success', 'failed');
`,
  },
  {
    version: 3,
    name: 'who created each task (issue 29): a principal column (null: the local one) and its listing index',
    // Adding a nullable column without a default rewrites nothing; instances still on version 2 insert
    // null (the local principal), which is what they are.
    sql: `
ALTER TABLE tasks ADD COLUMN principal TEXT;
CREATE INDEX tasks_page_principal ON tasks (principal, created_at DESC, seq DESC) WHERE NOT rejected;
`,
  },
];

/** What `migrate` was doing when PostgreSQL refused: each refusal has its own fix. */
type Stage = 'create' | 'upgrade' | 'use';

/**
 * Applies the migrations `db` lacks, in one transaction under an advisory lock: instances that start
 * together wait for each other, and the later ones find nothing left to do. Then checks that this user
 * may use every table, so that missing rights are said at start (with the one GRANT that fixes them),
 * not at the first paid job. Returns what it applied.
 */
export async function migrate(db: PgDb, list: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  let stage: Stage = 'use';
  let pending: Migration | undefined;
  try {
    return await db.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_SPACE, LOCK_MIGRATIONS]);
      // READ COMMITTED: the statements after the lock see what the previous holder committed.
      const [here] = (
        await c.query<{ present: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
      ).rows;
      // Even CREATE TABLE IF NOT EXISTS needs the right to create in the schema: a user granted the
      // tables, not their owner, has none, and must not need it once they exist.
      if (!here?.present) {
        stage = 'create';
        await c.query(
          'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
        );
      }
      stage = 'use';
      const done = new Set(
        (await c.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
          (r) => r.version,
        ),
      );
      const applied: number[] = [];
      for (const m of list) {
        if (done.has(m.version)) continue;
        stage = done.size === 0 ? 'create' : 'upgrade';
        pending = m;
        await c.query(m.sql);
        await c.query(
          'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)',
          [m.version, m.name],
        );
        applied.push(m.version);
      }
      stage = 'use';
      await requireRights(c, db.target);
      // A write of nothing: a read-only database (a standby, default_transaction_read_only) refuses
      // it, so the ledger says so at start rather than at the first job.
      await c.query('UPDATE schema_migrations SET version = version WHERE false');
      return applied;
    });
  } catch (err) {
    // Refused (42501), or no schema on the search path that this user may use (3F000).
    const denied = err instanceof AppError ? err.cause : err;
    const code = (denied as { code?: unknown } | undefined)?.code;
    if (code !== '42501' && code !== '3F000') throw err;
    throw await refused(db, code === '3F000' ? 'create' : stage, pending, denied);
  }
}

/** Refuses to start when this user lacks a right the ledger needs on one of its tables. */
async function requireRights(c: Queryable, t: PgTarget): Promise<void> {
  const { rows } = await c.query<{ name: string }>(
    `SELECT name FROM unnest($1::text[]) AS name
     WHERE NOT (has_table_privilege(name, 'SELECT') AND has_table_privilege(name, 'INSERT')
       AND has_table_privilege(name, 'UPDATE'))`,
    [LEDGER_TABLES],
  );
  if (rows.length === 0) return;
  throw new AppError(
    'invalid_input',
    `User ${t.user ?? '(default)'} may not read and write the ledger's tables (${rows.map((r) => r.name).join(', ')}) in database ${t.database ?? ''}.`,
    {
      hint: `Have the owner of the tables run ${grantTables(t.user)} (all that lipsync-mcp needs), or connect as that owner.`,
      details: { setting: 'LIPSYNC_DATABASE_URL' },
    },
  );
}

/** The error for a refusal (SQLSTATE 42501) during `migrate`, with the fix for what was refused. */
async function refused(db: PgDb, stage: Stage, pending: Migration | undefined, cause: unknown) {
  const t = db.target;
  const user = t.user ?? '(default)';
  const who = t.user ? sqlIdent(t.user) : 'USER';
  const details = { setting: 'LIPSYNC_DATABASE_URL' };
  if (stage === 'upgrade')
    return new AppError(
      'invalid_input',
      `The ledger's tables in database ${t.database ?? ''} need an update (${pending?.name ?? 'a new migration'}) that only their owner may make, and user ${user} is not their owner.`,
      {
        hint: 'Start this version of lipsync-mcp once with the LIPSYNC_DATABASE_URL of the user that owns the tables (`lipsync-mcp doctor` will do), then again as this user.',
        details,
        cause,
      },
    );
  if (stage === 'create') {
    // The tables may exist in a schema this user may not even look into (USAGE revoked from PUBLIC).
    const hidden = await db
      .query<{ schema: string }>(
        `SELECT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relname = 'schema_migrations' AND NOT has_schema_privilege(n.oid, 'USAGE') LIMIT 1`,
      )
      .catch(() => []);
    const schema = hidden[0]?.schema;
    if (schema)
      return new AppError(
        'invalid_input',
        `User ${user} may not look into schema ${schema}, where the ledger's tables are, in database ${t.database ?? ''}.`,
        {
          hint: `Have the owner of the tables run GRANT USAGE ON SCHEMA ${sqlIdent(schema)} TO ${who}; ${grantTables(t.user)} (all that lipsync-mcp needs), or connect as that owner.`,
          details,
          cause,
        },
      );
    if ((cause as { code?: unknown }).code === '3F000')
      return new AppError(
        'invalid_input',
        `The PostgreSQL user ${user} has no schema to create the ledger's tables in, in database ${t.database ?? ''} (none on its search_path that it may use).`,
        {
          hint: `Let the database owner run lipsync-mcp once (it creates the tables), or have it run GRANT USAGE, CREATE ON SCHEMA public TO ${who}.`,
          details,
          cause,
        },
      );
    // PostgreSQL 15 no longer lets every user create tables in the public schema.
    return new AppError(
      'invalid_input',
      `The PostgreSQL user ${user} may not create the ledger's tables in database ${t.database ?? ''}.`,
      {
        hint: `Let the database owner run lipsync-mcp once (it creates the tables), then have it run ${grantTables(t.user)}; or let this user create them: GRANT CREATE ON SCHEMA public TO ${who}.`,
        details,
        cause,
      },
    );
  }
  return pgFailure(cause, t);
}
