/**
 * The database connection budget (model/connection-budget.ts): every factor of the worst case
 * counts, the limit of each database mode and tier, the rule's message, and the pool sizes the render
 * gives the server and the Jobs.
 */
import { Testing } from 'cdk8s';
import type { Config } from '../config/schema';
import { buildModel } from '../model';
import {
  cloudSqlDefaultMaxConnections,
  cloudSqlTierMemoryGb,
  connectionBudget,
  databaseLimit,
  JOB_POOL,
  podConnections,
  RESERVED_CONNECTIONS,
  SERVER_ENGINES_PER_PROCESS,
  SERVER_WRAPPER_CONNECTIONS,
} from '../model/connection-budget';
import { GcpChart, gcpChartProps } from '../charts/gcp';
import { MlflowChart, mlflowChartProps } from '../charts/mlflow';
import { PostgresChart, postgresChartProps } from '../charts/postgres';
import { configError, configWith } from './support/render';
import { testApp } from './support/app';

// A config whose budget fits any limit below: small enough that every factor moves the total.
const base = { mlflow: { replicas: 1, maxReplicas: 3, workers: 2, databasePool: { size: 2, maxOverflow: 1 } } } as const;
const total = (c: Config) => connectionBudget(c).total;
// The smallest platform: fits even the 25 connections of a db-f1-micro.
const tiny = { mlflow: { replicas: 1, maxReplicas: 1, workers: 1, updateStrategy: 'Recreate', databasePool: { size: 1, maxOverflow: 1 } } } as const;

describe('the worst case counts every factor', () => {
  const c = configWith(base);
  const b = connectionBudget(c);

  test('the arithmetic, spelled out', () => {
    // (3 + 1 surge + 1 stopping) pods × (3 + 2 workers × 3 engines × (2 + 1)) + Jobs (2 + 2 + 1) + 3 reserved.
    expect(SERVER_ENGINES_PER_PROCESS).toBe(3);
    expect(SERVER_WRAPPER_CONNECTIONS).toBe(3);
    expect(b.perPod).toBe(3 + 2 * 3 * (2 + 1));
    expect(b.server).toBe(5 * 21);
    expect(b.jobs).toEqual([
      { name: 'migration', connections: 2 },
      { name: 'gc', connections: 2 },
      { name: 'grant', connections: 1 },
    ]);
    expect(b.total).toBe(105 + 5 + RESERVED_CONNECTIONS);
  });

  test.each([
    ['maxReplicas', { mlflow: { ...base.mlflow, maxReplicas: 4 } }],
    ['workers', { mlflow: { ...base.mlflow, workers: 3 } }],
    ['pool size', { mlflow: { ...base.mlflow, databasePool: { size: 3, maxOverflow: 1 } } }],
    ['max overflow', { mlflow: { ...base.mlflow, databasePool: { size: 2, maxOverflow: 2 } } }],
  ])('one more of %s raises the total', (_, overrides) => {
    expect(total(configWith(overrides))).toBeGreaterThan(b.total);
  });

  test('the minimum replicas do not count: the autoscaler may reach the maximum', () => {
    expect(total(configWith({ mlflow: { ...base.mlflow, replicas: 3 } }))).toBe(b.total);
  });

  test('a Recreate rollout adds no surge and leaves no old pod stopping beside the new ones', () => {
    const recreate = connectionBudget(configWith({ mlflow: { ...base.mlflow, updateStrategy: 'Recreate' } }));
    expect([recreate.surge, recreate.stopping]).toEqual([0, 0]);
    expect(recreate.total).toBe(b.total - 2 * b.perPod);
  });

  test("the in-cluster PostgreSQL's neighbours count too: exporter, backup, certificate reload", () => {
    const s = connectionBudget(configWith({ ...base, database: { mode: 'statefulset', statefulset: { maxConnections: 1000 } } }));
    expect(s.jobs.map((j) => j.name)).toEqual(['migration', 'gc', 'exporter', 'backup', 'tls reload']);
    expect(s.jobsTotal).toBe(2 + 2 + 1 + 1 + 1);
  });

  test('one pod, as the live test measures it', () => {
    expect(podConnections(c)).toBe(b.perPod);
  });
});

