/**
 * The Python programs of the MLflow pods (charts/mlflow/*.py), run as rendered with the
 * machine's python3 against stand-ins for SQLAlchemy, Alembic and MLflow
 * (__tests__/fixtures/mlflow-python): what each does with the database state it finds, and how long
 * it waits. The stand-ins keep a fake clock, so no test waits for real.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { mlflowProgram } from '../charts/mlflow/programs';
import { PROJECT_ROOT } from './support/render';

const STUBS = path.join(PROJECT_ROOT, '__tests__', 'fixtures', 'mlflow-python');

interface State {
  user: string;
  current: string | null;
  head: string;
  /** Revisions the image's Alembic scripts know. */
  known: string[];
  tables: number;
  /** The privilege query answers true from this check on; null: never. */
  grantedAtCheck: number | null;
  /** WAIT_FOR_SCHEMA: the schema reaches head after this many pauses. */
  migratedAfterSleeps?: number;
  privilegeChecks: number;
  initialized: boolean;
  upgraded: boolean;
  clock: number;
  sleeps: number[];
}

const EMPTY: State = {
  user: 'mlflow-server@proj.iam',
  current: null,
  head: 'head0001',
  known: ['old00001', 'head0001'],
  tables: 0,
  grantedAtCheck: 1,
  privilegeChecks: 0,
  initialized: false,
  upgraded: false,
  clock: 0,
  sleeps: [],
};

function run(script: string, state: Partial<State>, env: Record<string, string> = {}): { code: number | null; log: string; state: State } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-scripts-'));
  try {
    const file = path.join(dir, 'state.json');
    fs.writeFileSync(file, JSON.stringify({ ...EMPTY, ...state }));
    const r = spawnSync('python3', ['-c', script], {
      encoding: 'utf8',
      timeout: 30_000,
      env: {
        PATH: `${path.join(STUBS, 'bin')}:${process.env.PATH}`,
        PYTHONPATH: STUBS,
        PYTHONDONTWRITEBYTECODE: '1',
        STUB_STATE: file,
        MLFLOW_BACKEND_STORE_URI: 'postgresql+psycopg2://mlflow-server%40proj.iam@127.0.0.1:5432/mlflow',
        ...env,
      },
    });
    if (r.error) throw new Error(`python3 could not run (it is part of the project's machine): ${r.error.message}`);
    return { code: r.status, log: r.stdout + r.stderr, state: JSON.parse(fs.readFileSync(file, 'utf8')) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const migrate = (state: Partial<State>, grantWaitSeconds = 2700) => run(mlflowProgram('migrate'), state, { GRANT_WAIT_SECONDS: String(grantWaitSeconds) });
const lines = (log: string, text: string) => log.split('\n').filter((l) => l.includes(text));

describe('migration Job (MIGRATE)', () => {
  test('an empty database and the grant in place: creates the schema at once', () => {
    const r = migrate({});
    expect(r.code).toBe(0);
    expect(r.state).toMatchObject({ initialized: true, current: 'head0001', privilegeChecks: 1, sleeps: [] });
    expect(r.log).toContain('[mlflow-gke] empty database: creating the MLflow schema');
    expect(r.log).toContain('[mlflow-gke] schema migrated to head0001');
  });

  // The Cloud SQL IAM user may not create tables in schema public until charts/mlflow/cloudsql-grant.sql
  // has run ("permission denied for schema public", __tests__/live/cloudsql-grant.test.ts).
  test('before the Cloud SQL grant it waits, with growing pauses, and migrates once the grant is there', () => {
    const r = migrate({ grantedAtCheck: 4 });
    expect(r.code).toBe(0);
    expect(r.state.sleeps).toEqual([5, 10, 20]);
    expect(r.state).toMatchObject({ initialized: true, current: 'head0001', privilegeChecks: 4 });
    const waiting = lines(r.log, 'lacks USAGE and CREATE on schema public');
    expect(waiting).toHaveLength(3);
    expect(waiting[0]).toBe(
      '[mlflow-gke] database user mlflow-server@proj.iam lacks USAGE and CREATE on schema public (a migration would fail with "permission denied for schema public"): waiting for the Cloud SQL grant, next check in 5s',
    );
  });

  test('the pause grows to one minute and the wait ends within GRANT_WAIT_SECONDS, with a message that says what to do', () => {
    const r = migrate({ grantedAtCheck: null }, 300);
    expect(r.code).toBe(1);
    expect(r.state.sleeps).toEqual([5, 10, 20, 40, 60, 60, 60]);
    expect(r.state.clock).toBeLessThanOrEqual(300);
    // The database was never touched.
    expect(r.state).toMatchObject({ initialized: false, upgraded: false, current: null });
    expect(r.log).toContain(
      '[mlflow-gke] giving up after 300s: database user mlflow-server@proj.iam still lacks USAGE and CREATE on schema public; run the Cloud SQL grant (charts/mlflow/cloudsql-grant.sql, docs/mlflow.md), then delete this Job and apply again',
    );
  });

  test('an older revision is upgraded with mlflow db upgrade, after the same privilege check', () => {
    const r = migrate({ current: 'old00001', tables: 30, grantedAtCheck: 2 });
    expect(r.code).toBe(0);
    expect(r.state).toMatchObject({ upgraded: true, initialized: false, current: 'head0001', privilegeChecks: 2, sleeps: [5] });
    expect(r.log).toContain('[mlflow-gke] running mlflow db upgrade');
  });

  test('a schema already at head needs nothing, not even the privilege check', () => {
    const r = migrate({ current: 'head0001', tables: 30, grantedAtCheck: null });
    expect(r.code).toBe(0);
    expect(r.state).toMatchObject({ privilegeChecks: 0, upgraded: false, initialized: false });
    expect(r.log).toContain('[mlflow-gke] nothing to migrate');
  });

  test('a revision the image does not know (a newer MLflow migrated it) is refused without waiting', () => {
    const r = migrate({ current: 'future01', tables: 30, grantedAtCheck: null });
    expect(r.code).toBe(1);
    expect(r.state).toMatchObject({ privilegeChecks: 0, upgraded: false, sleeps: [] });
    expect(r.log).toContain('database revision future01 is unknown to this MLflow image: refusing to touch it');
  });
});

describe('server init container (WAIT_FOR_SCHEMA)', () => {
  test('returns at once when the schema is at the image head', () => {
    const r = run(mlflowProgram('wait_for_schema'), { current: 'head0001', tables: 30 });
    expect(r.code).toBe(0);
    expect(r.state.sleeps).toEqual([]);
    expect(r.log).toContain('[mlflow-gke] database schema at head0001, as this MLflow expects; the server may start');
  });

  test('waits for the migration Job, checking every 10 s, and returns when the schema reaches head', () => {
    const r = run(mlflowProgram('wait_for_schema'), { current: 'old00001', tables: 30, migratedAfterSleeps: 3 });
    expect(r.code).toBe(0);
    expect(r.state.sleeps).toEqual([10, 10, 10]);
    expect(lines(r.log, 'waiting for the migration Job: database schema at old00001, this MLflow needs head0001')).toHaveLength(3);
  });

  test('fails on a revision the image does not know, so the pod never serves a newer schema', () => {
    const r = run(mlflowProgram('wait_for_schema'), { current: 'future01', tables: 30 });
    expect(r.code).toBe(1);
    expect(r.log).toContain('database schema revision future01 is unknown to this MLflow image');
  });
});
