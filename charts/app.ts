/**
 * Building the platform: one cdk8s App for `dist/` and one for `dist/tests/` (post-deploy checks that
 * `kubectl apply -f dist` must not run). Nothing here writes files; see render.ts.
 */
import { App, Chart, YamlOutputType } from 'cdk8s';
import type { Config } from '../config/schema';
import { NamespacesChart, namespacesChartProps } from './namespaces';
import { GcpChart, gcpChartProps } from './gcp';
import { CertificatesChart, certificatesChartProps } from './certificates';
import { MlflowChart, mlflowChartProps } from './mlflow';
import { MlflowVerifyChart, mlflowVerifyChartProps } from './mlflow-verify';
import { jupyterChartProps, vscodeChartProps, WorkspacesChart } from './workspaces';
import { PostgresChart, postgresChartProps } from './postgres';
import { PostgresRestoreChart, postgresRestoreChartProps } from './postgres-restore';
import { EdgeChart, edgeChartProps } from './edge';

export interface PlatformApps {
  /** Charts rendered into `dist/`, in apply order. */
  readonly main: App;
  /** Charts rendered into `dist/tests/`. */
  readonly tests: App;
  /** Chart ids of `main` in apply order; render.ts numbers the files by it. */
  readonly order: readonly string[];
}

export function buildApps(config: Config): PlatformApps {
  // Never synthesized to disk: render.ts turns each chart into a file.
  const main = new App({ yamlOutputType: YamlOutputType.FILE_PER_CHART });
  const tests = new App({ yamlOutputType: YamlOutputType.FILE_PER_CHART });

  // Apply order. Not expressed as chart dependencies: cdk8s turns those into a dependency between
  // every pair of objects of the two charts, which made synth quadratic in the number of objects.
  const ordered: Chart[] = [new NamespacesChart(main, 'namespaces', namespacesChartProps(config))];
  ordered.push(new GcpChart(main, 'gcp', gcpChartProps(config)));
  // After the namespaces its Certificates live in, before the workloads that mount their Secrets.
  ordered.push(new CertificatesChart(main, 'certificates', certificatesChartProps(config)));
  ordered.push(new MlflowChart(main, 'mlflow', mlflowChartProps(config)));
  new MlflowVerifyChart(tests, 'mlflow-verify', mlflowVerifyChartProps(config));
  if (config.database.mode === 'statefulset') {
    ordered.push(new PostgresChart(main, 'postgres', postgresChartProps(config)));
    new PostgresRestoreChart(tests, 'postgres-restore', postgresRestoreChartProps(config));
  }
  if (config.workspaces.jupyter.enabled) ordered.push(new WorkspacesChart(main, 'jupyter', jupyterChartProps(config)));
  if (config.workspaces.vscode.enabled) ordered.push(new WorkspacesChart(main, 'vscode', vscodeChartProps(config)));
  if (config.edge.enabled) ordered.push(new EdgeChart(main, 'edge', edgeChartProps(config)));
  return { main, tests, order: ordered.map((chart) => chart.node.id) };
}
