/** Test data shaped like MLflow's tables, and a fingerprint of a database's contents to compare. */
import type { Connection, Server } from './postgres';

/** Experiments, runs, metrics and a bytea column: sequences, foreign keys, indexes, jsonb, non-ASCII text. */
export const MLFLOW_LIKE_DATA = `
CREATE TABLE experiments (
  experiment_id serial PRIMARY KEY,
  name varchar(256) NOT NULL UNIQUE,
  lifecycle_stage varchar(32) NOT NULL DEFAULT 'active'
);
CREATE TABLE runs (
  run_uuid varchar(32) PRIMARY KEY,
  experiment_id integer NOT NULL REFERENCES experiments,
  name text,
  tags jsonb NOT NULL DEFAULT '{}'
);
CREATE TABLE metrics (
  key varchar(250) NOT NULL,
  value double precision NOT NULL,
  step bigint NOT NULL,
  run_uuid varchar(32) NOT NULL REFERENCES runs,
  PRIMARY KEY (key, step, run_uuid)
);
CREATE INDEX metrics_run ON metrics (run_uuid);
CREATE TABLE artifacts (id bigserial PRIMARY KEY, body bytea NOT NULL);

INSERT INTO experiments (name) SELECT 'experiment ' || i || ' – données' FROM generate_series(1, 50) i;
INSERT INTO runs SELECT md5(i::text), 1 + i % 50, 'run ' || i, jsonb_build_object('i', i, 'note', 'tag é ' || i) FROM generate_series(1, 2000) i;
INSERT INTO metrics SELECT 'loss', 1.0 / (s + 1), s, md5(r::text) FROM generate_series(1, 2000) r, generate_series(0, 9) s;
INSERT INTO artifacts (body) SELECT decode(md5(i::text) || md5((i * 7)::text), 'hex') FROM generate_series(1, 500) i;
`;

export interface Fingerprint {
  /** Per table: row count and an md5 over its rows in a fixed order. */
  readonly tables: Record<string, string>;
  /** Per sequence: last value and whether it was used. */
  readonly sequences: Record<string, string>;
}

/** What a dump must carry over: every table's rows and every sequence's position in schema public. */
export async function fingerprint(server: Server, conn: Connection): Promise<Fingerprint> {
  const names = (kind: string) =>
    server
      .query(`SELECT relname FROM pg_class WHERE relkind = '${kind}' AND relnamespace = 'public'::regnamespace ORDER BY relname`, conn)
      .then((out) => out.split('\n').filter(Boolean));
  const [tables, sequences] = await Promise.all([names('r'), names('S')]);
  const rows = async (parts: string[]) =>
    parts.length === 0 ? [] : (await server.query(parts.join('\nUNION ALL\n') + ';', conn)).split('\n').map((line) => line.split('|'));
  const tableRows = await rows(
    tables.map((t) => `SELECT '${t}', count(*) || ' ' || md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM public."${t}" x`),
  );
  const sequenceRows = await rows(sequences.map((s) => `SELECT '${s}', last_value || ' ' || is_called FROM public."${s}"`));
  return { tables: Object.fromEntries(tableRows), sequences: Object.fromEntries(sequenceRows) };
}

/** Per table of schema public (Alembic's version tables aside): its columns, in their order. */
export type ColumnSets = Record<string, string[]>;

/** The columns of every table of an MLflow database, Alembic's version tables aside (they are to change). */
export async function columnSets(server: Server, conn: Connection): Promise<ColumnSets> {
  const out = await server.query(
    `SELECT table_name, string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns
     WHERE table_schema = 'public' AND table_name NOT LIKE 'alembic_version%' GROUP BY table_name ORDER BY table_name`,
    conn,
  );
  return Object.fromEntries(
    out
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('|'))
      .map(([table, columns]) => [table, columns.split(',')]),
  );
}

/** Per table: the md5 of every row, sorted. */
export type RowHashes = Record<string, string[]>;

/**
 * Per table of `columns`: an md5 of each row over exactly those columns, sorted. Columns a later
 * migration adds are not read, so every row an upgrade kept as it was keeps its hash; a table or
 * column it dropped fails the query. Hashes rather than one checksum per table: an upgraded platform
 * adds rows of its own (the provisioning Job's accounts), and the earlier rows must be among them.
 */
export async function rowHashes(server: Server, conn: Connection, columns: ColumnSets): Promise<RowHashes> {
  const parts = Object.entries(columns).map(
    ([table, names]) => `SELECT '${table}', md5(ROW(${names.map((c) => `x."${c}"`).join(', ')})::text) FROM public."${table}" x`,
  );
  const out = await server.query(`${parts.join('\nUNION ALL\n')}\nORDER BY 1, 2;`, conn);
  const hashes: RowHashes = Object.fromEntries(Object.keys(columns).map((t) => [t, []]));
  for (const [table, hash] of out
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('|')))
    hashes[table].push(hash);
  return hashes;
}

/** The rows of `earlier` that `now` lacks (as many times as they are lacking), by table; only tables with any. */
export function missingRows(earlier: RowHashes, now: RowHashes): RowHashes {
  const missing: RowHashes = {};
  for (const [table, hashes] of Object.entries(earlier)) {
    const left = new Map<string, number>();
    for (const h of now[table] ?? []) left.set(h, (left.get(h) ?? 0) + 1);
    const lacking = hashes.filter((h) => {
      const n = left.get(h) ?? 0;
      left.set(h, n - 1);
      return n <= 0;
    });
    if (lacking.length > 0) missing[table] = lacking;
  }
  return missing;
}
