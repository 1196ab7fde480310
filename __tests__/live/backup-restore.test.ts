/**
 * The rendered backup and restore scripts (charts/postgres/dump.sh, storage.sh, restore.sh) against
 * real PostgreSQL servers: the in-cluster database's role and database made by the rendered first
 * start, MLflow-like data, the backup pod's two containers, then the restore pod's two containers into
 * a database on a new server, as after a lost disk (docs/postgres.md, restore). Cloud Storage is
 * replaced by a local directory through storage.sh's one seam, LOCAL_BUCKET_DIR.
 *
 * The dump tools here are PostgreSQL 15's (Debian), so the round trip runs on 15; the server image
 * ships its own pg_dump in the cluster. A 16 server shows what happens with an older pg_dump.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DUMP_FILE } from '../../charts/postgres';
import { RESTORE_FILE } from '../../charts/postgres-restore';
import { fingerprint, MLFLOW_LIKE_DATA } from './support/data';
import { CLIENT_BIN, Connection, removeTempDirs, Server, tempDir } from './support/postgres';
import { Container, firstStart, renderPostgres, runContainer, Secrets } from './support/rendered';

const secrets: Secrets = { 'postgres-password': 'superuser secret 1', 'mlflow-password': 'mlflow secret 2', 'monitoring-password': 'monitoring secret 3' };
const rendered = renderPostgres();
const mlflowEnv = (c: Container) => Object.fromEntries(c.env.filter((e: any) => e.value).map((e: any) => [e.name, e.value]));
const mlflow: Connection = {
  user: mlflowEnv(rendered.backup.dump).PGUSER,
  password: secrets['mlflow-password'],
  database: mlflowEnv(rendered.backup.dump).PGDATABASE,
};

let source: Server;
let target: Server;
let newer: Server;
let bucket: string;

beforeAll(async () => {
  [source, target, newer] = await Promise.all([firstStart(15, rendered, secrets), firstStart(15, rendered, secrets), firstStart(16, rendered, secrets)]).then(
    (started) =>
      started.map(({ server, init }) => {
        if (init.code !== 0) throw new Error(`first start on PostgreSQL ${server.major} failed: ${init.stderr}`);
        return server;
      }),
  );
  await source.query(MLFLOW_LIKE_DATA, mlflow);
  await newer.query(MLFLOW_LIKE_DATA, mlflow);
  bucket = tempDir('bucket');
});

afterAll(async () => {
  await Server.stopAll();
  removeTempDirs();
});

let pods = 0;
/**
 * Runs one container of the backup or restore pod: scratch volume, libpq target, the storage seam,
 * and a host name of its own, as every pod has.
 */
function runStep(container: Container, server: Server, scratch: string, extra: { pathPrefix?: string; env?: Record<string, string> } = {}) {
  const { PGHOST, PGPORT } = server.env(mlflow);
  return runContainer(container, {
    secrets,
    mounts: { '/backup': scratch, '/tmp': tempDir('tmp') },
    env: { PGHOST, PGPORT, LOCAL_BUCKET_DIR: bucket, HOSTNAME: `mlflow-db-backup-test-${++pods}`, ...extra.env },
    pathPrefix: extra.pathPrefix,
  });
}

const inScratch = (scratch: string, file: string) => path.join(scratch, path.basename(file));
/** The bucket object that a file of the local bucket folder stands in for (storage.sh's seam). */
const prefix = mlflowEnv(rendered.backup.upload).BACKUP_PREFIX;
const objectOf = (file: string) => `${prefix}/${path.basename(file)}`;

/** The backup pod: dump, then upload. Returns the uploaded object's path. */
async function backup(server: Server): Promise<string> {
  const scratch = tempDir('backup');
  const dump = await runStep(rendered.backup.dump, server, scratch);
  expect(dump.stderr).toBe('');
  expect(dump.code).toBe(0);
  expect(dump.stdout).toMatch(new RegExp(`^dumped ${mlflow.database}: \\d+ bytes$`, 'm'));
  const before = new Set(fs.readdirSync(bucket));
  const upload = await runStep(rendered.backup.upload, server, scratch);
  expect(upload.stderr).toBe('');
  expect(upload.code).toBe(0);
  const added = fs.readdirSync(bucket).filter((f) => !before.has(f));
  expect(added).toHaveLength(1);
  expect(added[0]).toMatch(/^\d{8}T\d{6}Z-mlflow-db-backup-test-\d+\.dump$/);
  expect(upload.stdout).toContain(`uploaded gs://`);
  return path.join(bucket, added[0]);
}

/** The restore pod: download (BACKUP_OBJECT as rendered, or `object`), then restore. */
async function restore(server: Server, object?: string) {
  const scratch = tempDir('restore');
  const download = await runStep(rendered.restore.download, server, scratch, { env: object ? { BACKUP_OBJECT: object } : {} });
  if (download.code !== 0) return { download, restore: undefined };
  return { download, restore: await runStep(rendered.restore.restore, server, scratch) };
}

