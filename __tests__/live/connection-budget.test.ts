/**
 * The database connection budget (model/connection-budget.ts), on the real rendered server: the
 * rendered pool sizes reach every engine MLflow opens, each process opens the engines the budget
 * counts, and under enough concurrent requests to saturate the pools PostgreSQL never sees more
 * connections of the MLflow role than the budget of one pod (sampled from pg_stat_activity every
 * 100 ms), nor, while a Job runs beside the server, more than the pod's plus the Job's.
 *
 * Every Python process runs with __tests__/live/support/pool-trace/sitecustomize.py, which records
 * each SQLAlchemy engine a process creates (process, parent, pool class, size, overflow, command).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { LocalPlatform } from '../../local/platform';
import { jobConnections, podConnections, SERVER_ENGINES_PER_PROCESS, SERVER_WRAPPER_CONNECTIONS } from '../../model/connection-budget';
import { serverWorkers } from '../../model/server-workers';
import { loadConfig, parseConfig } from '../../model/load';
import { PROJECT_ROOT } from '../support/render';
import { START_SECONDS, startPlatform, stopPlatform } from './support/platform';

interface EngineRecord {
  readonly pid: number;
  readonly ppid: number;
  readonly pool: string;
  readonly size: number | null;
  readonly overflow: number | null;
  readonly argv: string;
  readonly caller: string;
}

// config/dev.yaml (statefulset) with two workers and the smallest pools: 50 callers saturate them.
const dev = structuredClone(loadConfig(path.join(PROJECT_ROOT, 'config/dev.yaml'))) as unknown as Record<string, any>;
dev.mlflow.workers = 2;
dev.mlflow.databasePool = { size: 1, maxOverflow: 1 };
const config = parseConfig(dev, 'connection-budget test config');
const POOL = config.mlflow.databasePool;
const CALLERS = 50;
const LOAD_SECONDS = 10;

let platform: LocalPlatform;
let traceFile: string;
const engines = (): EngineRecord[] =>
  fs
    .readFileSync(traceFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));

/** Samples the MLflow role's connections every 100 ms while `work` runs; the largest count seen. */
async function peakDuring<T>(work: () => Promise<T>): Promise<{ peak: number; samples: number; result: T }> {
  let running = true;
  let peak = 0;
  let samples = 0;
  const user = config.database.statefulset.user;
  const sampler = (async () => {
    while (running) {
      const count = await platform.postgres!.query(`SELECT count(*) FROM pg_stat_activity WHERE usename = '${user}' AND backend_type = 'client backend'`);
      peak = Math.max(peak, Number(count));
      samples += 1;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    const result = await work();
    return { peak, samples, result };
  } finally {
    running = false;
    await sampler;
  }
}

beforeAll(async () => {
  traceFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-pool-trace-')), 'engines.jsonl');
  platform = await startPlatform(config, {
    postgres: 17,
    pythonPath: [path.join(PROJECT_ROOT, '__tests__/live/support/pool-trace')],
    env: { POOL_TRACE_FILE: traceFile },
  });
}, START_SECONDS * 1000);

afterAll(async () => {
  await stopPlatform(platform);
  fs.rmSync(path.dirname(traceFile), { recursive: true, force: true });
}, 120000);

describe('the server under load', () => {
  let load: { peak: number; samples: number; result: Record<number, number> };

  beforeAll(
    async () => {
      const client = platform.client();
      const account = platform.workspaceAccounts()[0];
      const deadline = Date.now() + LOAD_SECONDS * 1000;
      load = await peakDuring(async () => {
        const statuses: Record<number, number> = {};
        // Each caller alternates a run search (tracking store) and a model search (registry store); every
        // request is authenticated (auth store).
        await Promise.all(
          Array.from({ length: CALLERS }, async () => {
            while (Date.now() < deadline) {
              for (const call of [
                { path: '/api/2.0/mlflow/runs/search', body: { experiment_ids: ['0'], max_results: 10 } },
                { path: '/api/2.0/mlflow/registered-models/search?max_results=10' },
              ]) {
                const answer = await client.call({ ...call, basic: account });
                statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
              }
            }
          }),
        );
        return statuses;
      });
    },
    (LOAD_SECONDS + 180) * 1000,
  );

  test('every request was answered: a caller waits for a pooled connection rather than failing', () => {
    expect(Object.keys(load.result)).toEqual(['200']);
  });

  test(`each worker process opens ${SERVER_ENGINES_PER_PROCESS} engines, each a QueuePool of the rendered size and overflow`, () => {
    const workers = new Map<number, EngineRecord[]>();
    for (const e of engines().filter((r) => r.argv.includes('uvicorn'))) workers.set(e.pid, [...(workers.get(e.pid) ?? []), e]);
    expect(workers.size).toBe(serverWorkers(config));
    for (const opened of workers.values())
      expect(opened).toEqual(
        Array(SERVER_ENGINES_PER_PROCESS).fill(expect.objectContaining({ pool: 'QueuePool', size: POOL.size, overflow: POOL.maxOverflow })),
      );
  });

  test(`the mlflow server process keeps ${SERVER_WRAPPER_CONNECTIONS} engines beside its workers (and one it disposes)`, () => {
    const wrapper = engines().filter((r) => /\/mlflow server /.test(r.argv));
    expect(wrapper).toHaveLength(SERVER_WRAPPER_CONNECTIONS + 1);
    // The same three stores, and the trace-rollup check, which disposes its engine at once.
    expect(wrapper.map((e) => e.caller).sort()).toEqual([
      'mlflow/tracing/trace_rollup_service.py:validate_sql_trace_rollup_startup',
      'server/auth/sqlalchemy_store.py:init_db',
      'store/model_registry/sqlalchemy_store.py:_get_or_create_engine',
      'store/tracking/sqlalchemy_store.py:_get_or_create_engine',
    ]);
    expect(wrapper).toEqual(Array(wrapper.length).fill(expect.objectContaining({ pool: 'QueuePool', size: POOL.size, overflow: POOL.maxOverflow })));
  });

  test("PostgreSQL never saw more of MLflow's connections than the budget of one pod", () => {
    const budget = podConnections(config);
    expect(load.samples).toBeGreaterThan(LOAD_SECONDS * 2);
    expect(load.peak).toBeGreaterThan(0);
    expect(load.peak).toBeLessThanOrEqual(budget);
    // The load went past the pools' size into their overflow: the cap, not the size, held it.
    expect(load.peak).toBeGreaterThan(SERVER_WRAPPER_CONNECTIONS + serverWorkers(config) * SERVER_ENGINES_PER_PROCESS * POOL.size);
    process.stdout.write(`connection budget: peak ${load.peak} of ${budget} for one pod (${load.samples} samples, ${JSON.stringify(load.result)})\n`);
  });
});

describe('the Jobs beside the server', () => {
  const allowance = (name: string) => jobConnections(config).find((j) => j.name === name)!.connections;

  test('the gc CronJob stays within its allowance', async () => {
    const { peak } = await peakDuring(() => platform.runCronJob('mlflow-gc'));
    expect(peak).toBeLessThanOrEqual(podConnections(config) + allowance('gc'));
    const gc = engines().filter((r) => r.argv.includes('mlflow gc'));
    expect(gc).toEqual([expect.objectContaining({ pool: 'QueuePool', size: 1, overflow: 1 })]);
  }, 240000);

  test('the migration Job stays within its allowance', async () => {
    const { peak } = await peakDuring(() => platform.runJob('mlflow-migrate'));
    expect(peak).toBeLessThanOrEqual(podConnections(config) + allowance('migration'));
  }, 240000);
});
