/**
 * The database connection budget: the most connections the platform can hold open at once, against
 * the database's `max_connections`. Pure arithmetic over the config, in one place: the config rule
 * (model/rules.ts) refuses a render whose worst case exceeds the limit, the charts render the pool
 * sizes it counts, and the live test (__tests__/live/connection-budget.test.ts) drives the real server
 * and checks pg_stat_activity against it.
 *
 * How MLflow sizes its pools (mlflow@v3.17.0 mlflow/store/db/utils.py create_sqlalchemy_engine): every
 * engine it opens reads MLFLOW_SQLALCHEMYSTORE_POOL_SIZE, _MAX_OVERFLOW and _POOLCLASS in the process
 * that opens it, and passes pool_size and max_overflow only when they are truthy (`if pool_size:`,
 * `if pool_max_overflow:`), so 0 is ignored and SQLAlchemy's defaults (5, and 10 overflow) apply.
 * Hence the schema refuses a max overflow of 0 (config/schema/mlflow.ts MAX_OVERFLOW_ZERO_IGNORED), and the render names the
 * pool class (QueuePool) so that the sizes apply to a pool that honours them.
 */
import type { Config } from '../config/schema';
import { serverWorkers } from './server-workers';

/**
 * Engines one server worker process opens, measured (not guessed) with MLflow 3.17.0 by the live test
 * (__tests__/live/connection-budget.test.ts), which records every `sqlalchemy.create_engine` per
 * process under load: the tracking store and the model registry store each keep their own
 * class-level engine per URI (mlflow/store/tracking/sqlalchemy_store.py and
 * mlflow/store/model_registry/sqlalchemy_store.py, one `_engine_map` per class), and the basic-auth
 * app's store one more (mlflow/server/auth/sqlalchemy_store.py init_db). The IAP verifier
 * (charts/mlflow/iap_auth.py) reuses the tracking and auth stores. The job and workspace stores open
 * none here: job execution is refused and workspaces are off.
 */
export const SERVER_ENGINES_PER_PROCESS = 3;

/**
 * Connections the `mlflow server` process itself keeps, beside its uvicorn workers, measured likewise:
 * before starting uvicorn it opens four engines in its own process: the tracking and model registry
 * stores (mlflow/server/handlers.py initialize_backend_stores), the basic-auth app's store, and the
 * trace-rollup check, which disposes its engine at once (mlflow/tracing/trace_rollup_service.py
 * validate_sql_trace_rollup_startup). It uses each from one thread, once, and lives as long as the
 * pod: three idle connections, one per engine kept.
 */
export const SERVER_WRAPPER_CONNECTIONS = 3;

/** The pool of the one-shot Jobs: one process, one request at a time; MLflow cannot take 0 overflow. */
export const JOB_POOL = { size: 1, maxOverflow: 1 } as const;

/**
 * PostgreSQL's `superuser_reserved_connections` default: slots kept for superusers, which ordinary
 * roles can never take (https://www.postgresql.org/docs/16/runtime-config-connection.html). Cloud SQL
 * keeps PostgreSQL's default unless the flag is set, and its own agents log in as superusers.
 */
export const RESERVED_CONNECTIONS = 3;

/** The Deployment's RollingUpdate maxSurge (charts/mlflow/server.ts). */
export const ROLLING_MAX_SURGE = 1;

/**
 * Cloud SQL for PostgreSQL's default `max_connections` by the instance's memory: Google's table in
 * "Configure database flags", flag max_connections (https://cloud.google.com/sql/docs/postgres/flags;
 * the same rows as "Cloud SQL for PostgreSQL connection limits" of the FAQ,
 * https://cloud.google.com/sql/docs/postgres/faq, and "Maximum concurrent connections" of
 * https://cloud.google.com/sql/docs/postgres/quotas):
 * 0.6 GB (db-f1-micro) 25, 1.7 GB (db-g1-small) 50, from 3.75 GB 100, from 6 GB 200, from 7.5 GB 400,
 * from 15 GB 500, from 30 GB 600, from 60 GB 800, from 120 GB 1,000. Memory in MB, as in the tier name.
 * The rows from 6 GB on are the ones Google doubled on February 13, 2019 (Cloud SQL for PostgreSQL
 * release notes, https://cloud.google.com/sql/docs/postgres/release-notes: "connection limits are
 * now double when memory is 6 GiB or higher"). Not every row is confirmed against the live flags
 * page: database.cloudsql.maxConnections sets the flag, and so the limit, explicitly.
 */
