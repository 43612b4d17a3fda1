// The report projector's lease: with several workers, one of them projects and the others stand by. The
// lease is a session-level advisory lock held on a connection of its own, so Postgres frees it the moment
// that connection ends — a holder killed with SIGKILL closes its socket, and a standby takes the lease at its
// next try. The lease only decides who works; each batch still takes the projector's transaction lock and
// moves the checkpoint in its own transaction, so two holders for a moment (a lease connection lost while its
// process lives on) can neither apply an event twice nor skip one.

import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { Database } from '../schema.js';
import { LOCK_CLASS } from './projector.js';
import type { ReportDatabase } from './read-model.js';

/** Advisory lock key (LOCK_CLASS, PROJECTOR_LEASE): the projector lease. */
export const PROJECTOR_LEASE = 3;
/** application_name of a lease connection; the holder's label follows it. */
export const LEASE_APPLICATION = 'iap-projector-lease';

export interface ProjectorLease {
  /** True while this process holds the lease: checks the connection it is held on, or tries to take it. */
  held(): Promise<boolean>;
  /** Gives the lease up (closes its connection). */
  release(): Promise<void>;
}

export interface LeaseOptions {
  readonly connectionString: string;
  /** Who holds it (shown in pg_stat_activity), e.g. `<pid>@<host>` as Temporal names a worker. */
  readonly holder: string;
  readonly onChange?: (held: boolean) => void;
}

export function projectorLease(opts: LeaseOptions): ProjectorLease {
  let client: pg.Client | null = null;
  const drop = async (c: pg.Client) => {
    if (client === c) client = null;
    await c.end().catch(() => undefined);
  };
  return {
    async held() {
      const current = client;
      if (current) {
        try {
          await current.query('select 1');
          return true;
        } catch {
          await drop(current);
          opts.onChange?.(false);
        }
      }
      const c = new pg.Client({
        connectionString: opts.connectionString,
        application_name: `${LEASE_APPLICATION} ${opts.holder}`.slice(0, 63),
        connectionTimeoutMillis: 5_000,
        // A holder whose host vanishes without closing its socket is noticed by the server's keepalives
        // (set below for this session) instead of the kernel's two-hour default.
        keepAlive: true,
      });
      c.on('error', () => undefined);
      try {
        await c.connect();
        await c.query('set tcp_keepalives_idle = 5; set tcp_keepalives_interval = 2; set tcp_keepalives_count = 3');
        const r = await c.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [LOCK_CLASS, PROJECTOR_LEASE]);
        if (!r.rows[0]?.ok) {
          await drop(c);
          return false;
        }
      } catch {
        await drop(c);
        return false;
      }
      client = c;
      opts.onChange?.(true);
      return true;
    },
    async release() {
      if (client) await drop(client);
    },
  };
}

/** The label of the lease's current holder, or null when nobody holds it. */
export async function projectorLeaseHolder(db: Kysely<Database> | Kysely<ReportDatabase>): Promise<string | null> {
  const { rows } = await sql<{ app: string }>`
    select a.application_name as app
      from pg_locks l join pg_stat_activity a on a.pid = l.pid
     where l.locktype = 'advisory' and l.granted and l.database = (select oid from pg_database where datname = current_database())
       and l.classid = ${LOCK_CLASS} and l.objid = ${PROJECTOR_LEASE} and l.objsubid = 2`.execute(db);
  const app = rows[0]?.app;
  return app === undefined ? null : app.slice(LEASE_APPLICATION.length + 1);
}
