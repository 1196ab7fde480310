/**
 * The development workspaces: the `jupyter` and `vscode` charts, each holding one Workspace per
 * instance (one shared, or one per configured user). Both serve HTTPS with a certificate of the
 * platform CA, talk to MLflow over HTTPS through its in-cluster Service (trusting the same CA), and
 * get the MLflow client installed into their persistent volume on first start.
 */
import { Construct } from 'constructs';
import type { Config } from '../config/schema';
import { durationSeconds, imageTag, Resources } from '../config/schema/primitives';
import { jupyterCollaborationRequirements } from '../config/schema/workspaces';
import type { EnvVar } from '../imports/k8s-1.31';
import { CA_BUNDLE_FILE, certificateLifetime, MLFLOW_CA_ENV } from './certificates/ca-bundle';
import { edgeServiceAnnotations } from './edge/annotations';
import { selectorLabels } from './lib/labels';
import { platformNames, WorkspaceApp } from '../common/names';
import { clusterRanges } from './lib/network-policy';
import { PlatformChart } from './lib/platform-chart';
import { RestrictedContainer, restrictedContainer } from './lib/pod';
import { scriptFile } from './lib/script-files';
import {
  FILES_PATH,
  FILES_VOLUME,
  HOME_VOLUME,
  PORT_NAME,
  TMP_VOLUME,
  Workspace,
  WORKSPACE_TLS_DIR,
  WorkspaceFiles,
  WorkspaceNetwork,
  WorkspaceProps,
  WorkspaceTls,
} from './lib/workspace';
import { derivedMlflowClientVersion } from '../common/mlflow-client';
import type { WorkspaceInstance } from '../common/names';
import { workspaceGit } from './workspaces/git';
import { clientCredentialEnv } from './mlflow/auth';

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
/** PATH of the code-server image (Debian's default; ci/release-image/Dockerfile at v4.104.0 sets none). */
const VSCODE_IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/**
 * Where language toolchains installed into the workspace volume put their commands: user-wide pip and
 * uv tools, rustup's cargo (CARGO_HOME ~/.cargo), a Go tarball unpacked to ~/.local/go and what
 * `go install` builds (GOPATH ~/go), a Node.js tarball unpacked to ~/.local/node. Extensions see the
 * server's environment, not a shell profile, so these are on the server's PATH from the start; a
 * folder that does not exist yet costs nothing, and PATH is searched at every exec, so a
 * toolchain installed later is found by new processes (docs/workspaces.md, "Other languages in VS Code").
 */
export const VSCODE_TOOLCHAIN_PATH = ['.local/bin', '.cargo/bin', 'go/bin', '.local/go/bin', '.local/node/bin'].map((dir) => `${VSCODE.home}/${dir}`);

/**
 * The code-server image's entrypoint (coder/code-server ci/release-image/Dockerfile at v4.104.0:
 * `ENTRYPOINT ["/usr/bin/entrypoint.sh", "--bind-addr", "0.0.0.0:8080", "."]`). The container's
 * command replaces it, so the TLS watcher names it and becomes it. The folder to open, "." there, is
 * the working directory, the home: named here, since a bare "." reads as a float in YAML 1.1.
 */
export const CODE_SERVER_ENTRYPOINT = ['/usr/bin/entrypoint.sh', '--bind-addr', `0.0.0.0:${VSCODE.port}`, VSCODE.home];
/** The code-server container's command: the certificate watcher, which then becomes the entrypoint. */
export const CODE_SERVER_TLS = 'charts/workspaces/code-server-tls.sh';
/**
 * code-server's heartbeat file, `<data dir>/heartbeat` (src/node/routes/index.ts at v4.104.0; the data
 * directory is `~/.local/share/code-server`, src/node/util.ts getEnvPaths): the watcher restarts
 * code-server for a renewed certificate only once this has not changed for CODE_SERVER_IDLE_SECONDS.
 */
export const CODE_SERVER_HEARTBEAT = `${VSCODE.home}/.local/share/code-server/heartbeat`;
/** No browser connected for an hour: a restart then interrupts nobody at work. */
export const CODE_SERVER_IDLE_SECONDS = 3600;

