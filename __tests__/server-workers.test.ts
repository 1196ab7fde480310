/**
 * The server's worker count: two per requested CPU unless the config names one (model/server-workers.ts),
 * rendered as `mlflow server --workers` and counted by the connection budget.
 */
import { connectionBudget } from '../model/connection-budget';
import { serverWorkers, WORKERS_PER_CPU } from '../model/server-workers';
import { configWith as configOf, find, render } from './support/render';

test.each([
  ['250m', 1],
  ['500m', 1],
  ['1', 2],
  ['1500m', 3],
  ['2', 4],
])('a CPU request of %s runs %i workers', (cpu, workers) => {
  expect(WORKERS_PER_CPU).toBe(2);
  expect(serverWorkers(configOf({ mlflow: { resources: { requests: { cpu } } } }))).toBe(workers);
});

test('mlflow.workers, when set, wins over the CPU request', () => {
  expect(serverWorkers(configOf({ mlflow: { workers: 3 } }))).toBe(3);
});

test('the default replica requests one CPU and runs two workers, as rendered and as budgeted', () => {
  const config = configOf({});
  expect(config.mlflow.resources.requests.cpu).toBe('1');
  const server = find(render(config).objects, 'Deployment', 'mlflow').spec.template.spec.containers.find((c: { name: string }) => c.name === 'mlflow');
  expect(server.args[server.args.indexOf('--workers') + 1]).toBe('2');
  expect(connectionBudget(config).workers).toBe(2);
});
