/**
 * The connection pool under the PostgreSQL ledger: where it points (said without the password), BIGINT
 * read as a number, transactions, and driver failures turned into AppErrors a person can act on.
 */
import pg from 'pg';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';

const SETTING = 'LIPSYNC_DATABASE_URL';

/**
 * Advisory locks: the ledger's fixed ones use the two-key form in its own space (`lips`); claims lock
 * one fingerprint with the one-key (bigint) form, which PostgreSQL keeps apart from two-key locks.
 */
export const LOCK_SPACE = 0x6c697073;
export const LOCK_MIGRATIONS = 1;
/** Serialises claims that check a spend cap, so that two cannot both pass it. */
export const LOCK_SPEND = 2;

/**
 * The tables the ledger uses (migrations.ts creates them; a test checks this list against them).
 * A user other than their owner needs SELECT, INSERT and UPDATE on these and nothing more: row
 * numbers are identity columns (no right on a sequence), the change trigger fires whoever writes,
 * LISTEN and advisory locks need no right, and USAGE on schema public is everyone's by default.
 */
export const LEDGER_TABLES = [
  'schema_migrations',
  'tasks',
  'costs',
  'uploads',
  'downloads',
  'streams',
] as const;

/** A role name as SQL: bare when PostgreSQL would read it unchanged, else double-quoted. */
export function sqlIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** The one statement (run by the tables' owner) that lets `user` use the ledger. */
export function grantTables(user: string | undefined): string {
  return `GRANT SELECT, INSERT, UPDATE ON ${LEDGER_TABLES.join(', ')} TO ${user ? sqlIdent(user) : 'USER'}`;
}

/** Where a database is, without the password: for messages, logs and `doctor`. */
export interface PgTarget {
  host: string;
  port: number;
  user: string | undefined;
  database: string | undefined;
}

/** Reads the target with the driver's own URL parser (libpq forms included); never echoes the URL. */
export function pgTarget(url: string): PgTarget {
  let c: pg.Client;
  try {
    c = new pg.Client({ connectionString: url });
  } catch {
    // No cause: the parser's error carries the URL itself, password included.
    throw new AppError('invalid_input', `${SETTING} is not a valid PostgreSQL URL.`, {
      hint: 'Write it as postgres://user:password@host:5432/database (percent-encode special characters in the password).',
      details: { setting: SETTING },
    });
  }
  return { host: c.host, port: c.port, user: c.user || undefined, database: c.database || undefined };
}

export function describeTarget(t: PgTarget): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `postgres://${t.user ? `${encodeURIComponent(t.user)}@` : ''}${host}:${t.port}/${t.database ?? ''}`;
}

const where = (t: PgTarget) => (t.host.startsWith('/') ? `socket ${t.host}` : `${t.host}:${t.port}`);

// BIGINT (epoch ms, counts) as a number, not the driver's default string. Every value the ledger stores
// is far below 2^53, so nothing is lost.
const INT8 = 20;
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 && format !== 'binary'
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

export interface PgOptions {
  /** Most connections in the pool (default 10). */
  poolSize?: number;
  /** How long to wait for a connection, ms (default 10 s). */
  connectTimeoutMs?: number;
  /** How long one query may take before the call fails, ms (default 20 s). */
  queryTimeoutMs?: number;
  log?: Logger;
}

/** The driver settings shared by the pool and the change listener's own client. */
export function clientConfig(url: string, opts: PgOptions): pg.ClientConfig {
  return {
    connectionString: url,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    // A frozen connection (a partition, a stopped server) must not hold a tool call past its budget.
    query_timeout: opts.queryTimeoutMs ?? 20_000,
    application_name: 'lipsync-mcp',
    types: TYPES,
    // A half-open connection (a peer gone without a FIN) is noticed, the change feed's above all.
    keepAlive: true,
    // The ledger's transactions are a few statements with no wait in between: one idle this long
    // belongs to a frozen instance, and the server ends it so that its locks do not block claims.
    idle_in_transaction_session_timeout: 30_000,
  };
}

/** The pool or one transaction's client. */
export interface Queryable {
  query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** A pool plus the two things every caller needs: mapped errors and transactions. */
export class PgDb {
  readonly pool: pg.Pool;

  constructor(
    readonly url: string,
    readonly target: PgTarget,
    opts: PgOptions,
  ) {
    this.pool = new pg.Pool({ ...clientConfig(url, opts), max: opts.poolSize ?? 10 });
    // An idle client whose server went away emits here; unhandled, it would end the process.
    this.pool.on('error', (err) =>
      opts.log?.warn({ err: pgFailure(err, target) }, 'PostgreSQL connection lost'),
    );
  }

  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (err) {
      throw pgFailure(err, this.target);
    }
  }

