/**
 * The development workspaces: one chart per workspace app (apps/ holds what makes each app), each
 * holding one Workspace per instance (one shared, or one per configured user). Every app serves HTTPS
 * with a certificate of the platform CA, talks to MLflow over HTTPS through its in-cluster Service
 * (trusting the same CA), and gets the MLflow client installed into its persistent volume on first start.
 * What every instance of an app shares (its package locks, the verifying proxy's program) is rendered
 * once for the app (charts/lib/workspace-shared-files.ts) and mounted by each instance.
 */
import { Construct } from 'constructs';
import { imageTag } from '../config/schema/primitives';
import type { EnvVar } from '../imports/k8s-1.31';
import type { PlatformModel, WorkspaceApp } from '../model';
import { WorkspaceInstance, workspaceAppSection } from '../model/names';
import { CA_BUNDLE_FILE, certificateLifetime, MLFLOW_CA_ENV } from './certificates/ca-bundle';
import { edgeServiceAnnotations } from './edge/annotations';
import { appLabels, selectorLabels } from './lib/labels';
import { PlatformChart } from './lib/platform-chart';
import { PORT_NAME, Workspace, WorkspaceFiles, WorkspaceIapProxy, WorkspaceNetwork, WorkspacePlacement, WorkspaceProps, WorkspaceTls } from './lib/workspace';
import { GKE_SANDBOX_RUNTIME_CLASS, WORKSPACE_NODES } from '../common/contract';
import type { WorkspaceAppDefinition } from './workspaces/app-definition';
import { workspaceGit } from './workspaces/git';
import { clientCredentialEnv } from './mlflow/auth';
import { IAP_PROXY_RESOURCES, iapProxyFiles } from './workspaces/iap-proxy';
import { sharedFilesHash, WorkspaceSharedFiles, WorkspaceSharedFilesProps } from './lib/workspace-shared-files';

export interface WorkspacesChartProps {
  /** Environment name (instance label). */
  readonly instance: string;
  /** Namespace of every object. */
  readonly namespace: string;
  /** One entry per instance. */
  readonly workspaces: readonly WorkspaceProps[];
  /**
   * What every instance shares (the package locks, the verifying proxy's program): one ConfigMap for
   * the app, which every instance mounts, its content hash on every pod template.
   * @default - nothing shared
   */
  readonly shared?: WorkspaceSharedFilesProps;
}

export class WorkspacesChart extends PlatformChart {
  constructor(scope: Construct, id: string, props: WorkspacesChartProps) {
    super(scope, id, { instance: props.instance, namespace: props.namespace });
    const shared = props.shared;
    // An id no instance takes: instances are named after users, in lower case.
    if (shared) new WorkspaceSharedFiles(this, 'SharedFiles', shared);
    const mount = shared ? { configMap: shared.name, hash: sharedFilesHash(shared.files) } : undefined;
    for (const workspace of props.workspaces) new Workspace(this, workspace.instance.name, { ...workspace, shared: mount ?? workspace.shared });
  }
}

/** Props of an app's chart: one workspace per instance of the app. */
export function workspacesChartProps(model: PlatformModel, app: WorkspaceAppDefinition): WorkspacesChartProps {
  const { config } = model;
  const section = workspaceAppSection(config, app.id);
  if (!section) throw new Error(`workspacesChartProps: the config has no workspaces.${app.id} section`);
  const common = commonProps(model, app.id);
  const image = app.image(config);
  const parts = app.build(model, image);
  // Rendered once for the app: the locks its setup steps read and, with the edge, the proxy's program.
  const sharedFiles = { ...parts.sharedFiles, ...(config.edge.enabled ? iapProxyFiles() : {}) };
  const sharedName = model.names.workspaceSharedFiles(app.id);
  return {
    instance: config.environment,
    namespace: common.namespace,
    shared:
      Object.keys(sharedFiles).length > 0
        ? {
            name: sharedName,
            namespace: common.namespace,
            labels: appLabels({ name: sharedName, instance: config.environment, component: 'workspace', version: imageTag(image) }),
            files: sharedFiles,
          }
        : undefined,
    workspaces: common.instances.map((instance): WorkspaceProps => {
      const extras = instanceFiles(model, instance, parts.files);
      return {
        instance,
        environment: config.environment,
        namespace: common.namespace,
        image,
        version: imageTag(image),
        containerPort: app.runtime.port,
        homePath: app.runtime.home,
        storageSize: section.storageSize,
        storageClassName: config.workspaces.homeStorage === 'cmek' ? model.names.workspaceHomeStorageClass : undefined,
        resources: section.resources,
        runAsUser: app.runtime.uid,
        runAsGroup: app.runtime.gid,
        fsGroup: app.runtime.gid,
        command: parts.command,
        args: parts.args,
        healthPath: app.healthPath,
        initContainers: parts.initContainers,
        sharedMemory: parts.sharedMemory,
        gpu: parts.gpu,
        placement: workspacePlacement(model, parts.gpu !== undefined),
        env: [...common.env, ...parts.env, ...extras.env],
        files: extras.files,
        externalSecrets: extras.externalSecrets,
        network: common.network,
        tls: common.tls,
        serviceAnnotations: common.serviceAnnotations(instance.name),
        iapProxy: common.iapProxy(instance),
      };
    }),
  };
}

/**
 * The files of one instance (its git setup and the app's own files) and what they need: the
 * environment that points git at them and the Secrets they project.
 */
