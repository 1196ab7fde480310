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
