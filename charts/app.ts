/**
 * Building the platform from its model: one cdk8s App for `dist/` and one for `dist/tests/`
 * (post-deploy checks that `kubectl apply -f dist` must not run). Nothing here writes files; see
 * synth/render.ts.
 */
import { App, Chart, YamlOutputType } from 'cdk8s';
import type { PlatformModel } from '../model';
import { NamespacesChart, namespacesChartProps } from './namespaces';
import { GcpChart, gcpChartProps } from './gcp';
import { CertificatesChart, certificatesChartProps } from './certificates';
import { MlflowChart, mlflowChartProps } from './mlflow';
import { MlflowVerifyChart, mlflowVerifyChartProps } from './mlflow-verify';
import { WorkspacesChart, workspacesChartProps } from './workspaces';
import type { WorkspaceAppDefinition } from './workspaces/app-definition';
import { WORKSPACE_APP_REGISTRY } from './workspaces/apps';
import { PostgresChart, postgresChartProps } from './postgres';
import { PostgresRestoreChart, postgresRestoreChartProps } from './postgres-restore';
import { EdgeChart, edgeChartProps } from './edge';

export interface PlatformApps {
  /** Charts rendered into `dist/`, in apply order. */
  readonly main: App;
  /** Charts rendered into `dist/tests/`. */
  readonly tests: App;
  /** Chart ids of `main` in apply order; synth/render.ts numbers the files by it. */
  readonly order: readonly string[];
}

/** `apps`: the workspace apps' registry, the model's apps among them. */
export function buildApps(model: PlatformModel, apps: readonly WorkspaceAppDefinition[] = WORKSPACE_APP_REGISTRY): PlatformApps {
  const { config } = model;
  // Never synthesized to disk: synth/render.ts turns each chart into a file.
  const main = new App({ yamlOutputType: YamlOutputType.FILE_PER_CHART });
  const tests = new App({ yamlOutputType: YamlOutputType.FILE_PER_CHART });

  // Apply order. Not expressed as chart dependencies: cdk8s turns those into a dependency between
  // every pair of objects of the two charts, which made synth quadratic in the number of objects.
  const ordered: Chart[] = [new NamespacesChart(main, 'namespaces', namespacesChartProps(model))];
  ordered.push(new GcpChart(main, 'gcp', gcpChartProps(model)));
  // After the namespaces its Certificates live in, before the workloads that mount their Secrets.
  ordered.push(new CertificatesChart(main, 'certificates', certificatesChartProps(model)));
  ordered.push(new MlflowChart(main, 'mlflow', mlflowChartProps(model)));
  new MlflowVerifyChart(tests, 'mlflow-verify', mlflowVerifyChartProps(model));
  if (config.database.mode === 'statefulset') {
    ordered.push(new PostgresChart(main, 'postgres', postgresChartProps(model)));
    new PostgresRestoreChart(tests, 'postgres-restore', postgresRestoreChartProps(model));
  }
  for (const id of model.workspaceApps) {
    const app = apps.find((a) => a.id === id);
    if (!app) throw new Error(`buildApps: the workspace app "${id}" has no registry entry`);
    ordered.push(new WorkspacesChart(main, id, workspacesChartProps(model, app)));
  }
  if (config.edge.enabled) ordered.push(new EdgeChart(main, 'edge', edgeChartProps(model, apps)));
  return { main, tests, order: ordered.map((chart) => chart.node.id) };
}