function instanceFiles(model: PlatformModel, instance: WorkspaceInstance, appFiles: WorkspaceFiles['files']): InstanceExtras {
  const { config, names } = model;
  const w = config.workspaces;
  const user = instance.user ? w.users.find((u) => u.name === instance.user?.name) : undefined;
  const git = workspaceGit({
    identity: user ? { name: user.git.name ?? user.name, email: user.git.email ?? user.email } : { name: w.git.shared.name, email: w.git.shared.email },
    credentials: user ? user.git.credentials : w.git.shared.credentials,
    hosts: w.git.hosts,
  });
  const files = { ...git?.files.files, ...appFiles };
  // The instance's MLflow account: its user's (username = their email), or the shared workspaces'.
  // The provisioning Job creates it from the same Secret's copy in the platform namespace.
  const account = names.mlflowAuth.workspaceAccount(instance.user);
  return {
    env: [
      ...(git?.env ?? []),
      ...clientCredentialEnv(account),
      // The account's personal experiment, where runs go without set_experiment (mlflow@v3.17.0:
      // mlflow/tracking/fluent.py _get_experiment_id_from_env reads MLFLOW_EXPERIMENT_NAME and creates it if missing).
      { name: 'MLFLOW_EXPERIMENT_NAME', value: names.mlflowAuth.personalExperiment(account.username) },
    ],
    files: Object.keys(files).length > 0 ? { files, secretFiles: git?.files.secretFiles } : undefined,
    externalSecrets: [...(git?.secrets ?? []), account.secret, ...(config.edge.enabled ? [] : [w.tokenSecret])],
  };
}

type InstanceExtras = Required<Pick<WorkspaceProps, 'env'>> & Pick<WorkspaceProps, 'files' | 'externalSecrets'>;

/**
 * The workspace nodes (charts/gcp.ts workspaceNodePools): the pod requires their label and tolerates
 * their taint, and runs in GKE Sandbox when its pool is sandboxed (the GPU pool by workspaces.gpu.sandbox,
 * the CPU pool by cluster.workspacePool.sandbox). The RuntimeClass adds the sandbox nodes' own selector
 * and toleration when the pod is admitted.
 */
export function workspacePlacement(model: PlatformModel, gpu: boolean): WorkspacePlacement {
  const config = model.config;
  const sandbox = gpu ? config.workspaces.gpu.sandbox : config.cluster.workspacePool.sandbox;
  return {
    nodeSelector: { [WORKSPACE_NODES.key]: WORKSPACE_NODES.value },
    tolerations: [{ key: WORKSPACE_NODES.key, operator: 'Equal', value: WORKSPACE_NODES.value, effect: WORKSPACE_NODES.effect }],
    runtimeClassName: sandbox ? GKE_SANDBOX_RUNTIME_CLASS : undefined,
  };
}

/** What every app's chart shares: instances, namespace, MLflow address and its trust, TLS and network rules. */
function commonProps(model: PlatformModel, app: WorkspaceApp) {
  const { config, names } = model;
  const network: WorkspaceNetwork = {
    mlflowNamespace: names.namespaces.platform,
    mlflowPods: selectorLabels({ name: names.mlflow, instance: config.environment, component: 'server' }),
    mlflowPort: names.mlflowPort,
    internetEgress: config.workspaces.internetEgress,
    clusterRanges: model.ranges.cluster,
    loadBalancerRanges: model.ranges.loadBalancer,
    loadBalancerIngress: config.edge.enabled,
    // The internet rule already reaches every Git host; without it, only their listed ranges.
    gitHostRanges: config.workspaces.internetEgress ? [] : [...new Set(config.workspaces.git.hosts.flatMap((h) => h.cidrs))].sort(),
    // VS Code collaboration runs only without the internet rule (config/schema/workspaces.ts): its server's ranges, for VS Code alone.
    collaborationServerRanges:
      app === 'vscode' && config.workspaces.vscode.enabled && config.workspaces.vscode.collaboration.enabled
        ? [...new Set(config.workspaces.vscode.collaboration.serverCidrs)].sort()
        : [],
    // The hosts reached by name (model/workspace-egress.ts): IAP's keys for the verifying proxy, and with workspaces.hostEgress the package indexes and Git hosts.
    hosts: model.workspaceEgressHosts,
  };
  return {
    namespace: names.namespaces.workspaces,
    instances: names.workspaces.filter((i) => i.app === app),
    env: [
      { name: 'MLFLOW_TRACKING_URI', value: names.mlflowUrl },
      // MLflow's client checks the server's certificate against the platform CA, mounted by the
      // Workspace from the namespace's CA bundle (charts/certificates/ca-bundle.ts, MLFLOW_CA_ENV):
      // without it, requests' own CA list refuses the certificate.
      { name: MLFLOW_CA_ENV, value: CA_BUNDLE_FILE },
    ] as EnvVar[],
    network,
    tls: { caIssuer: names.tls.caIssuer, lifetime: certificateLifetime(config), caBundleConfigMap: names.tls.caBundle } satisfies WorkspaceTls,
    // With the edge, IAP is the login: the proxy checks its token for this workspace in front of the app.
    iapProxy: (instance: WorkspaceInstance): WorkspaceIapProxy | undefined =>
      config.edge.enabled
        ? {
            image: config.mlflow.image,
            resources: IAP_PROXY_RESOURCES,
            projectNumber: config.project.number,
            backendServiceId: model.edgeSites.find((s) => s.service === instance.name)?.backendServiceId,
            user: instance.user?.email,
          }
        : undefined,
    serviceAnnotations: (service: string) => {
      // The load balancer speaks HTTPS to the port, as the server does.
      const annotations = edgeServiceAnnotations(config, service, { port: PORT_NAME, protocol: 'HTTPS' });
      return Object.keys(annotations).length > 0 ? annotations : undefined;
    },
  };
}
