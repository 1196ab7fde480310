/**
 * Upgrades on a real control plane: the render of the baseline commit, then the current render of the
 * same config, applies with no immutable-field error (or any other); and each change a user makes to
 * a config (image tag, users added and removed, replicas, the database mode) applies cleanly over the
 * render before it. The later render's workloads get their Pods, as after a first apply.
 */
import * as path from 'path';
import type { DeepPartial } from '../support/render';
import { CONFIG_DIR, configWith, EXAMPLE_CONFIGS } from '../support/render';
import type { ConfigInput } from '../../config/schema';
import { loadConfig } from '../../model/load';
import { applyFiles } from './support/apply';
import { BASELINE_COMMIT, renderAt } from './support/baseline';
import { Cluster, CLUSTER_TIMEOUT, startCluster } from './support/cluster';
import { distFiles, renderToDir } from './support/render-dir';
import { unexplainedWarnings } from './support/warnings';
import { missingPods, runCronJobsOnce } from './support/workloads';

/** Applies `before`, then `after`, to a fresh cluster; returns the second apply's warnings and the Pods it lacks. */
async function upgrade(before: string, after: string): Promise<{ warnings: string[]; missing: string[] }> {
  let cluster: Cluster | undefined;
  try {
    cluster = await startCluster();
    const first = await applyFiles(cluster, distFiles(before));
    expect(unexplainedWarnings(first.warnings)).toEqual([]);
    const second = await applyFiles(cluster, distFiles(after));
    const workloads = [...second.objects, ...(await runCronJobsOnce(cluster, second.objects))];
    return { warnings: unexplainedWarnings(second.warnings), missing: await missingPods(cluster, workloads) };
  } finally {
    cluster?.stop();
  }
}

const configFiles: [string, string | undefined][] = [['default', undefined], ...EXAMPLE_CONFIGS.map((f) => [f, path.join(CONFIG_DIR, f)] as [string, string])];

describe(`upgrading from the render of commit ${BASELINE_COMMIT}`, () => {
  test.each(configFiles)(
    'config %s: the current render applies over the baseline render with no error, no warning and every Pod',
    async (_name, file) => {
      const result = await upgrade(renderAt(BASELINE_COMMIT, file), renderToDir(loadConfig(file)));
      expect(result).toEqual({ warnings: [], missing: [] });
    },
    CLUSTER_TIMEOUT,
  );
});

const ana = { name: 'ana', email: 'ana@example.com' };
const bo = { name: 'bo', email: 'bo@example.com' };
const CHANGES: [string, DeepPartial<ConfigInput>, DeepPartial<ConfigInput>][] = [
  // The workspaces' client stays at the version their lock holds (config/workspace-locks/).
  ['a new MLflow image tag', {}, { mlflow: { image: 'ghcr.io/mlflow/mlflow:v3.16.1-full' }, workspaces: { mlflowClient: { version: '3.17.0' } } }],
  ['users added', { workspaces: { users: [] } }, { workspaces: { users: [ana, bo] } }],
  ['a user removed', { workspaces: { users: [ana, bo] } }, { workspaces: { users: [ana] } }],
  ['more MLflow replicas', { mlflow: { replicas: 2, maxReplicas: 4 } }, { mlflow: { replicas: 3, maxReplicas: 6 } }],
  ['the database moved from the StatefulSet to Cloud SQL', { database: { mode: 'statefulset' } }, { database: { mode: 'cloudsql' } }],
  ['the database moved from Cloud SQL to the StatefulSet', { database: { mode: 'cloudsql' } }, { database: { mode: 'statefulset' } }],
];

describe('changes a user makes to a config', () => {
  test.each(CHANGES)(
    '%s: the new render applies over the old one with no error, no warning and every Pod',
    async (_name, before, after) => {
      const result = await upgrade(renderToDir(configWith(before)), renderToDir(configWith(after)));
      expect(result).toEqual({ warnings: [], missing: [] });
    },
    CLUSTER_TIMEOUT,
  );
});
