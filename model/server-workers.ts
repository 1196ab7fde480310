/**
 * How many uvicorn workers a server replica runs: `mlflow.workers` when the config sets it, otherwise
 * WORKERS_PER_CPU per core of the CPU request (at least one).
 *
 * The ratio is measured, not guessed: `npm run bench:server -- --workers 1,2,4` runs the rendered
 * server on one core at 1, 2 and 4 workers (docs/mlflow.md, "Performance", has the figures). One
 * worker per core served log-batch best (36 and 28 requests a second in two runs, against 28 and 20
 * with two workers and 25 with four), and search-runs no worse within the runs' spread: a worker
 * already overlaps its requests' waits on PostgreSQL in its thread pool, and a second process on the
 * same core only adds its own work. A second core is what a second worker is for.
 */
import type { Config } from '../config/schema';
import { cpuMillis } from '../config/schema/primitives';

export const WORKERS_PER_CPU = 1;

/** The rendered worker count of a server replica. */
export function serverWorkers(config: Config): number {
  if (config.mlflow.workers !== undefined) return config.mlflow.workers;
  return Math.max(1, Math.round((WORKERS_PER_CPU * cpuMillis(config.mlflow.resources.requests.cpu)) / 1000));
}