/** The Jupyter setup step's installer, a file beside this chart. */
export const PIP_USER_INSTALL = 'charts/workspaces/pip-user-install.sh';
/**
 * jupyter-collaboration's document store, SQLiteYStore (`.jupyter_ystore.db` in the server's working
 * directory by default: jupyterlab/jupyter-collaboration projects/jupyter-server-ydoc/
 * jupyter_server_ydoc/stores.py at v4.1.2), named explicitly so it stays on the home volume.
 */
export const JUPYTER_YSTORE = `${JUPYTER.home}/.jupyter_ystore.db`;
/**
 * code-server's user data directory is `$XDG_DATA_HOME/code-server`, else `~/.local/share/code-server`
 * (coder/code-server src/node/cli.ts and src/node/util.ts getEnvPaths at v4.104.0), and VS Code's
 * server reads its machine ("Remote") settings from `<user data>/Machine/settings.json`
 * (microsoft/vscode src/vs/server/node/serverEnvironmentService.ts, machineSettingsResource). Remote
 * settings win over User settings and lose to Workspace settings.
 */
export const VSCODE_MACHINE_SETTINGS = `${VSCODE.home}/.local/share/code-server/Machine/settings.json`;
/** The rendered machine settings in the workspace's file volume. */
export const MACHINE_SETTINGS_FILE = 'vscode-machine-settings.json';

/** Props of the `jupyter` chart. */
export function jupyterChartProps(config: Config): WorkspacesChartProps {
  const w = config.workspaces;
  const gpu = w.gpu.enabled;
  const image = gpu ? w.gpu.image : w.jupyter.image;
  const iap = config.edge.enabled;
  const collaboration = w.jupyter.collaboration;
  const common = commonProps(config, 'jupyter');
  const env: EnvVar[] = [
    ...common.env,
    { name: 'DOCKER_STACKS_JUPYTER_CMD', value: 'lab' },
    { name: 'JUPYTER_PORT', value: String(JUPYTER.port) },
    { name: 'PATH', value: gpu ? `${JUPYTER_PATH}:${NVIDIA_BIN}` : JUPYTER_PATH },
    ...jupyterPackageEnv(config),
  ];
  if (!iap) env.push(tokenEnv('JUPYTER_TOKEN', w.tokenSecret));
  const args = [
    // The image's start script (kept as entrypoint) runs its hooks and then this.
    'start-notebook.py',
    // One host name per instance: the server lives at the root.
    '--ServerApp.base_url=/',
    '--ServerApp.allow_remote_access=True',
    // HTTPS with the instance's certificate. Jupyter Server hands these to tornado as an ssl_options
    // dict (jupyter_server v2.17.0 serverapp.py init_webapp and http_server), and tornado builds a new
    // SSLContext from the files for every connection it accepts (tornado v6.5.2 tcpserver.py
    // _handle_connection -> netutil.py ssl_wrap_socket -> ssl_options_to_context -> load_cert_chain):
    // a renewed certificate is served from the next connection on, without a restart. The server
    // knows its scheme from the TLS socket itself, so it trusts no X-Forwarded-* header.
    `--ServerApp.certfile=${WORKSPACE_TLS_DIR}/tls.crt`,
    `--ServerApp.keyfile=${WORKSPACE_TLS_DIR}/tls.key`,
    // IAP is the login; an empty token turns off Jupyter's own. Without IAP, JUPYTER_TOKEN is the token.
    ...(iap ? ['--IdentityProvider.token='] : []),
    // Real-time collaboration is decided here, not by what happens to be installed: off, the server
    // tells the front end to open documents without it (YDocExtension.disable_rtc sets the page
    // config disableRTC, which makes the shared models non-collaborative: jupyter_server_ydoc/app.py
    // and packages/docprovider/src/ydrive.ts at v4.1.2); the option is inert where it is not installed.
    ...(collaboration.enabled ? [`--SQLiteYStore.db_path=${JUPYTER_YSTORE}`] : ['--YDocExtension.disable_rtc=True']),
  ];
  const initContainers: RestrictedContainer[] = [];
  if (w.mlflowClient.install) initContainers.push(pipUserInstall(config, 'install-mlflow', image, [`mlflow-skinny==${mlflowClientVersion(config)}`]));
  // Installing jupyter-collaboration enables it: the package ships a jupyter_server config file that
  // turns on its server extension (projects/jupyter-server-ydoc/jupyter-config/jupyter_server_ydoc.json
  // at v4.1.2), and `pip --user` puts that file under ~/.local/etc/jupyter, which Jupyter reads.
  // With its parts pinned, which the release itself leaves open (jupyterCollaborationRequirements).
  if (collaboration.enabled)
    initContainers.push(pipUserInstall(config, 'install-collaboration', image, jupyterCollaborationRequirements(collaboration.version)));
  return chartProps(
    config,
    common,
    JUPYTER,
    image,
    w.jupyter,
    {
      args,
      env,
      healthPath: '/api',
      initContainers,
      sharedMemory: '1Gi',
      gpu: gpu ? { count: w.gpu.count, acceleratorType: w.gpu.acceleratorType } : undefined,
    },
    (instance) => instanceFiles(config, instance, {}),
  );
}

