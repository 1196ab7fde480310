/**
 * The server's worker count: one per requested CPU unless the config names one (model/server-workers.ts),
 * rendered as `mlflow server --workers` and counted by the connection budget.
 */
import { connectionBudget } from '../model/connection-budget';
import { serverWorkers, WORKERS_PER_CPU } from '../model/server-workers';
import { configWith as configOf, find, render } from './support/render';

test.each([
  ['250m', 1],
  ['1', 1],
  ['1600m', 2],
  ['2', 2],
  ['4', 4],
])('a CPU request of %s runs %i workers', (cpu, workers) => {
  expect(WORKERS_PER_CPU).toBe(1);
  // A larger replica needs a database that holds its pools (the connection budget) and a limit above the request.
  const config = configOf({ mlflow: { resources: { requests: { cpu }, limits: { cpu: '4' } } }, database: { cloudsql: { maxConnections: 1000 } } });
  expect(serverWorkers(config)).toBe(workers);
});

test('mlflow.workers, when set, wins over the CPU request', () => {
  expect(serverWorkers(configOf({ mlflow: { workers: 3 }, database: { cloudsql: { maxConnections: 1000 } } }))).toBe(3);
});

test('the default replica requests one CPU and runs one worker, as rendered and as budgeted', () => {
  const config = configOf({});
  expect(config.mlflow.resources.requests.cpu).toBe('1');
  const server = find(render(config).objects, 'Deployment', 'mlflow').spec.template.spec.containers.find((c: { name: string }) => c.name === 'mlflow');
  expect(server.args[server.args.indexOf('--workers') + 1]).toBe('1');
  expect(connectionBudget(config).workers).toBe(1);
});
