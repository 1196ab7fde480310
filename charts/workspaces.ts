/**
 * The development workspaces: the `jupyter` and `vscode` charts, each holding one Workspace per
 * instance (one shared, or one per configured user). Both talk to MLflow through its in-cluster
 * Service and get the MLflow client installed into their persistent volume on first start.
 */
import { Construct } from 'constructs';
import type { Config } from '../config/schema';
import { imageTag, Resources } from '../config/schema/primitives';
import type { EnvVar } from '../imports/k8s-1.31';
import { edgeServiceAnnotations } from './edge/annotations';
import { selectorLabels } from './lib/labels';
import { platformNames, WorkspaceApp } from '../common/names';
import { clusterRanges } from './lib/network-policy';
import { PlatformChart } from './lib/platform-chart';
import { RestrictedContainer, restrictedContainer } from './lib/pod';
import { HOME_VOLUME, TMP_VOLUME, Workspace, WorkspaceNetwork, WorkspaceProps } from './lib/workspace';
import { derivedMlflowClientVersion } from '../common/mlflow-client';

export interface WorkspacesChartProps {
  /** Environment name (instance label). */
  readonly instance: string;
  /** Namespace of every object. */
  readonly namespace: string;
  /** One entry per instance. */
  readonly workspaces: readonly WorkspaceProps[];
}

export class WorkspacesChart extends PlatformChart {
  constructor(scope: Construct, id: string, props: WorkspacesChartProps) {
    super(scope, id, { instance: props.instance, namespace: props.namespace });
    for (const workspace of props.workspaces) new Workspace(this, workspace.instance.name, workspace);
  }
}

