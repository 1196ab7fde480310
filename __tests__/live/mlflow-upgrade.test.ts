/**
 * An upgrade from real earlier MLflow releases, in statefulset mode (config/dev.yaml): the rendered
 * PostgreSQL's first start, then an install made by MLflow 3.10.1 (the oldest line with a -full
 * image; the render itself runs images from config/schema/mlflow.ts MIN_MLFLOW on) or 3.13.0 through its own
 * `mlflow server --app-name basic-auth` and clients (__tests__/live/programs/upgrade_seed.py:
 * experiments, runs, params, metrics, tags, inputs, artifacts, a logged model, a registered model with
 * versions and an alias, users and their permissions), then the current render's migration Job and
 * server (local/platform.ts earlierInstall).
 *
 * Then it shows that nothing was lost: both Alembic histories at the image's head; every row of every
 * table of the earlier release, over that release's columns, unchanged; every artifact served by the
 * new server byte for byte; every user logs in with their password; every permission holds; the
 * registered model is served. And that a downgrade is refused: the earlier release's server and its
 * `mlflow db upgrade` fail on the revision they do not know, and so does the rendered migration run
 * with the earlier release, with its own line; the database stays as it was. Last, the dump the
 * migration Job's backup gate took before it changed the schema (charts/mlflow/migration.ts) restores
 * with charts/postgres/restore.sh into a new server, which the earlier release serves as before.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { loadConfig } from '../../model/load';
import type { LocalPlatform } from '../../local/platform';
import { LocalPod } from '../../local/pod-runner';
import { Connection, run, Server, tempDir } from '../../local/postgres';
import { pythonEnvBin } from '../support/python-env';
import { PROJECT_ROOT } from '../support/render';
import { ColumnSets, columnSets, missingRows, RowHashes, rowHashes } from './support/data';
import { earlierMlflowBin, runJson, runProgram, startEarlierServer } from './support/earlier-mlflow';
import { START_SECONDS, startPlatform, stopPlatform } from './support/platform';

const config = loadConfig(path.join(PROJECT_ROOT, 'config/dev.yaml'));
const RELEASES = [{ version: '3.10.1' }, { version: '3.13.0' }];

/** The seeded users: each one's permission on the shared experiment and on the registered model (null: none). */
const USERS = [
  { username: 'reader', experiment: 'READ', model: 'READ' },
  { username: 'editor', experiment: 'EDIT', model: 'EDIT' },
  { username: 'manager', experiment: 'MANAGE', model: 'MANAGE' },
  { username: 'stranger', experiment: null, model: null },
].map((u) => ({ ...u, password: `${u.username}-password-of-the-earlier-release` }));
const user = (name: string) => USERS.find((u) => u.username === name)!;

/**
 * The tracking and auth heads of an environment's MLflow, read as the rendered programs read them
 * (charts/mlflow/shared.py schema_state and auth_schema_state).
 */
const HEADS = [
  'import json',
  'from alembic.script import ScriptDirectory',
  'from mlflow.server.auth.db import utils as auth',
  'from mlflow.store.db.utils import _get_latest_schema_revision',
  'print(json.dumps([_get_latest_schema_revision(), ScriptDirectory.from_config(auth._get_alembic_config("")).get_current_head()]))',
].join('\n');

/** The rendered server's database login (its backend store URI and PGPASSWORD), with the platform's test password. */
function mlflowLogin(platform: LocalPlatform): Connection {
  const server = platform.rendered.named('Deployment', 'mlflow').spec.template.spec.containers.find((c: { name: string }) => c.name === 'mlflow');
  const env = (name: string) => server.env.find((e: { name: string }) => e.name === name);
  const [, user, database] = /^postgresql\+psycopg2:\/\/([^@:]+)@[^/]+\/([^?]+)/.exec(env('MLFLOW_BACKEND_STORE_URI').value)!;
  const ref = env('PGPASSWORD').valueFrom.secretKeyRef;
  return { user: decodeURIComponent(user), database, password: platform.secrets[ref.name][ref.key] };
}