describe('the limit', () => {
  test.each([
    ['db-f1-micro', 0.6, 25],
    ['db-g1-small', 1.7, 50],
    ['db-custom-1-3840', 3.75, 100],
    ['db-custom-1-6144', 6, 200],
    ['db-custom-2-7680', 7.5, 400],
    ['db-custom-2-7424', 7.25, 200],
    ['db-custom-4-15360', 15, 500],
    ['db-custom-8-30720', 30, 600],
    ['db-custom-16-61440', 60, 800],
    ['db-custom-32-122880', 120, 1000],
    ['db-n1-standard-2', 7.5, 400],
    ['db-n1-highmem-4', 26, 500],
  ])("Cloud SQL's default for %s (%s GB) is %s", (tier, gb, connections) => {
    expect(cloudSqlTierMemoryGb(tier)).toBeCloseTo(gb, 5);
    expect(cloudSqlDefaultMaxConnections(gb)).toBe(connections);
    expect(databaseLimit(configWith({ ...tiny, database: { cloudsql: { tier } } }))).toMatchObject({ maxConnections: connections });
  });

  test('a configured max_connections flag is the limit, and is rendered on the instance', () => {
    const flags = (c: Config) =>
      Testing.synth(new GcpChart(testApp(), 'gcp', gcpChartProps(buildModel(c))))
        .find((o) => o.kind === 'SQLInstance')
        .spec.settings.databaseFlags.filter((f: { name: string }) => f.name === 'max_connections');
    const c = configWith({ database: { cloudsql: { maxConnections: 450 } } });
    expect(databaseLimit(c)).toMatchObject({ maxConnections: 450 });
    expect(flags(c)).toEqual([{ name: 'max_connections', value: '450' }]);
    expect(flags(configWith({}))).toEqual([]);
  });

  test('a tier whose memory its name does not tell needs the flag', () => {
    const message = configError({ database: { cloudsql: { edition: 'ENTERPRISE_PLUS', tier: 'db-perf-optimized-N-4' } } });
    expect(message).toMatch(
      /database\.cloudsql\.maxConnections: \(missing\) is required: the default max_connections of Cloud SQL tier "db-perf-optimized-N-4"/,
    );
    expect(() => configWith({ database: { cloudsql: { edition: 'ENTERPRISE_PLUS', tier: 'db-perf-optimized-N-4', maxConnections: 1000 } } })).not.toThrow();
  });

  test("the in-cluster PostgreSQL's limit is its rendered max_connections", () => {
    const c = configWith({ ...base, database: { mode: 'statefulset', statefulset: { maxConnections: 150 } } });
    expect(databaseLimit(c)).toMatchObject({ maxConnections: 150 });
    const [sts] = Testing.synth(new PostgresChart(testApp(), 'pg', postgresChartProps(buildModel(c)))).filter((o) => o.kind === 'StatefulSet');
    const args: string[] = sts.spec.template.spec.containers.find((x: { name: string }) => x.name === 'postgres').args;
    expect(args[args.indexOf('max_connections=150') - 1]).toBe('-c');
  });
});

describe('the rule', () => {
  test('refuses a worst case above the limit, with the arithmetic and what to change', () => {
    const message = configError({
      ...base,
      database: { mode: 'statefulset', statefulset: { maxConnections: 100 } },
      mlflow: { ...base.mlflow, maxReplicas: 4 },
    });
    expect(message).toContain(
      '(4 replicas + 1 surge + 1 stopping) × (3 + 2 workers × 3 engines × (2 + 1)) = 126, plus Jobs 7 (migration 2, gc 2, exporter 1, backup 1, tls reload 1), plus 3 reserved = 136 > max_connections 100 of the in-cluster PostgreSQL',
    );
    expect(message).toMatch(/^test config: mlflow\.databasePool: \{"size":2,"maxOverflow":1\} is not allowed: /);
    expect(message).toContain(
      'Lower mlflow.databasePool (size, maxOverflow), mlflow.workers or mlflow.maxReplicas, or raise database.statefulset.maxConnections',
    );
  });

  test('accepts the same config when the limit holds it exactly', () => {
    const c = configWith({ ...base, database: { mode: 'statefulset', statefulset: { maxConnections: 1000 } } });
    const needed = connectionBudget(c).total;
    expect(() => configWith({ ...base, database: { mode: 'statefulset', statefulset: { maxConnections: needed } } })).not.toThrow();
    expect(() => configWith({ ...base, database: { mode: 'statefulset', statefulset: { maxConnections: needed - 1 } } })).toThrow(/> max_connections/);
  });

  test('refuses a max overflow of 0, which MLflow would replace by 10', () => {
    expect(configError({ mlflow: { databasePool: { maxOverflow: 0 } } })).toMatch(
      /mlflow\.databasePool\.maxOverflow: 0 is not allowed: .*so 0 would leave SQLAlchemy's default overflow of 10 in force/,
    );
  });
});

describe('the render', () => {
  const env = (container: { env?: { name: string; value?: string }[] }) =>
    Object.fromEntries((container.env ?? []).filter((e) => e.name.startsWith('MLFLOW_SQLALCHEMYSTORE_')).map((e) => [e.name, e.value]));
  const objects = Testing.synth(new MlflowChart(testApp(), 'mlflow', mlflowChartProps(buildModel(configWith(base)))));
  const container = (kind: string, prefix: string, name: string) => {
    const o = objects.find((x) => x.kind === kind && x.metadata.name.startsWith(prefix))!;
    const spec = kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec;
    return spec.containers.find((x: { name: string }) => x.name === name);
  };

  test('the server container gets the configured pools, as a QueuePool', () => {
    expect(env(container('Deployment', 'mlflow', 'mlflow'))).toEqual({
      MLFLOW_SQLALCHEMYSTORE_POOLCLASS: 'QueuePool',
      MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: '2',
      MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: '1',
    });
  });

  test.each([
    ['Job', 'mlflow-migrate', 'migrate'],
    ['CronJob', 'mlflow-gc', 'gc'],
  ])('the %s %s opens MLflow stores with the small pool of the Jobs', (kind, prefix, name) => {
    expect(env(container(kind, prefix, name))).toEqual({
      MLFLOW_SQLALCHEMYSTORE_POOLCLASS: 'QueuePool',
      MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: String(JOB_POOL.size),
      MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: String(JOB_POOL.maxOverflow),
    });
  });
});