/**
 * Packages users install land on the home volume: pip falls back to `--user` (~/.local) because the
 * image's /opt/conda is read-only, and conda and mamba create environments and keep packages where
 * these say. mamba 2 puts CONDA_ENVS_DIRS first and otherwise only `<root prefix>/envs`, the
 * read-only /opt/conda/envs (mamba-org/mamba libmamba/src/api/configuration.cpp envs_dirs_hook at
 * 2.3.3; it refuses CONDA_ENVS_PATH beside it, so only one is set); both read CONDA_PKGS_DIRS.
 */
function jupyterPackageEnv(config: Config): EnvVar[] {
  const onVolume = config.workspaces.packages.cache === 'volume';
  return [
    { name: 'CONDA_ENVS_DIRS', value: `${JUPYTER.home}/.conda/envs` },
    { name: 'CONDA_PKGS_DIRS', value: onVolume ? `${JUPYTER.home}/.conda/pkgs` : '/tmp/conda-pkgs' },
    { name: 'PIP_CACHE_DIR', value: onVolume ? `${JUPYTER.home}/.cache/pip` : '/tmp/pip-cache' },
  ];
}

/** A Jupyter setup step that installs pinned requirements with `pip --user` when missing. */
function pipUserInstall(config: Config, name: string, image: string, requirements: string[]): RestrictedContainer {
  return setupStep(config, name, image, JUPYTER, {
    ...bashScript(PIP_USER_INSTALL, ...requirements),
    env: [
      { name: 'HOME', value: JUPYTER.home },
      { name: 'PIP_DISABLE_PIP_VERSION_CHECK', value: '1' },
    ],
  });
}

/** A script file run by bash, `$0` its file name (so its messages name it) and `args` its arguments. */
function bashScript(file: string, ...args: string[]): { command: string[] } {
  return { command: ['bash', '-c', scriptFile(file), file.slice(file.lastIndexOf('/') + 1), ...args] };
}