/** The rendered basic_auth.ini's default_permission. */
function defaultPermission(platform: LocalPlatform): string {
  const ini = Object.values(platform.configMaps(platform.ns)).find((data) => 'basic_auth.ini' in data)!['basic_auth.ini'];
  return /^default_permission = (\S+)$/m.exec(ini)![1];
}

/** Every file under `dir`, by path relative to it, with its sha256. */
function fileHashes(dir: string): Record<string, string> {
  const files = fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  return Object.fromEntries(
    files
      .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
      .sort()
      .map((file) => [
        file,
        createHash('sha256')
          .update(fs.readFileSync(path.join(dir, file)))
          .digest('hex'),
      ]),
  );
}

const basicHeader = (u: { username: string; password: string }) => `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}`;

describe.each(RELEASES)('an install of MLflow $version, upgraded by the current render', ({ version }) => {
  let earlier: string;
  let platform: LocalPlatform;
  let login: Connection;
  /** What upgrade_seed.py made: experiment and run ids, the logged model, the registered model and its versions. */
  let seeded: { experiments: { shared: string; second: string }; runs: string[]; loggedModel: string; model: string; versions: string[] };
  let columns: ColumnSets;
  let before: RowHashes;
  let artifacts: Record<string, string>;
  let earlierHeads: [string, string];
  let revisions: [string, string];

  const sql = (query: string) => platform.postgres!.query(query, { ...platform.postgres!.superuser, database: login.database });
  const superuser = () => ({ ...platform.postgres!.superuser, database: login.database });
  /**
   * The earlier release's columns that the upgraded database still has. The migration may drop what
   * holds nothing (3.17.0's 75868b020152_add_sql_trace_analytics_schema.py drops spans.dimension_attributes,
   * and the seed makes no traces): the row test shows that every table with rows kept all its columns.
   */
  const kept = async (): Promise<ColumnSets> => {
    const now = await columnSets(platform.postgres!, superuser());
    return Object.fromEntries(Object.entries(columns).flatMap(([t, names]) => (now[t] ? [[t, names.filter((c) => now[t].includes(c))]] : [])));
  };
  const hashes = async () => rowHashes(platform.postgres!, superuser(), await kept());
  const dbRevisions = async () =>
    (await sql('SELECT (SELECT version_num FROM alembic_version), (SELECT version_num FROM alembic_version_auth)')).split('|') as [string, string];

  /** The earlier install: the earlier release's server on the platform's database and artifacts folder, the seed, what it left. */
  async function earlierInstall(postgres: Server, p: LocalPlatform): Promise<void> {
    login = mlflowLogin(p);
    const uri = `postgresql+psycopg2://${encodeURIComponent(login.user)}:${encodeURIComponent(login.password!)}@127.0.0.1:${postgres.port}/${login.database}?sslmode=require`;
    const admin = p.admin();
    const server = await startEarlierServer(earlier, { backendUri: uri, artifactsDir: p.artifactsDir, admin, defaultPermission: defaultPermission(p) });
    const work = fs.mkdtempSync(path.join(p.options.dir, 'seed-'));
    try {
      seeded = await runJson(
        earlier,
        'python',
        [path.join(PROJECT_ROOT, '__tests__/live/programs/upgrade_seed.py'), server.url, JSON.stringify({ users: USERS }), work],
        {
          MLFLOW_TRACKING_USERNAME: admin.username,
          MLFLOW_TRACKING_PASSWORD: admin.password,
        },
      );
    } finally {
      await server.stop();
    }
    const superuser = { ...postgres.superuser, database: login.database };
    columns = await columnSets(postgres, superuser);
    before = await rowHashes(postgres, superuser, columns);
    artifacts = fileHashes(p.artifactsDir);
    revisions = (await postgres.query('SELECT (SELECT version_num FROM alembic_version), (SELECT version_num FROM alembic_version_auth)', superuser)).split(
      '|',
    ) as [string, string];
  }

  beforeAll(async () => {
    earlier = earlierMlflowBin(version);
    earlierHeads = (await runJson(earlier, 'python', ['-c', HEADS])) as [string, string];
    platform = await startPlatform(config, { earlierInstall });
  }, START_SECONDS * 1000);
  afterAll(() => stopPlatform(platform), 120000);

  test('the earlier release made its schema; the migration brought both histories to the image head', async () => {
    expect(revisions).toEqual(earlierHeads);
    const heads = (await runJson(pythonEnvBin(), 'python', ['-c', HEADS])) as [string, string];
    // The tracking history moved: this is an upgrade, not a run at head.
    expect(heads[0]).not.toBe(earlierHeads[0]);
    expect(await dbRevisions()).toEqual(heads);
  });

  test("every row of the earlier release's tables is there with the same values", async () => {
    // The seed reached the tables the hashes are to cover: none of them is compared empty.
    const seededTables = ['experiments', 'experiment_tags', 'runs', 'metrics', 'latest_metrics', 'params', 'tags', 'inputs', 'datasets', 'logged_models'];
    for (const table of [...seededTables, 'registered_models', 'model_versions', 'registered_model_aliases', 'users'])
      expect([table, before[table].length > 0]).toEqual([table, true]);
    // The grants: per-resource tables up to the 3.12 line, role_permissions from the role-based permissions of 3.13 on.
    const grants = before.role_permissions ?? before.experiment_permissions;
    expect(grants.length).toBeGreaterThanOrEqual(USERS.filter((u) => u.experiment).length);
    expect(before.metrics.length).toBe(seeded.runs.length * 20);
    // Only tables the earlier release left empty lost a column or went.
    const now = await kept();
    const changed = Object.keys(columns).filter((t) => now[t]?.length !== columns[t].length);
    expect(Object.fromEntries(changed.map((t) => [t, before[t]]))).toEqual(Object.fromEntries(changed.map((t) => [t, []])));
    // Every earlier row, every value of its earlier columns; the platform's own rows (its accounts) come on top.
    expect(missingRows(before, await hashes())).toEqual({});
  });

  test('every artifact is served by the new server, byte for byte', async () => {
    // Three files for each of the three runs (upgrade_seed.py).
    expect(Object.keys(artifacts)).toHaveLength(9);
    const client = platform.client();
    for (const [file, hash] of Object.entries(artifacts)) {
      const answer = await client.call({ path: `/api/2.0/mlflow-artifacts/artifacts/${file}`, basic: platform.admin() });
      expect([file, answer.status, createHash('sha256').update(answer.body).digest('hex')]).toEqual([file, 200, hash]);
    }
  });

  test('every user of the earlier release logs in with their password; a wrong password is refused', async () => {
    const client = platform.client();
    for (const u of USERS) {
      const own = await client.call({ path: `/api/2.0/mlflow/users/get?username=${u.username}`, basic: u });
      expect([u.username, own.status, own.json().user?.username]).toEqual([u.username, 200, u.username]);
      const wrong = await client.call({ path: `/api/2.0/mlflow/users/get?username=${u.username}`, basic: { ...u, password: `${u.password}x` } });
      expect([u.username, wrong.status]).toEqual([u.username, 401]);
    }
  });

  test('every permission of the earlier release holds', async () => {
    const client = platform.client();
    const { shared } = seeded.experiments;
    const status = async (u: string, method: string, route: string, body?: unknown) =>
      (await client.call({ method, path: `/api/2.0/mlflow/${route}`, body, basic: user(u) })).status;
    const getExperiment = (u: string) => status(u, 'GET', `experiments/get?experiment_id=${shared}`);
    const getRun = (u: string) => status(u, 'GET', `runs/get?run_id=${seeded.runs[0]}`);
    const tagExperiment = (u: string) => status(u, 'POST', 'experiments/set-experiment-tag', { experiment_id: shared, key: `by-${u}`, value: 'x' });
    const deleteExperiment = (u: string) => status(u, 'POST', 'experiments/delete', { experiment_id: shared });
    const getModel = (u: string) => status(u, 'GET', `registered-models/get?name=${seeded.model}`);
    const describeModel = (u: string) => status(u, 'PATCH', 'registered-models/update', { name: seeded.model, description: `by ${u}` });
    // READ reads, and edits nothing.
    expect(await Promise.all([getExperiment('reader'), getRun('reader'), getModel('reader')])).toEqual([200, 200, 200]);
    expect(await Promise.all([tagExperiment('reader'), describeModel('reader')])).toEqual([403, 403]);
    // No grant, no access (default_permission NO_PERMISSIONS in the render).
    expect(defaultPermission(platform)).toBe('NO_PERMISSIONS');
    expect(await Promise.all([getExperiment('stranger'), getRun('stranger'), getModel('stranger'), tagExperiment('stranger')])).toEqual([403, 403, 403, 403]);
    // EDIT edits, and deletes nothing; MANAGE deletes (and restores).
    expect(await Promise.all([tagExperiment('editor'), describeModel('editor'), deleteExperiment('editor')])).toEqual([200, 200, 403]);
    expect(await Promise.all([tagExperiment('manager'), describeModel('manager')])).toEqual([200, 200]);
    expect(await deleteExperiment('manager')).toBe(200);
    expect(await status('manager', 'POST', 'experiments/restore', { experiment_id: shared })).toBe(200);
  });

  test('runs, metrics, the logged model and the registered model with its versions and alias are served as made', async () => {
    const client = platform.client();
    const admin = platform.admin();
    const get = async (route: string) => {
      const answer = await client.call({ path: `/api/2.0/mlflow/${route}`, basic: admin });
      expect([route, answer.status]).toEqual([route, 200]);
      return answer.json();
    };
    const run = (await get(`runs/get?run_id=${seeded.runs[0]}`)).run;
    expect(run.info.status).toBe('FINISHED');
    expect(run.data.params).toEqual(expect.arrayContaining([{ key: 'learning_rate', value: '0.01' }]));
    expect(run.inputs.dataset_inputs[0].dataset.name).toBe('images-0');
    const history = (await get(`metrics/get-history?run_id=${seeded.runs[0]}&metric_key=loss`)).metrics;
    expect(history.map((m: { step: number }) => m.step).sort((a: number, b: number) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect((await get(`runs/get?run_id=${seeded.runs[2]}`)).run.info.lifecycle_stage).toBe('deleted');
    expect((await get(`logged-models/${seeded.loggedModel}`)).model.info.name).toBe('seeded-logged-model');
    const model = (await get(`registered-models/get?name=${seeded.model}`)).registered_model;
    expect(model.tags).toEqual([{ key: 'domain', value: 'vision' }]);
    const versions = await Promise.all(seeded.versions.map((v) => get(`model-versions/get?name=${seeded.model}&version=${v}`)));
    expect(versions.map((v) => v.model_version.run_id)).toEqual(seeded.runs.slice(0, 2));
    expect((await get(`registered-models/alias?name=${seeded.model}&alias=champion`)).model_version.version).toBe(seeded.versions[1]);
  });

  test('the earlier release refuses the upgraded database: its server and its mlflow db upgrade fail; nothing changes', async () => {
    const unchanged = await hashes();
    const uri = `postgresql+psycopg2://${encodeURIComponent(login.user)}:${encodeURIComponent(login.password!)}@127.0.0.1:${platform.postgres!.port}/${login.database}?sslmode=require`;
    const [head, authHead] = await dbRevisions();
    const dir = tempDir('earlier-artifacts');
    const started = startEarlierServer(earlier, { backendUri: uri, artifactsDir: dir, admin: platform.admin(), defaultPermission: 'NO_PERMISSIONS' });
    await expect(started).rejects.toThrow(`Detected out-of-date database schema (found version ${head}, but expected ${earlierHeads[0]})`);
    const upgrade = await runProgram(earlier, 'mlflow', ['db', 'upgrade', uri]);
    expect(upgrade.code).not.toBe(0);
    expect(upgrade.stdout + upgrade.stderr).toContain(`Can't locate revision identified by '${head}'`);
    expect(await dbRevisions()).toEqual([head, authHead]);
    expect(await hashes()).toEqual(unchanged);
  }, 240000);

  test('the rendered migration Job run with the earlier release fails; its migration program refuses the unknown revision and exits 1', async () => {
    const [head, authHead] = await dbRevisions();
    const unchanged = await hashes();
    const job = platform.rendered.job('mlflow-migrate');
    const earlierPod = (name: string, spec: ConstructorParameters<typeof LocalPod>[0]) => {
      const options = platform.podOptions(name);
      return new LocalPod(spec, { ...options, seam: { ...options.seam, pythonBin: earlier } });
    };
    const outcome = (pod: LocalPod) =>
      pod.runJob().then(
        () => 'ran to its end',
        (error: Error) => error.message,
      );
    // The whole pod: under an earlier release its first init container, the backup gate's plan, already
    // fails: importing that release's mlflow.server.auth reads basic_auth.ini, which requires
    // admin_username there (mlflow/server/auth/config.py read_auth_config of 3.10.1 and 3.13.0), and the
    // render leaves the admin to MLFLOW_AUTH_ADMIN_USERNAME.
    expect(await outcome(earlierPod(`${job.metadata.name}-earlier`, job.spec.template.spec))).toMatch(/ exited 1:/);
    // The migration program itself (its container alone) says why it refuses.
    const spec = structuredClone(job.spec.template.spec);
    spec.initContainers = [];
    const failed = await outcome(earlierPod(`${job.metadata.name}-earlier-migrate`, spec));
    expect(failed).toMatch(/: migrate exited 1:/);
    expect(failed).toContain(`[mlflow-gke] database revision ${head} is unknown to this MLflow image: refusing to touch it (downgrades are not supported)`);
    expect(await dbRevisions()).toEqual([head, authHead]);
    expect(await hashes()).toEqual(unchanged);
  }, 240000);

  test("the backup gate's dump, taken before the migration, restores into a new server, which the earlier release serves as before", async () => {
    // The migration Job's gate (charts/mlflow/migration.ts) dumped the database before it changed the
    // schema and uploaded the dump into the platform's bucket folder: the only dump there.
    const dumps = fs.readdirSync(platform.bucketDir).filter((f) => f.endsWith('.dump'));
    expect(dumps).toHaveLength(1);
    // A copy the unprivileged user that runs restore.sh may read (local/postgres.ts run).
    const dump = path.join(tempDir('gate-dump'), dumps[0]);
    fs.copyFileSync(path.join(platform.bucketDir, dumps[0]), dump);
    fs.chmodSync(dump, 0o644);
    const fresh = await Server.create(15, { user: 'postgres', database: 'postgres' });
    try {
      await fresh.query(`CREATE ROLE "${login.user}" LOGIN PASSWORD '${login.password}'; CREATE DATABASE "${login.database}" OWNER "${login.user}";`);
      const restored = await run('bash', ['-c', fs.readFileSync(path.join(PROJECT_ROOT, 'charts/postgres/restore.sh'), 'utf8')], {
        env: { ...fresh.env(login), RESTORE_FILE: dump },
      });
      expect([restored.code, restored.stderr, restored.stdout.trim()]).toEqual([0, '', `restored ${login.database}`]);
      expect(await rowHashes(fresh, { ...fresh.superuser, database: login.database }, columns)).toEqual(before);
      const uri = `postgresql+psycopg2://${encodeURIComponent(login.user)}:${encodeURIComponent(login.password!)}@/${login.database}?host=${fresh.env(login).PGHOST}&port=${fresh.port}`;
      const server = await startEarlierServer(earlier, {
        backendUri: uri,
        artifactsDir: tempDir('earlier-artifacts'),
        admin: platform.admin(),
        defaultPermission: 'NO_PERMISSIONS',
      });
      try {
        const get = (u: { username: string; password: string }) =>
          fetch(`${server.url}/api/2.0/mlflow/experiments/get?experiment_id=${seeded.experiments.shared}`, { headers: { authorization: basicHeader(u) } }).then(
            (r) => r.status,
          );
        expect(await Promise.all(USERS.map(get))).toEqual(USERS.map((u) => (u.experiment ? 200 : 403)));
        expect(await get({ ...user('reader'), password: 'not the password' })).toBe(401);
      } finally {
        await server.stop();
      }
      expect(await rowHashes(fresh, { ...fresh.superuser, database: login.database }, columns)).toEqual(before);
    } finally {
      await fresh.stop();
    }
  }, 240000);
});
