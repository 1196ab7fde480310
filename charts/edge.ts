/**
 * The public HTTPS entry (rendered only while `edge.enabled`): per namespace with apps one GKE
 * Ingress on its own global address, with managed certificates, HTTP to HTTPS redirect, the SSL
 * policy, and IAP in front of every backend. Who may pass IAP is granted in the gcp chart (Config
 * Connector objects), from the same sites (model/edge-sites.ts).
 */
import { Construct } from 'constructs';
import { MLFLOW_HEALTH_PATH } from '../common/contract';
import type { PlatformModel } from '../model';
import { EdgeBackend, EdgeEntry, EdgeEntryProps } from './edge/entry';
import { selectorLabels } from './lib/labels';
import { PlatformChart } from './lib/platform-chart';
import { SERVER_PORT_NAME } from './mlflow/server';
import { SERVICE_PORT } from './lib/workspace';
import type { WorkspaceAppDefinition } from './workspaces/app-definition';

export interface EdgeChartProps {
  /** Environment name (instance label). */
  readonly instance: string;
  /** One entry per namespace with apps. */
  readonly entries: readonly Omit<EdgeEntryProps, 'instance'>[];
}

export class EdgeChart extends PlatformChart {
  constructor(scope: Construct, id: string, props: EdgeChartProps) {
    // No chart namespace: the entries live in different namespaces and set their own.
    super(scope, id, { instance: props.instance });
    for (const entry of props.entries) new EdgeEntry(this, entry.namespace, { instance: props.instance, ...entry });
  }
}

/** `apps`: the workspace apps' registry entries, whose health paths the backends check. */
export function edgeChartProps(model: PlatformModel, apps: readonly WorkspaceAppDefinition[]): EdgeChartProps {
  const { config, names } = model;
  const edge = config.edge;
  const backends = model.edgeSites.map((site): EdgeBackend & { namespace: string } => {
    if (site.app === 'mlflow')
      return {
        app: site.app,
        namespace: site.namespace,
        service: site.service,
        port: names.mlflowPort,
        host: site.host,
        healthPath: MLFLOW_HEALTH_PATH,
        // The server serves HTTPS only (charts/mlflow/server.ts): so do the load balancer and its health checks.
        protocol: 'HTTPS',
        timeoutSec: edge.mlflowTimeoutSeconds,
        // The uptime check of the gcp chart requests https://<mlflow host>/health and cannot pass IAP.
        publicHealth: {
          service: `${names.mlflow}-health`,
          selector: selectorLabels({ name: names.mlflow, instance: config.environment, component: 'server' }),
          targetPort: SERVER_PORT_NAME,
        },
      };
    // The app's own health path, the one its probes ask: the load balancer checks what the kubelet checks.
    const app = apps.find((a) => a.id === site.app);
    if (!app) throw new Error(`edge: no workspace app "${site.app}" renders the Service ${site.service}`);
    return {
      app: site.app,
      namespace: site.namespace,
      service: site.service,
      port: SERVICE_PORT,
      host: site.host,
      healthPath: app.healthPath,
      // Every workspace app serves HTTPS only (charts/workspaces/apps/): so do the load balancer and its health checks.
      protocol: 'HTTPS',
      timeoutSec: edge.workspaceTimeoutSeconds,
    };
  });
  const common = {
    sslPolicy: names.sslPolicy,
    oauthClientSecret: edge.oauthClientSecret,
    securityPolicy: edge.securityPolicy,
    drainingSec: edge.drainingSeconds,
    logSampleRate: edge.logSampleRate,
    hsts: edge.hsts,
  };
  const entry = (namespace: string, name: string, globalAddress: string) => ({
    namespace,
    name,
    globalAddress,
    backends: backends.filter((b) => b.namespace === namespace).map(({ namespace: _ns, ...b }) => b),
    ...common,
  });
  const entries = [
    entry(names.namespaces.platform, names.mlflow, names.globalAddress),
    entry(names.namespaces.workspaces, `${config.namePrefix}workspaces`, names.workspacesGlobalAddress),
  ].filter((e) => e.backends.length > 0);
  return { instance: config.environment, entries };
}
