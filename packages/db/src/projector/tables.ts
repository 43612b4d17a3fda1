// Table plumbing for blue/green rebuilds: make an empty twin of a table (`plans__next`), swap it in
// under the live name with the live table's index names and grants, and compare a twin with the live table.

import {
  sql,
  type Kysely,
  type Transaction,
} from 'kysely';

type Db = Kysely<any> | Transaction<any>;

/** Drops any leftover twin and creates an empty one with the live table's columns, defaults, checks and indexes. */
export async function createTwin(db: Db, table: string, suffix: string): Promise<void> {
  const twin = `${table}${suffix}`;
  await sql`drop table if exists ${sql.table(twin)}`.execute(db);
  await sql`create table ${sql.table(twin)} (like ${sql.table(table)} including all)`.execute(db);
  await copyGrants(db, table, twin);
}

export async function dropTwin(db: Db, table: string, suffix: string): Promise<void> {
  await sql`drop table if exists ${sql.table(`${table}${suffix}`)}`.execute(db);
}

/** The twin gets exactly the live table's grants (the app role reads and writes as iap_app). */
async function copyGrants(db: Db, from: string, to: string): Promise<void> {
  const { rows } = await sql<{ grantee: string; privilege_type: string }>`
    select grantee, privilege_type from information_schema.role_table_grants
    where table_schema = current_schema() and table_name = ${from}
      and grantee <> (select tableowner from pg_tables where schemaname = current_schema() and tablename = ${from})`.execute(db);
  for (const r of rows) {
    await sql`grant ${sql.raw(r.privilege_type)} on ${sql.table(to)} to ${r.grantee === 'PUBLIC' ? sql.raw('public') : sql.id(r.grantee)}`.execute(db);
  }
}

interface IndexDef {
  readonly name: string;
  /** The definition without its own name and table: what makes two twins' indexes the same index. */
  readonly shape: string;
}

async function indexesOf(db: Db, table: string): Promise<IndexDef[]> {
  const { rows } = await sql<{ name: string; def: string }>`
    select i.relname as name, pg_get_indexdef(i.oid) as def
    from pg_index x join pg_class i on i.oid = x.indexrelid
    where x.indrelid = ${table}::regclass`.execute(db);
  return rows.map((r) => ({ name: r.name, shape: r.def.replace(/^CREATE (UNIQUE )?INDEX \S+ ON \S+/, 'CREATE $1INDEX ON') }));
}

/**
 * In the caller's transaction: the twin takes the live table's name, index names and grants; the old
 * table is dropped. Readers see the old table or the new one, never a half-built one.
 */
export async function swapInTwin(trx: Transaction<any>, table: string, suffix: string): Promise<void> {
  const twin = `${table}${suffix}`;
  const old = `${table}__old`;
  const liveIndexes = await indexesOf(trx, table);
  await sql`drop table if exists ${sql.table(old)}`.execute(trx);
  await sql`alter table ${sql.table(table)} rename to ${sql.table(old)}`.execute(trx);
  await sql`alter table ${sql.table(twin)} rename to ${sql.table(table)}`.execute(trx);
  await sql`drop table ${sql.table(old)}`.execute(trx);
  // Migrations drop indexes by name: give the new table's indexes the names the old ones had.
  const byShape = new Map(liveIndexes.map((i) => [i.shape, i.name]));
  for (const i of await indexesOf(trx, table)) {
    const name = byShape.get(i.shape);
    if (name && name !== i.name) await sql`alter index ${sql.id(i.name)} rename to ${sql.id(name)}`.execute(trx);
  }
}

export interface RowDifference {
  readonly table: string;
  /** The primary key of the row, e.g. { plan_id: "…" }. */
  readonly key: Record<string, unknown>;
  readonly kind: 'missing_from_live' | 'not_in_rebuild' | 'different';
  /** For `different`: the columns whose values differ, with live and rebuilt values. */
  readonly columns?: ReadonlyArray<{ column: string; live: unknown; rebuilt: unknown }>;
}

async function primaryKey(db: Db, table: string): Promise<string[]> {
  const { rows } = await sql<{ col: string }>`
    select a.attname as col from pg_index x
    join pg_attribute a on a.attrelid = x.indrelid and a.attnum = any(x.indkey)
    where x.indrelid = ${table}::regclass and x.indisprimary
    order by array_position(x.indkey::int2[], a.attnum)`.execute(db);
  return rows.map((r) => r.col);
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(normalise(a)) === JSON.stringify(normalise(b));
function normalise(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, normalise((v as Record<string, unknown>)[k])]));
  return v;
}

/** Rows that differ between a live table and its rebuilt twin, named by primary key (at most `limit`). */
export async function compareTables(db: Db, table: string, twin: string, limit = 50): Promise<{ differences: RowDifference[]; total: number }> {
  const key = await primaryKey(db, table);
  const side = async (a: string, b: string) => {
    const { rows } = await sql<{ r: Record<string, unknown> }>`
      select to_jsonb(d) as r from (select * from ${sql.table(a)} except all select * from ${sql.table(b)}) d limit 10000`.execute(db);
    return new Map(rows.map(({ r }) => [JSON.stringify(key.map((k) => r[k])), r]));
  };
  const live = await side(table, twin);
  const rebuilt = await side(twin, table);
  const out: RowDifference[] = [];
  const keyOf = (r: Record<string, unknown>) => Object.fromEntries(key.map((k) => [k, r[k]]));
  for (const [k, l] of live) {
    const r = rebuilt.get(k);
    if (!r) out.push({ table, key: keyOf(l), kind: 'not_in_rebuild' });
    else {
      const columns = Object.keys(l)
        .filter((c) => !same(l[c], r[c]))
        .map((c) => ({ column: c, live: l[c], rebuilt: r[c] }));
      out.push({ table, key: keyOf(l), kind: 'different', columns });
    }
  }
  for (const [k, r] of rebuilt) if (!live.has(k)) out.push({ table, key: keyOf(r), kind: 'missing_from_live' });
  return { differences: out.slice(0, limit), total: out.length };
}
