/**
 * How many uvicorn workers a server replica runs: `mlflow.workers` when the config sets it, otherwise
 * WORKERS_PER_CPU per core of the CPU request (at least one).
 *
 * The ratio is measured, not guessed: `npm run bench:server -- --workers 1,2,4` runs the rendered
 * server on one core at 1, 2 and 4 workers (docs/mlflow.md, "Performance", has the figures). Two
 * workers per core served the most: while one process waits on PostgreSQL or the socket, the other
 * computes (each is one Python interpreter, so its own threads share one core); at four per core the
 * processes crowd each other out and throughput fell below one worker's.
 */
import type { Config } from '../config/schema';
import { cpuMillis } from '../config/schema/primitives';

export const WORKERS_PER_CPU = 2;

/** The rendered worker count of a server replica. */
export function serverWorkers(config: Config): number {
  if (config.mlflow.workers !== undefined) return config.mlflow.workers;
  return Math.max(1, Math.round((WORKERS_PER_CPU * cpuMillis(config.mlflow.resources.requests.cpu)) / 1000));
}
