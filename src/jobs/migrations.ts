/**
 * The ledger's schema, one ordered list of steps for both backends. A step has each backend's SQL
 * where that backend needs one, and the number that backend records for it: SQLite counts in
 * `PRAGMA user_version` (ledger.ts runs its steps inside BEGIN IMMEDIATE), PostgreSQL in
 * `schema_migrations` (pg-migrations.ts, under an advisory lock). The numbers are those each backend
 * recorded before the two lists became one (SQLite 1-3, PostgreSQL 1-2), so every existing file and
 * database opens unchanged; a new step takes the next number of each backend it concerns (the
 * principal column, issue 29: SQLite 4, PostgreSQL 3).
 *
 * Append only: a step that shipped never changes (a database that has it would not run it again), and
 * each must be safe for an older process or instance still running on the same ledger (add; do not
 * rename or drop).
 *
 * The tables are the same on both, plus PostgreSQL's `seq`, the row sequence that plays SQLite's
 * `rowid` (page order, cost order). Times are epoch milliseconds; JSON columns are TEXT, so a row reads
 * back exactly as written (JSONB would reorder keys). Input hashes are not here: they stay in each
 * machine's SQLite file (hash-store.ts).
 */

/** The channel a task's id is notified on when its row changes (PostgreSQL's trigger, step 1). */
export const TASKS_CHANNEL = 'lipsync_tasks';

/** How many task changes SQLite's `task_changes` keeps: a watcher further behind re-reads what it watches. */
export const CHANGES_KEPT = 4096;

export interface Step {
  /** This step's number on the backend (increasing by one along the list). */
  version: number;
  sql: string;
  /** SQLite only: a query; the step's SQL is skipped when it returns a row (what it adds is there). */
  unless?: string;
}

export interface Migration {
  name: string;
  sqlite?: Step;
  postgres?: Step;
}

const SQLITE_COSTS = `
CREATE TABLE IF NOT EXISTS costs (
  task_id TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  amount REAL,
  unit TEXT NOT NULL,
  source TEXT NOT NULL,
  paid INTEGER NOT NULL DEFAULT 1,
  balance_before REAL,
  balance_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS costs_time ON costs(created_at);
`;

const SQLITE_V1 = `
CREATE TABLE IF NOT EXISTS tasks (
  id TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  provider TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  phase TEXT,
  rejected INTEGER NOT NULL DEFAULT 0,
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
  lease_until INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  completed_at INTEGER
);
CREATE INDEX IF NOT EXISTS tasks_fp ON tasks(fingerprint, created_at);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks(status);
CREATE INDEX IF NOT EXISTS tasks_ptid ON tasks(provider, provider_task_id);
CREATE TABLE IF NOT EXISTS uploads (
  provider TEXT NOT NULL,
  scope TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  url TEXT NOT NULL,
  meta TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (provider, scope, sha256, size)
);
CREATE TABLE IF NOT EXISTS downloads (
  task_id TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (task_id, path)
);
${SQLITE_COSTS}`;

const POSTGRES_V1 = `
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
`;