export const CLOUD_SQL_MAX_CONNECTIONS_URL = 'https://cloud.google.com/sql/docs/postgres/flags';
const CLOUD_SQL_DEFAULTS: readonly { fromGb: number; connections: number }[] = [
  { fromGb: 120, connections: 1000 },
  { fromGb: 60, connections: 800 },
  { fromGb: 30, connections: 600 },
  { fromGb: 15, connections: 500 },
  { fromGb: 7.5, connections: 400 },
  { fromGb: 6, connections: 200 },
  { fromGb: 3.75, connections: 100 },
  { fromGb: 1.7, connections: 50 },
  { fromGb: 0, connections: 25 },
];

/** Memory of a tier in GB (tier names count MB of 1024: db-custom-2-7680 is 7.5 GB). */
const SHARED_CORE_GB: Record<string, number> = { 'db-f1-micro': 0.6, 'db-g1-small': 1.7 };

/**
 * The memory of a Cloud SQL tier in GB, or undefined when the name does not say it: db-custom-CPUS-MB,
 * the shared-core db-f1-micro and db-g1-small, the legacy db-n1-standard-N (3.75 GB per vCPU) and
 * db-n1-highmem-N (6.5 GB per vCPU) (https://cloud.google.com/sql/docs/postgres/instance-settings).
 * Performance-optimized tiers (Enterprise Plus) are left out: their table of defaults is not
 * published with them, so the config must name max_connections.
 */
export function cloudSqlTierMemoryGb(tier: string): number | undefined {
  if (tier in SHARED_CORE_GB) return SHARED_CORE_GB[tier];
  const custom = /^db-custom-(\d+)-(\d+)$/.exec(tier);
  if (custom) return Number(custom[2]) / 1024;
  const n1 = /^db-n1-(standard|highmem)-(\d+)$/.exec(tier);
  if (n1) return Number(n1[2]) * (n1[1] === 'standard' ? 3.75 : 6.5);
  return undefined;
}

export function cloudSqlDefaultMaxConnections(memoryGb: number): number {
  return CLOUD_SQL_DEFAULTS.find((row) => memoryGb >= row.fromGb)!.connections;
}

/** The database's limit, and where it comes from (for the message). */
export interface DatabaseLimit {
  readonly maxConnections: number;
  /** Where the number comes from, such as "Cloud SQL's default for db-custom-2-7680 (7.5 GB)". */
  readonly source: string;
  /** The config field that sets it explicitly. */
  readonly field: string;
}

/** The limit of the configured database, or a problem when it cannot be known. */
export function databaseLimit(config: Config): DatabaseLimit | { readonly problem: string; readonly field: string } {
  if (config.database.mode === 'statefulset') {
    return {
      maxConnections: config.database.statefulset.maxConnections,
      source: 'the in-cluster PostgreSQL (database.statefulset.maxConnections)',
      field: 'database.statefulset.maxConnections',
    };
  }
  const { tier, maxConnections } = config.database.cloudsql;
  const field = 'database.cloudsql.maxConnections';
  if (maxConnections !== undefined) return { maxConnections, source: `the max_connections flag of Cloud SQL tier ${tier} (${field})`, field };
  const gb = cloudSqlTierMemoryGb(tier);
  if (gb === undefined)
    return {
      problem: `is required: the default max_connections of Cloud SQL tier "${tier}" is not known from its name (${CLOUD_SQL_MAX_CONNECTIONS_URL}): set ${field}, which is also rendered as the instance's max_connections flag`,
      field,
    };
  return {
    maxConnections: cloudSqlDefaultMaxConnections(gb),
    source: `Cloud SQL's default for ${tier} (${Number(gb.toFixed(2))} GB, ${CLOUD_SQL_MAX_CONNECTIONS_URL})`,
    field,
  };
}

/** One Job's (or side process's) worst case. */
export interface JobConnections {
  readonly name: string;
  readonly connections: number;
}

/** The worst case, factor by factor. */
export interface ConnectionBudget {
  readonly replicas: number;
  /** New pods a RollingUpdate starts above the maximum (maxSurge); 0 with Recreate. */
  readonly surge: number;
  /**
   * Old pods still stopping while their replacements serve: Kubernetes does not count a terminating
   * pod against maxSurge, so a RollingUpdate at the maximum briefly runs one more pod's pools.
   */
  readonly stopping: number;
  readonly workers: number;
  readonly engines: number;
  readonly pool: { readonly size: number; readonly maxOverflow: number };
  /** Connections of one pod: the `mlflow server` process's, plus workers × engines × (pool + overflow). */
  readonly perPod: number;
  /** Server pods × perPod. */
  readonly server: number;
  readonly jobs: readonly JobConnections[];
  readonly jobsTotal: number;
  readonly reserved: number;
  readonly total: number;
}