  /** Runs `fn` on the pool (a statement at a time, no transaction), failures mapped. */
  async read<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    try {
      return await fn(this.pool);
    } catch (err) {
      throw pgFailure(err, this.target);
    }
  }

  /**
   * Runs `fn` in one READ COMMITTED transaction on one connection: COMMIT, or ROLLBACK and the same
   * error object again (a refusal thrown by a caller's check passes through untouched).
   */
  async tx<T>(fn: (c: Queryable) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw pgFailure(err, this.target);
    }
    // Driver failures are mapped where they happen, so that an error of `fn`'s own is never taken for one.
    const q: Queryable = {
      query: (sql, params) =>
        client.query(sql, params).catch((err: unknown) => {
          throw pgFailure(err, this.target);
        }),
    };
    let broken: Error | undefined;
    try {
      await q.query('BEGIN');
      const out = await fn(q);
      await q.query('COMMIT');
      return out;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (e) {
        // The connection is gone (the server rolls back by itself): drop it from the pool.
        broken = e as Error;
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

/** Network failures of the socket (Node's codes) and the SQLSTATE classes that mean "cannot serve now". */
const NETWORK: Record<string, string> = {
  ECONNREFUSED: 'refused',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ETIMEDOUT: 'timeout',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  ENOENT: 'refused',
};

/**
 * The AppError for a driver failure that concerns the connection (refused, lost, credentials, no such
 * database); any other error is returned as it is (a bug, or a caller's own error). Messages name the
 * host and port, never the URL: it holds the password.
 */
export function pgFailure(err: unknown, t: PgTarget): unknown {
  if (!(err instanceof Error) || err instanceof AppError) return err;
  const code = (err as { code?: unknown }).code;
  const at = where(t);
  const check = `check ${SETTING} and that the server runs`;
  const unavailable = (message: string, transport: string) =>
    new AppError('unavailable', message, {
      hint: `${check[0]!.toUpperCase()}${check.slice(1)}.`,
      retryable: true,
      details: { setting: SETTING, transport },
      cause: err,
    });
  if (typeof code === 'string' && NETWORK[code]) {
    const transport = NETWORK[code];
    if (transport === 'refused')
      return unavailable(`PostgreSQL at ${at} refused the connection: ${check}.`, transport);
    if (transport === 'dns')
      return unavailable(`The PostgreSQL host ${t.host} could not be found: ${check}.`, transport);
    return unavailable(`The connection to PostgreSQL at ${at} failed (${transport}): ${check}.`, transport);
  }
  if (/timeout/i.test(err.message) && !(typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)))
    return unavailable(`PostgreSQL at ${at} did not answer in time: ${check}.`, 'timeout');
  if (/Connection terminated|connection ended|Client has encountered a connection error/i.test(err.message))
    return unavailable(`The connection to PostgreSQL at ${at} was lost.`, 'reset');
  if (/does not support SSL|SSL connection|self[- ]signed|certificate/i.test(err.message))
    return new AppError(
      'invalid_input',
      `The TLS (SSL) connection to PostgreSQL at ${at} failed: ${err.message}.`,
      {
        hint: `Match sslmode in ${SETTING} to the server: drop ?sslmode=require for a server without TLS, or configure its certificate.`,
        details: { setting: SETTING },
        cause: err,
      },
    );
  if (typeof code !== 'string') return err;
  const fix = (message: string, hint: string) =>
    new AppError('invalid_input', message, { hint, details: { setting: SETTING }, cause: err });
  if (code === '25006')
    return fix(
      `PostgreSQL at ${at} is read-only (a standby?): the ledger needs to write.`,
      `Point ${SETTING} at the primary server.`,
    );
  if (code === '42501') {
    const schema = /permission denied for schema (\S+)/.exec(err.message)?.[1];
    const usage = schema ? `GRANT USAGE ON SCHEMA ${schema} TO ${t.user ? sqlIdent(t.user) : 'USER'}; ` : '';
    return fix(
      `User ${t.user ?? '(default)'} may not use the ledger's tables on PostgreSQL at ${at}: ${err.message}.`,
      `Have the owner of the tables run ${usage}${grantTables(t.user)} (all that lipsync-mcp needs), or connect as that owner.`,
    );
  }
  if (code === '42703' || code === '42P07' || code === '42804')
    return fix(
      `The database on PostgreSQL at ${at} already has tables that are not lipsync-mcp's (${err.message}).`,
      `Give lipsync-mcp a database of its own (createdb lipsync) and name it in ${SETTING}.`,
    );
  if (code === '28P01' || code === '28000')
    return new AppError(
      'invalid_input',
      `PostgreSQL at ${at} refused the credentials of user ${t.user ?? '(default)'}.`,
      {
        hint: `Check the user and password in ${SETTING} (and the server's pg_hba.conf).`,
        details: { setting: SETTING },
        cause: err,
      },
    );
  if (code === '3D000')
    return new AppError(
      'invalid_input',
      `The database ${t.database ?? ''} does not exist on PostgreSQL at ${at}.`,
      {
        hint: `Create it (createdb ${t.database ?? 'NAME'}) or fix the database name in ${SETTING}.`,
        details: { setting: SETTING },
        cause: err,
      },
    );
  // Connection exceptions, shutdowns, too many connections, out of resources.
  if (/^(08|57P|53)/.test(code))
    return unavailable(
      `PostgreSQL at ${at} cannot serve the ledger right now (${err.message}).`,
      'unavailable',
    );
  return err;
}