export const MIGRATIONS: readonly Migration[] = [
  {
    name: 'tasks, costs, uploads, downloads; change notifications',
    sqlite: { version: 1, sql: SQLITE_V1 },
    postgres: { version: 1, sql: POSTGRES_V1 },
  },
  {
    // A pid is only ever compared on its own machine. PostgreSQL's tasks had the column from step 1.
    // Files at 1 from before spend control lack `costs` (all idempotent: a file may have either).
    name: "the owner's host; cost records",
    sqlite: {
      version: 2,
      sql: `ALTER TABLE tasks ADD COLUMN owner_host TEXT;${SQLITE_COSTS}`,
      unless: "SELECT 1 FROM pragma_table_info('tasks') WHERE name = 'owner_host'",
    },
  },
  {
    // Pages read along an index in order (`pageStatement`): all tasks, one provider's, unfinished
    // ones; partial, like the pages' WHERE, so that a page is an index scan with no filter and no sort
    // however deep its cursor.
    name: "listing indexes: pages of all, one provider's and unfinished tasks in order",
    // Completion counts ids by prefix on a case-blind index (LIKE ignores ASCII case). Every insert or
    // update of a task logs its id in `task_changes` (a trigger: no write path can forget, and older
    // processes on the same file log too), so that a watcher in another process reads which tasks
    // changed instead of re-reading every task it watches; the log keeps the last CHANGES_KEPT entries.
    sqlite: {
      version: 3,
      sql: `
CREATE INDEX IF NOT EXISTS tasks_page ON tasks(created_at) WHERE rejected = 0;
CREATE INDEX IF NOT EXISTS tasks_page_provider ON tasks(provider, created_at) WHERE rejected = 0;
CREATE INDEX IF NOT EXISTS tasks_unfinished ON tasks(created_at)
  WHERE rejected = 0 AND status NOT IN ('success', 'failed');
CREATE INDEX IF NOT EXISTS tasks_id_nocase ON tasks(id COLLATE NOCASE) WHERE rejected = 0;
CREATE TABLE IF NOT EXISTS task_changes (seq INTEGER PRIMARY KEY, task_id TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS tasks_log_insert AFTER INSERT ON tasks
  BEGIN INSERT INTO task_changes (task_id) VALUES (NEW.id); END;
CREATE TRIGGER IF NOT EXISTS tasks_log_update AFTER UPDATE ON tasks
  BEGIN INSERT INTO task_changes (task_id) VALUES (NEW.id); END;
CREATE TRIGGER IF NOT EXISTS task_changes_bound AFTER INSERT ON task_changes
  BEGIN DELETE FROM task_changes WHERE seq <= NEW.seq - ${CHANGES_KEPT}; END;
`,
    },
    // A short write lock on tasks while they are built (a transaction may not build CONCURRENTLY);
    // tasks_order stays for instances still running version 1.
    postgres: {
      version: 2,
      sql: `
CREATE INDEX tasks_page ON tasks (created_at DESC, seq DESC) WHERE NOT rejected;
CREATE INDEX tasks_page_provider ON tasks (provider, created_at DESC, seq DESC) WHERE NOT rejected;
CREATE INDEX tasks_unfinished ON tasks (created_at DESC, seq DESC)
  WHERE NOT rejected AND status NOT IN ('success', 'failed');
`,
    },
  },
  {
    // Issue 29. Adding a nullable column without a default rewrites nothing; a process or instance
    // still on the previous step inserts null (the local principal), which is what it is.
    name: 'who created each task: a principal column (null: the local one) and its listing index',
    sqlite: {
      version: 4,
      sql: `
ALTER TABLE tasks ADD COLUMN principal TEXT;
CREATE INDEX IF NOT EXISTS tasks_page_principal ON tasks(principal, created_at) WHERE rejected = 0;
`,
      unless: "SELECT 1 FROM pragma_table_info('tasks') WHERE name = 'principal'",
    },
    postgres: {
      version: 3,
      sql: `
ALTER TABLE tasks ADD COLUMN principal TEXT;
CREATE INDEX tasks_page_principal ON tasks (principal, created_at DESC, seq DESC) WHERE NOT rejected;
`,
    },
  },
  {
    // Issue 26. The request behind each resumable answer stream of the HTTP face (resume.ts): a client
    // whose stream was cut comes back with its id, to any instance, which answers the request again.
    // Rows live minutes (pruned by age); nothing else reads them.
    name: 'resumable answer streams: the request each one answers, by stream id',
    sqlite: {
      version: 5,
      sql: `
CREATE TABLE IF NOT EXISTS streams (
  id TEXT PRIMARY KEY,
  principal TEXT,
  request TEXT NOT NULL,
  headers TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  answered_at INTEGER
);
CREATE INDEX IF NOT EXISTS streams_time ON streams(created_at);
`,
    },
    postgres: {
      version: 4,
      sql: `
CREATE TABLE streams (
  id TEXT PRIMARY KEY,
  principal TEXT,
  request TEXT NOT NULL,
  headers TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  answered_at BIGINT
);
CREATE INDEX streams_time ON streams (created_at);
`,
    },
  },
];

/** One backend's steps, in order. */
export function stepsOf(backend: 'sqlite' | 'postgres', list: readonly Migration[] = MIGRATIONS) {
  return list.flatMap((m) => {
    const step = m[backend];
    return step ? [{ ...step, name: m.name }] : [];
  });
}