/** Props of the `vscode` chart. */
export function vscodeChartProps(config: Config): WorkspacesChartProps {
  const w = config.workspaces;
  const image = w.vscode.image;
  const iap = config.edge.enabled;
  const collaboration = w.vscode.collaboration.enabled ? w.vscode.collaboration : undefined;
  const common = commonProps(config, 'vscode');
  // uv links packages from its cache into an environment (a copy-on-write clone or a hard link,
  // astral-sh/uv crates/uv-fs/src/link.rs), within one file system only: with the cache on the
  // volume, the environment on the volume is linked rather than copied.
  const cache =
    w.packages.cache === 'volume' ? { uv: `${VSCODE.home}/.cache/uv`, pip: `${VSCODE.home}/.cache/pip` } : { uv: '/tmp/uv-cache', pip: '/tmp/pip-cache' };
  const path = [...(w.mlflowClient.install ? [`${VSCODE_VENV}/bin`] : []), ...VSCODE_TOOLCHAIN_PATH, VSCODE_IMAGE_PATH].join(':');
  const env: EnvVar[] = [...common.env];
  if (w.mlflowClient.install) env.push({ name: 'VIRTUAL_ENV', value: VSCODE_VENV });
  env.push({ name: 'PATH', value: path }, { name: 'PIP_CACHE_DIR', value: cache.pip }, { name: 'UV_CACHE_DIR', value: cache.uv });
  if (!iap) env.push(tokenEnv('PASSWORD', w.tokenSecret));
  const args = [
    // IAP is the login; without it code-server asks for the password from the token Secret.
    `--auth=${iap ? 'none' : 'password'}`,
    '--disable-telemetry',
    '--disable-update-check',
    // HTTPS with the instance's certificate (coder/code-server src/node/cli.ts at v4.104.0: "cert",
    // "cert-key"; a cert without its key is refused). code-server reads them once: the command's
    // watcher restarts it for a renewed certificate.
    `--cert=${WORKSPACE_TLS_DIR}/tls.crt`,
    `--cert-key=${WORKSPACE_TLS_DIR}/tls.key`,
  ];
  env.push(
    // What charts/workspaces/code-server-tls.sh watches and when it may restart code-server.
    { name: 'TLS_CERT_FILE', value: `${WORKSPACE_TLS_DIR}/tls.crt` },
    { name: 'CODE_SERVER_HEARTBEAT', value: CODE_SERVER_HEARTBEAT },
    { name: 'TLS_IDLE_SECONDS', value: String(CODE_SERVER_IDLE_SECONDS) },
    // Half of renewBefore: the old certificate still has that long to run when a busy server restarts.
    { name: 'TLS_RESTART_DEADLINE_SECONDS', value: String(Math.floor(durationSeconds(config.tls.renewBefore) / 2)) },
  );
  const command = ['bash', '-c', scriptFile(CODE_SERVER_TLS), CODE_SERVER_TLS.slice(CODE_SERVER_TLS.lastIndexOf('/') + 1), ...CODE_SERVER_ENTRYPOINT];
  const initContainers: RestrictedContainer[] = [];
  if (w.mlflowClient.install) {
    // code-server ships no Python: uv puts a standalone CPython and a virtual environment with the
    // MLflow client on the workspace volume. Both steps do nothing when their result is already there.
    const uvEnv: EnvVar[] = [
      { name: 'HOME', value: VSCODE.home },
      { name: 'UV_PYTHON_INSTALL_DIR', value: `${VSCODE.home}/.local/share/uv/python` },
      { name: 'UV_PYTHON_PREFERENCE', value: 'only-managed' },
      { name: 'UV_CACHE_DIR', value: cache.uv },
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
  const extensions = [...w.vscode.extensions, ...(collaboration ? [collaboration.extension] : [])];
  if (extensions.length > 0)
    initContainers.push(
      setupStep(config, 'install-extensions', image, VSCODE, {
        // Bypasses the image entrypoint (fixuid needs root); already installed extensions are kept.
        command: ['/usr/bin/code-server', ...extensions.flatMap((e) => ['--install-extension', e])],
        env: [{ name: 'HOME', value: VSCODE.home }],
      }),
    );
  if (collaboration)
    // The machine settings name the configured server before the extension first runs; without
    // them it would use its default, a public third-party server. The file is the chart's: it is
    // replaced at every start.
    initContainers.push(
      setupStep(
        config,
        'collaboration-settings',
        image,
        VSCODE,
        { command: ['install', '-D', '-m', '0644', `${FILES_PATH}/${MACHINE_SETTINGS_FILE}`, VSCODE_MACHINE_SETTINGS], env: [] },
        true,
      ),
    );
  const settings: WorkspaceFiles['files'] = collaboration ? { [MACHINE_SETTINGS_FILE]: { content: machineSettings(collaboration.serverUrl ?? '') } } : {};
  return chartProps(config, common, VSCODE, image, w.vscode, { command, args, env, healthPath: '/healthz', initContainers }, (instance) =>
    instanceFiles(config, instance, settings),
  );
}

/**
 * Open Collaboration Tools settings (eclipse-oct/open-collaboration-tools,
 * packages/open-collaboration-vscode/package.json at e4289d0): `oct.serverUrl` is the server every
 * session of this workspace uses; an empty `oct.webClientUrl` hides "Copy Web Client URL", whose
 * default points guests at the public web client (src/commands.ts, inviteCallback).
 */
export function machineSettings(serverUrl: string): string {
  return `${JSON.stringify({ 'oct.serverUrl': serverUrl, 'oct.webClientUrl': '' }, null, 2)}\n`;
}

/**
 * The files of one instance (its git setup and the app's own files) and what they need: the
 * environment that points git at them and the Secrets they project.
 */
function instanceFiles(config: Config, instance: WorkspaceInstance, appFiles: WorkspaceFiles['files']): InstanceExtras {
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
  const account = platformNames(config).mlflowAuth.workspaceAccount(instance.user);
  return {
    env: [...(git?.env ?? []), ...clientCredentialEnv(account)],
    files: Object.keys(files).length > 0 ? { files, secretFiles: git?.files.secretFiles } : undefined,
    externalSecrets: [...(git?.secrets ?? []), account.secret, ...(config.edge.enabled ? [] : [w.tokenSecret])],
  };
}

type InstanceExtras = Required<Pick<WorkspaceProps, 'env'>> & Pick<WorkspaceProps, 'files' | 'externalSecrets'>;

/** The chart props: one workspace per instance, with what every instance of the app shares. */
function chartProps(
  config: Config,
  common: ReturnType<typeof commonProps>,
  runtime: { readonly port: number; readonly home: string; readonly uid: number; readonly gid: number },
  image: string,
  settings: { readonly storageSize: string; readonly resources: Resources },
  app: Pick<WorkspaceProps, 'command' | 'args' | 'env' | 'healthPath' | 'initContainers' | 'sharedMemory' | 'gpu'>,
  perInstance: (instance: WorkspaceInstance) => InstanceExtras,
): WorkspacesChartProps {
  return {
    instance: config.environment,
    namespace: common.namespace,
    workspaces: common.instances.map((instance): WorkspaceProps => {
      const extras = perInstance(instance);
      return {
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
        env: [...app.env, ...extras.env],
        files: extras.files,
        externalSecrets: extras.externalSecrets,
        network: common.network,
        tls: common.tls,
        serviceAnnotations: common.serviceAnnotations(instance.name),
      };
    }),
  };
}

/** What both charts share: instances, namespace, MLflow address and its trust, TLS and network rules. */
function commonProps(config: Config, app: WorkspaceApp) {
  const names = platformNames(config);
  const network: WorkspaceNetwork = {
    mlflowNamespace: names.namespaces.platform,
    mlflowPods: selectorLabels({ name: names.mlflow, instance: config.environment, component: 'server' }),
    mlflowPort: names.mlflowPort,
    internetEgress: config.workspaces.internetEgress,
    clusterRanges: clusterRanges(config.network),
    loadBalancerIngress: config.edge.enabled,
    // The internet rule already reaches every Git host; without it, only their listed ranges.
    gitHostRanges: config.workspaces.internetEgress ? [] : [...new Set(config.workspaces.git.hosts.flatMap((h) => h.cidrs))].sort(),
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
    tls: { caIssuer: names.tls.caIssuer, lifetime: certificateLifetime(config), caBundleSecret: names.tls.caBundle } satisfies WorkspaceTls,
    serviceAnnotations: (service: string) => {
      // The load balancer speaks HTTPS to the port, as the server does.
      const annotations = edgeServiceAnnotations(config, service, { port: PORT_NAME, protocol: 'HTTPS' });
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
  readsFiles = false,
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
      ...(readsFiles ? [{ name: FILES_VOLUME, mountPath: FILES_PATH, readOnly: true }] : []),
    ],
  });
}