test('backup, then restore into the empty database of a new server: same rows, same checksums, same sequences, owned by the MLflow role', async () => {
  // An older dump in the bucket: the rendered restore takes the newest.
  fs.writeFileSync(path.join(bucket, '20000101T000000Z.dump'), 'not a dump');
  const object = await backup(source);
  const { download, restore: restored } = await restore(target);
  expect(download.stdout).toContain(`downloaded ${objectOf(object)}`);
  expect(restored!.stderr).toBe('');
  expect(restored!.code).toBe(0);
  const expected = await fingerprint(source, mlflow);
  expect(Object.keys(expected.tables)).toEqual(['artifacts', 'experiments', 'metrics', 'runs']);
  expect(expected.tables.metrics).toMatch(/^20000 [0-9a-f]{32}$/);
  expect(await fingerprint(target, mlflow)).toEqual(expected);
  const owners = await target.query(`SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = 'public'::regnamespace`, mlflow);
  expect(owners).toBe(mlflow.user);
  // The restored sequences go on where the source stopped: new rows do not collide.
  await target.query(`INSERT INTO experiments (name) VALUES ('after restore')`, mlflow);
});

test('restore over a database that changed since the backup brings back exactly the backed-up contents', async () => {
  const object = await backup(source);
  await target.query(
    `DELETE FROM metrics WHERE step > 4; UPDATE runs SET name = 'changed'; DROP TABLE artifacts; INSERT INTO experiments (name) VALUES ('new')`,
    mlflow,
  );
  expect(await fingerprint(target, mlflow)).not.toEqual(await fingerprint(source, mlflow));
  const { restore: restored } = await restore(target, objectOf(object));
  expect(restored!.code).toBe(0);
  expect(await fingerprint(target, mlflow)).toEqual(await fingerprint(source, mlflow));
});

test('a dump cut short is refused by the backup verification: the step fails and leaves no dump to upload', async () => {
  // A pg_dump that reports success but leaves half an archive (a full disk, a lost write).
  const shims = tempDir('shims');
  fs.writeFileSync(
    path.join(shims, 'pg_dump'),
    [
      '#!/bin/bash',
      'set -euo pipefail',
      `${CLIENT_BIN}/pg_dump "$@"`,
      'for a in "$@"; do case "$a" in --file=*) out="${a#--file=}" ;; esac; done',
      'truncate --size=$(( $(stat -c %s "$out") / 2 )) "$out"',
    ].join('\n'),
    { mode: 0o755 },
  );
  const scratch = tempDir('backup');
  const dump = await runStep(rendered.backup.dump, source, scratch, { pathPrefix: shims });
  expect(dump.code).not.toBe(0);
  expect(dump.stderr).toMatch(/pg_restore: error: could not read from input file/);
  expect(fs.existsSync(inScratch(scratch, DUMP_FILE))).toBe(false);
  const upload = await runStep(rendered.backup.upload, source, scratch);
  expect(upload.code).not.toBe(0);
});

test('a truncated backup object fails the restore and leaves the database exactly as it was', async () => {
  const object = await backup(source);
  const truncated = path.join(bucket, '29991231T235959Z-mlflow-db-backup-test.dump');
  fs.writeFileSync(truncated, fs.readFileSync(object).subarray(0, Math.floor(fs.statSync(object).size / 2)));
  await target.query(`UPDATE runs SET name = 'before the failed restore' WHERE run_uuid = md5('1')`, mlflow);
  const before = await fingerprint(target, mlflow);
  try {
    const { download, restore: restored } = await restore(target);
    expect(download.stdout).toContain(`downloaded ${objectOf(truncated)}`);
    expect(restored!.code).not.toBe(0);
    expect(restored!.stderr).toMatch(/pg_restore: error:/);
    expect(restored!.stdout).not.toMatch(/^restored /m);
    expect(await fingerprint(target, mlflow)).toEqual(before);
  } finally {
    fs.rmSync(truncated);
  }
});

test('two backups in the same second both land: the object names carry the pod name', async () => {
  const scratch = tempDir('backup');
  expect((await runStep(rendered.backup.dump, source, scratch)).code).toBe(0);
  const before = new Set(fs.readdirSync(bucket));
  const uploads = [await runStep(rendered.backup.upload, source, scratch), await runStep(rendered.backup.upload, source, scratch)];
  expect(uploads.map((u) => u.code)).toEqual([0, 0]);
  const added = fs.readdirSync(bucket).filter((f) => !before.has(f));
  expect(added).toHaveLength(2);
  expect(uploads.map((u) => u.stdout.trim().replace(/^uploaded .*\//, '')).sort()).toEqual(added.sort());
});

test('pg_dump older than the server fails the backup step (exit code) and leaves no dump behind', async () => {
  expect(await newer.query('SHOW server_version_num', mlflow)).toMatch(/^16/);
  const scratch = tempDir('backup');
  const dump = await runStep(rendered.backup.dump, newer, scratch);
  expect(dump.code).not.toBe(0);
  expect(dump.stderr).toMatch(/aborting because of server version mismatch/);
  expect(dump.stdout).toBe('');
  expect(fs.existsSync(inScratch(scratch, DUMP_FILE))).toBe(false);
});

test('the restore of an empty bucket prefix fails and says there is no backup', async () => {
  const empty = tempDir('empty-bucket');
  const scratch = tempDir('restore');
  const download = await runStep(rendered.restore.download, target, scratch, { env: { LOCAL_BUCKET_DIR: empty } });
  expect(download.code).not.toBe(0);
  expect(download.stderr).toMatch(/^no backup under gs:\/\/\S+\/backups\/mlflow-db\/mlflow\/$/m);
  expect(fs.existsSync(inScratch(scratch, RESTORE_FILE))).toBe(false);
});