/** Connections one Job process may hold: its engines alive at once, each at the Jobs' pool. */
function jobEngines(engines: number): number {
  return engines * (JOB_POOL.size + JOB_POOL.maxOverflow);
}

/**
 * Everything besides the servers that may hold connections at once, each at its worst, measured with
 * the live test: the migration Job (one engine at a time: its checks, `mlflow db upgrade` and the auth
 * upgrade run one after another, each disposing its engine before the next; the auth upgrade's engine
 * keeps SQLAlchemy's default pool, mlflow/server/auth/db/cli.py `create_engine(url)`, but alembic runs
 * it on one connection), gc (`mlflow gc` opens the
 * tracking store only), and the pods that are not MLflow: the Cloud SQL grant Job's psql, or
 * the in-cluster PostgreSQL's exporter (postgres_exporter keeps one connection per data source),
 * backup (one pg_dump) and certificate reload (one psql). The Auth Proxy opens none of its own: it
 * forwards each client connection as one.
 */
export function jobConnections(config: Config): JobConnections[] {
  const mlflow = [
    { name: 'migration', connections: jobEngines(1) },
    { name: 'gc', connections: jobEngines(1) },
  ];
  return config.database.mode === 'cloudsql'
    ? [...mlflow, { name: 'grant', connections: 1 }]
    : [...mlflow, { name: 'exporter', connections: 1 }, { name: 'backup', connections: 1 }, { name: 'tls reload', connections: 1 }];
}

export function connectionBudget(config: Config, replicas: number = config.mlflow.maxReplicas): ConnectionBudget {
  const m = config.mlflow;
  const rolling = m.updateStrategy === 'RollingUpdate';
  const surge = rolling ? ROLLING_MAX_SURGE : 0;
  const stopping = rolling ? 1 : 0;
  const pool = { size: m.databasePool.size, maxOverflow: m.databasePool.maxOverflow };
  const perPod = podConnections(config);
  const server = (replicas + surge + stopping) * perPod;
  const jobs = jobConnections(config);
  const jobsTotal = jobs.reduce((sum, j) => sum + j.connections, 0);
  return {
    replicas,
    surge,
    stopping,
    workers: serverWorkers(config),
    engines: SERVER_ENGINES_PER_PROCESS,
    pool,
    perPod,
    server,
    jobs,
    jobsTotal,
    reserved: RESERVED_CONNECTIONS,
    total: server + jobsTotal + RESERVED_CONNECTIONS,
  };
}

/** Connections one server pod's processes may hold: the `mlflow server` process's, plus workers × engines × (pool + overflow). */
export function podConnections(config: Config): number {
  const p = config.mlflow.databasePool;
  return SERVER_WRAPPER_CONNECTIONS + serverWorkers(config) * SERVER_ENGINES_PER_PROCESS * (p.size + p.maxOverflow);
}

/** The arithmetic in words: "(4 replicas + 1 surge + 1 stopping) × (3 + 2 workers × 3 engines × (2 + 1)) = 126, plus Jobs 5 (...), plus 3 reserved = 134". */
export function describeBudget(b: ConnectionBudget): string {
  const pods = [
    `${b.replicas} replica${b.replicas === 1 ? '' : 's'}`,
    ...(b.surge ? [`${b.surge} surge`] : []),
    ...(b.stopping ? [`${b.stopping} stopping`] : []),
  ];
  const podText = pods.length > 1 ? `(${pods.join(' + ')})` : pods[0];
  const jobs = b.jobs.map((j) => `${j.name} ${j.connections}`).join(', ');
  const pod = `(${SERVER_WRAPPER_CONNECTIONS} + ${b.workers} worker${b.workers === 1 ? '' : 's'} × ${b.engines} engines × (${b.pool.size} + ${b.pool.maxOverflow}))`;
  return `${podText} × ${pod} = ${b.server}, plus Jobs ${b.jobsTotal} (${jobs}), plus ${b.reserved} reserved = ${b.total}`;
}

/** Why the config's worst case does not fit its database, or undefined. */
export function connectionBudgetProblem(config: Config): { readonly message: string; readonly path: (string | number)[] } | undefined {
  const limit = databaseLimit(config);
  if ('problem' in limit) return { message: limit.problem, path: limit.field.split('.') };
  const budget = connectionBudget(config);
  if (budget.total <= limit.maxConnections) return undefined;
  return {
    path: ['mlflow', 'databasePool'],
    message: `the worst case of database connections exceeds the database's limit: ${describeBudget(budget)} > max_connections ${limit.maxConnections} of ${limit.source}. Lower mlflow.databasePool (size, maxOverflow), mlflow.workers or mlflow.maxReplicas, or raise ${limit.field} (docs/mlflow.md, "Database connections")`,
  };
}