/** Jupyter docker-stacks runtime contract: user jovyan (1000), group users (100). */
const JUPYTER = { port: 8888, home: '/home/jovyan', uid: 1000, gid: 100 };
/** PATH of the docker-stacks images, with the user's pip scripts (`pip install --user`, e.g. `mlflow`) in front. */
const JUPYTER_PATH = `${JUPYTER.home}/.local/bin:/opt/conda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
/**
 * Where GKE mounts the NVIDIA driver's tools (nvidia-smi). The CUDA images append it to PATH
 * (jupyter/docker-stacks images/pytorch-notebook/cuda12/Dockerfile: `ENV PATH="${PATH}:/usr/local/nvidia/bin"`),
 * so a PATH set here must keep it.
 */
export const NVIDIA_BIN = '/usr/local/nvidia/bin';
/** codercom/code-server runtime contract: user coder (1000:1000). */
const VSCODE = { port: 8080, home: '/home/coder', uid: 1000, gid: 1000 };
/** The Python environment code-server's terminal uses, on the workspace volume. */
export const VSCODE_VENV = `${VSCODE.home}/.venvs/mlflow`;
/**
 * uv in the Debian-based uv images: their build copies it to /usr/local/bin/ (astral-sh/uv
 * .github/workflows/build-docker.yml at 0.10.8, `COPY --from=... /uv /uvx /usr/local/bin/`).
 */
export const UV_BIN = '/usr/local/bin/uv';
/** PATH of the code-server image, with the workspace's Python environment in front. */
const VSCODE_PATH = `${VSCODE_VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;

/** Props of the `jupyter` chart. */
export function jupyterChartProps(config: Config): WorkspacesChartProps {
  const w = config.workspaces;
  const gpu = w.gpu.enabled;
  const image = gpu ? w.gpu.image : w.jupyter.image;
  const iap = config.edge.enabled;
  const common = commonProps(config, 'jupyter');
  const env: EnvVar[] = [
    ...common.env,
    { name: 'DOCKER_STACKS_JUPYTER_CMD', value: 'lab' },
    { name: 'JUPYTER_PORT', value: String(JUPYTER.port) },
    { name: 'PATH', value: gpu ? `${JUPYTER_PATH}:${NVIDIA_BIN}` : JUPYTER_PATH },
  ];
  if (!iap) env.push(tokenEnv('JUPYTER_TOKEN', w.tokenSecret));
  const args = [
    // The image's start script (kept as entrypoint) runs its hooks and then this.
    'start-notebook.py',
    // One host name per instance: the server lives at the root.
    '--ServerApp.base_url=/',
    '--ServerApp.allow_remote_access=True',
    // TLS ends at the load balancer; X-Forwarded-Proto tells Jupyter the page is https.
    '--ServerApp.trust_xheaders=True',
    // IAP is the login; an empty token turns off Jupyter's own. Without IAP, JUPYTER_TOKEN is the token.
    ...(iap ? ['--IdentityProvider.token='] : []),
  ];
  const initContainers: RestrictedContainer[] = [];
  if (w.mlflowClient.install)
    initContainers.push(
      setupStep(config, 'install-mlflow', image, JUPYTER, {
        command: ['bash', '-ec', JUPYTER_INSTALL_SCRIPT],
        env: [
          { name: 'HOME', value: JUPYTER.home },
          { name: 'MLFLOW_CLIENT_VERSION', value: mlflowClientVersion(config) },
          { name: 'PIP_DISABLE_PIP_VERSION_CHECK', value: '1' },
        ],
      }),
    );
  return chartProps(config, common, JUPYTER, image, w.jupyter, {
    args,
    env,
    healthPath: '/api',
    initContainers,
    sharedMemory: '1Gi',
    gpu: gpu ? { count: w.gpu.count, acceleratorType: w.gpu.acceleratorType } : undefined,
  });
}

/**
 * Installs the MLflow client of the server's version with `pip --user` into the home volume, unless
 * that version is already there (a restart then needs no network). `--user` resolves against the
 * image's packages, so only what is missing is added and nothing in the image is shadowed needlessly.
 */
const JUPYTER_INSTALL_SCRIPT = [
  'if python -c \'import importlib.metadata as m, sys; sys.exit(m.version("mlflow-skinny") != sys.argv[1])\' "$MLFLOW_CLIENT_VERSION" 2>/dev/null; then',
  '  echo "mlflow-skinny $MLFLOW_CLIENT_VERSION is already installed"',
  'else',
  '  pip install --user --no-cache-dir "mlflow-skinny==$MLFLOW_CLIENT_VERSION"',
  'fi',
].join('\n');

/** Props of the `vscode` chart. */
export function vscodeChartProps(config: Config): WorkspacesChartProps {
  const w = config.workspaces;
  const image = w.vscode.image;
  const iap = config.edge.enabled;
  const common = commonProps(config, 'vscode');
  const env: EnvVar[] = [...common.env];
  if (w.mlflowClient.install) env.push({ name: 'VIRTUAL_ENV', value: VSCODE_VENV }, { name: 'PATH', value: VSCODE_PATH });
  if (!iap) env.push(tokenEnv('PASSWORD', w.tokenSecret));
  const args = [
    // IAP is the login; without it code-server asks for the password from the token Secret.
    `--auth=${iap ? 'none' : 'password'}`,
    '--disable-telemetry',
    '--disable-update-check',
  ];
  const initContainers: RestrictedContainer[] = [];
  if (w.mlflowClient.install) {
    // code-server ships no Python: uv puts a standalone CPython and a virtual environment with the
    // MLflow client on the workspace volume. Both steps do nothing when their result is already there.
    const uvEnv: EnvVar[] = [
      { name: 'HOME', value: VSCODE.home },
      { name: 'UV_PYTHON_INSTALL_DIR', value: `${VSCODE.home}/.local/share/uv/python` },
      { name: 'UV_PYTHON_PREFERENCE', value: 'only-managed' },
      { name: 'UV_CACHE_DIR', value: '/tmp/uv-cache' },
    ];
    initContainers.push(
      setupStep(config, 'python', w.vscode.uvImage, VSCODE, {
        command: [UV_BIN, 'venv', '--allow-existing', '--python', w.vscode.python, VSCODE_VENV],
        env: uvEnv,
      }),
      setupStep(config, 'install-mlflow', w.vscode.uvImage, VSCODE, {
        command: [UV_BIN, 'pip', 'install', '--python', `${VSCODE_VENV}/bin/python`, `mlflow-skinny==${mlflowClientVersion(config)}`, 'pip'],
        env: uvEnv,
      }),
    );
  }
  if (w.vscode.extensions.length > 0)
    initContainers.push(
      setupStep(config, 'install-extensions', image, VSCODE, {
        // Bypasses the image entrypoint (fixuid needs root); already installed extensions are kept.
        command: ['/usr/bin/code-server', ...w.vscode.extensions.flatMap((e) => ['--install-extension', e])],
        env: [{ name: 'HOME', value: VSCODE.home }],
      }),
    );
  return chartProps(config, common, VSCODE, image, w.vscode, { args, env, healthPath: '/healthz', initContainers });
}

/** The chart props: one workspace per instance, with what every instance of the app shares. */
function chartProps(
  config: Config,
  common: ReturnType<typeof commonProps>,
  runtime: { readonly port: number; readonly home: string; readonly uid: number; readonly gid: number },
  image: string,
  settings: { readonly storageSize: string; readonly resources: Resources },
  app: Pick<WorkspaceProps, 'args' | 'env' | 'healthPath' | 'initContainers' | 'sharedMemory' | 'gpu'>,
): WorkspacesChartProps {
  return {
    instance: config.environment,
    namespace: common.namespace,
    workspaces: common.instances.map(
      (instance): WorkspaceProps => ({
        instance,
        environment: config.environment,
        namespace: common.namespace,
        image,
        version: imageTag(image),
        containerPort: runtime.port,
        homePath: runtime.home,
        storageSize: settings.storageSize,
        resources: settings.resources,
        runAsUser: runtime.uid,
        runAsGroup: runtime.gid,
        fsGroup: runtime.gid,
        ...app,
        network: common.network,
        serviceAnnotations: common.serviceAnnotations(instance.name),
      }),
    ),
  };
}

/** What both charts share: instances, namespace, MLflow address and network rules. */
function commonProps(config: Config, app: WorkspaceApp) {
  const names = platformNames(config);
  const network: WorkspaceNetwork = {
    mlflowNamespace: names.namespaces.platform,
    mlflowPods: selectorLabels({ name: names.mlflow, instance: config.environment, component: 'server' }),
    mlflowPort: names.mlflowPort,
    internetEgress: config.workspaces.internetEgress,
    clusterRanges: clusterRanges(config.network),
    loadBalancerIngress: config.edge.enabled,
  };
  return {
    namespace: names.namespaces.workspaces,
    instances: names.workspaces.filter((i) => i.app === app),
    env: [{ name: 'MLFLOW_TRACKING_URI', value: names.mlflowUrl }] as EnvVar[],
    network,
    serviceAnnotations: (service: string) => {
      const annotations = edgeServiceAnnotations(config, service);
      return Object.keys(annotations).length > 0 ? annotations : undefined;
    },
  };
}

/** The mlflow-skinny version the workspaces install; the schema has made sure there is one. */
export function mlflowClientVersion(config: Config): string {
  const version = derivedMlflowClientVersion(config);
  if (!version) throw new Error(`mlflowClientVersion: the MLflow image tag of "${config.mlflow.image}" names no release`);
  return version;
}

function tokenEnv(name: string, secret: string): EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secret, key: 'token' } } };
}

/** A setup step before the server: same user, the home volume and /tmp, read-only image. */
function setupStep(
  config: Config,
  name: string,
  image: string,
  user: { home: string; uid: number; gid: number },
  run: { command: string[]; env: EnvVar[] },
): RestrictedContainer {
  return restrictedContainer({
    name,
    image,
    command: run.command,
    env: run.env,
    workingDir: user.home,
    resources: config.workspaces.setupResources,
    runAsUser: user.uid,
    runAsGroup: user.gid,
    volumeMounts: [
      { name: HOME_VOLUME, mountPath: user.home },
      { name: TMP_VOLUME, mountPath: '/tmp' },
    ],
  });
}
