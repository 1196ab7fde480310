/**
 * Jupyter (docker-stacks images): JupyterLab as `start-notebook.py` starts it, HTTPS served by tornado
 * itself, the MLflow client and the optional collaboration packages installed with `pip --user` into
 * the home volume.
 */
import type { Config } from '../../../config/schema';
import { jupyterCollaborationRequirements } from '../../../config/schema/workspaces';
import type { EnvVar } from '../../../imports/k8s-1.31';
import type { RestrictedContainer } from '../../lib/pod';
import { WORKSPACE_TLS_DIR } from '../../lib/workspace';
import type { WorkspaceLock } from '../../../config/workspace-locks';
import { bashScriptCommand } from '../../lib/script-files';
import { lockFilePath, lockFiles, mlflowClientVersion, setupStep, tokenEnv, WorkspaceAppDefinition, WorkspaceRuntime } from '../app-definition';

/** Jupyter docker-stacks runtime contract: user jovyan (1000), group users (100). */
const JUPYTER: WorkspaceRuntime = { port: 8888, home: '/home/jovyan', uid: 1000, gid: 100 };
/** PATH of the docker-stacks images, with the user's pip scripts (`pip install --user`, e.g. `mlflow`) in front. */
const JUPYTER_PATH = `${JUPYTER.home}/.local/bin:/opt/conda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
/**
 * Where GKE mounts the NVIDIA driver's tools (nvidia-smi). The CUDA images append it to PATH
 * (jupyter/docker-stacks images/pytorch-notebook/cuda12/Dockerfile: `ENV PATH="${PATH}:/usr/local/nvidia/bin"`),
 * so a PATH set here must keep it.
 */
const NVIDIA_BIN = '/usr/local/nvidia/bin';
/** The Jupyter setup step's installer, a file beside this chart. */
export const PIP_USER_INSTALL = 'charts/workspaces/pip-user-install.sh';
/**
 * jupyter-collaboration's document store, SQLiteYStore (`.jupyter_ystore.db` in the server's working
 * directory by default: jupyterlab/jupyter-collaboration projects/jupyter-server-ydoc/
 * jupyter_server_ydoc/stores.py at v4.1.2), named explicitly so it stays on the home volume.
 */
export const JUPYTER_YSTORE = `${JUPYTER.home}/.jupyter_ystore.db`;
export const jupyter: WorkspaceAppDefinition = {
  id: 'jupyter',
  runtime: JUPYTER,
  healthPath: '/api',
  image: (config) => (config.workspaces.gpu.enabled ? config.workspaces.gpu.image : config.workspaces.jupyter.image),
  build(model, image) {
    const config = model.config;
    const w = config.workspaces;
    const gpu = w.gpu.enabled;
    const iap = config.edge.enabled;
    const collaboration = w.jupyter.collaboration;
    const env: EnvVar[] = [
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
      ...(iap
        ? [
            // Behind the verifying proxy (charts/workspaces/iap_proxy.py), which serves HTTPS to the load
            // balancer and checks IAP's token on every request: plain HTTP on loopback only, and no
            // login of Jupyter's own (an empty token turns it off).
            '--ServerApp.ip=127.0.0.1',
            `--ServerApp.port=${JUPYTER.port}`,
            '--IdentityProvider.token=',
          ]
        : [
            // HTTPS with the instance's certificate. Jupyter Server hands these to tornado as an ssl_options
            // dict (jupyter_server v2.17.0 serverapp.py init_webapp and http_server), and tornado builds a new
            // SSLContext from the files for every connection it accepts (tornado v6.5.2 tcpserver.py
            // _handle_connection -> netutil.py ssl_wrap_socket -> ssl_options_to_context -> load_cert_chain):
            // a renewed certificate is served from the next connection on, without a restart. The server
            // knows its scheme from the TLS socket itself, so it trusts no X-Forwarded-* header.
            // JUPYTER_TOKEN is the login.
            `--ServerApp.certfile=${WORKSPACE_TLS_DIR}/tls.crt`,
            `--ServerApp.keyfile=${WORKSPACE_TLS_DIR}/tls.key`,
          ]),
      // Real-time collaboration is decided here, not by what happens to be installed: off, the server
      // tells the front end to open documents without it (YDocExtension.disable_rtc sets the page
      // config disableRTC, which makes the shared models non-collaborative: jupyter_server_ydoc/app.py
      // and packages/docprovider/src/ydrive.ts at v4.1.2); the option is inert where it is not installed.
      ...(collaboration.enabled ? [`--SQLiteYStore.db_path=${JUPYTER_YSTORE}`] : ['--YDocExtension.disable_rtc=True']),
    ];
    const initContainers: RestrictedContainer[] = [];
    const locks: WorkspaceLock[] = [];
    if (w.mlflowClient.install) {
      initContainers.push(pipUserInstall(config, 'install-mlflow', image, 'mlflowClient', [`mlflow-skinny==${mlflowClientVersion(model)}`]));
      locks.push('mlflowClient');
    }
    // Installing jupyter-collaboration enables it: the package ships a jupyter_server config file that
    // turns on its server extension (projects/jupyter-server-ydoc/jupyter-config/jupyter_server_ydoc.json
    // at v4.1.2), and `pip --user` puts that file under ~/.local/etc/jupyter, which Jupyter reads.
    // With its parts pinned, which the release itself leaves open (jupyterCollaborationRequirements).
    if (collaboration.enabled) {
      initContainers.push(
        pipUserInstall(config, 'install-collaboration', image, 'jupyterCollaboration', jupyterCollaborationRequirements(collaboration.version)),
      );
      locks.push('jupyterCollaboration');
    }
    return {
      args,
      env,
      initContainers,
      sharedMemory: '1Gi',
      gpu: gpu ? { count: w.gpu.count, acceleratorType: w.gpu.acceleratorType } : undefined,
      files: {},
      sharedFiles: lockFiles(locks),
    };
  },
};

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

/**
 * A Jupyter setup step that installs a lock with `pip --user` in hash-checking mode when the pinned
 * `requirements` are missing; the lock file comes from the app's shared files (config/workspace-locks.ts).
 */
function pipUserInstall(config: Config, name: string, image: string, lock: WorkspaceLock, requirements: string[]): RestrictedContainer {
  return setupStep(
    config,
    name,
    image,
    JUPYTER,
    {
      ...bashScriptCommand(PIP_USER_INSTALL, lockFilePath(lock), ...requirements),
      env: [
        { name: 'HOME', value: JUPYTER.home },
        { name: 'PIP_DISABLE_PIP_VERSION_CHECK', value: '1' },
      ],
    },
    'shared',
  );
}
