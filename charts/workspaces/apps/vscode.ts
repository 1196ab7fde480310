/**
 * VS Code (code-server): HTTPS from code-server itself, restarted by a watcher for a renewed
 * certificate; Python and the MLflow client installed with uv into the workspace volume; extensions
 * from Open VSX; optional Open Collaboration Tools with the configured server.
 */
import { durationSeconds } from '../../../config/schema/primitives';
import type { EnvVar } from '../../../imports/k8s-1.31';
import type { RestrictedContainer } from '../../lib/pod';
import { FILES_PATH, WORKSPACE_TLS_DIR, WorkspaceFiles } from '../../lib/workspace';
import { bashScriptCommand } from '../../lib/script-files';
import { lockFilePath, lockFiles, setupStep, tokenEnv, WorkspaceAppDefinition, WorkspaceRuntime } from '../app-definition';
import type { WorkspaceLock } from '../../../config/workspace-locks';

/** codercom/code-server runtime contract: user coder (1000:1000). */
const VSCODE: WorkspaceRuntime = { port: 8080, home: '/home/coder', uid: 1000, gid: 1000 };
/** The Python environment code-server's terminal uses, on the workspace volume. */
export const VSCODE_VENV = `${VSCODE.home}/.venvs/mlflow`;
/** The locks the environment is installed from: the MLflow client, and pip for the users' own installs there. */
export const VSCODE_LOCKS: readonly WorkspaceLock[] = ['mlflowClient', 'pip'];
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
/**
 * Behind the verifying proxy (charts/workspaces/iap_proxy.py), which serves HTTPS to the load balancer
 * and checks IAP's token on every request: the same entrypoint, bound to loopback, in plain HTTP.
 */
export const CODE_SERVER_LOOPBACK_ENTRYPOINT = ['/usr/bin/entrypoint.sh', '--bind-addr', `127.0.0.1:${VSCODE.port}`, VSCODE.home];
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

export const vscode: WorkspaceAppDefinition = {
  id: 'vscode',
  runtime: VSCODE,
  healthPath: '/healthz',
  image: (config) => config.workspaces.vscode.image,
  build(model, image) {
    const config = model.config;
    const w = config.workspaces;
    const iap = config.edge.enabled;
    const collaboration = w.vscode.collaboration.enabled ? w.vscode.collaboration : undefined;
    // uv links packages from its cache into an environment (a copy-on-write clone or a hard link,
    // astral-sh/uv crates/uv-fs/src/link.rs), within one file system only: with the cache on the
    // volume, the environment on the volume is linked rather than copied.
    const cache =
      w.packages.cache === 'volume' ? { uv: `${VSCODE.home}/.cache/uv`, pip: `${VSCODE.home}/.cache/pip` } : { uv: '/tmp/uv-cache', pip: '/tmp/pip-cache' };
    const path = [...(w.mlflowClient.install ? [`${VSCODE_VENV}/bin`] : []), ...VSCODE_TOOLCHAIN_PATH, VSCODE_IMAGE_PATH].join(':');
    const env: EnvVar[] = [];
    if (w.mlflowClient.install) env.push({ name: 'VIRTUAL_ENV', value: VSCODE_VENV });
    env.push({ name: 'PATH', value: path }, { name: 'PIP_CACHE_DIR', value: cache.pip }, { name: 'UV_CACHE_DIR', value: cache.uv });
    if (!iap) env.push(tokenEnv('PASSWORD', w.tokenSecret));
    // IAP is the login, checked by the proxy; without it code-server asks for the password from the token Secret.
    const args = iap
      ? ['--auth=none', '--disable-telemetry', '--disable-update-check']
      : [
          '--auth=password',
          '--disable-telemetry',
          '--disable-update-check',
          // HTTPS with the instance's certificate (coder/code-server src/node/cli.ts at v4.104.0: "cert",
          // "cert-key"; a cert without its key is refused). code-server reads them once: the command's
          // watcher restarts it for a renewed certificate.
          `--cert=${WORKSPACE_TLS_DIR}/tls.crt`,
          `--cert-key=${WORKSPACE_TLS_DIR}/tls.key`,
        ];
    if (!iap)
      env.push(
        // What charts/workspaces/code-server-tls.sh watches and when it may restart code-server.
        { name: 'TLS_CERT_FILE', value: `${WORKSPACE_TLS_DIR}/tls.crt` },
        { name: 'CODE_SERVER_HEARTBEAT', value: CODE_SERVER_HEARTBEAT },
        { name: 'TLS_IDLE_SECONDS', value: String(CODE_SERVER_IDLE_SECONDS) },
        // Half of renewBefore: the old certificate still has that long to run when a busy server restarts.
        { name: 'TLS_RESTART_DEADLINE_SECONDS', value: String(Math.floor(durationSeconds(config.tls.renewBefore) / 2)) },
      );
    // Behind the proxy, which reloads a renewed certificate itself, the image's entrypoint runs as it is.
    const command = iap ? CODE_SERVER_LOOPBACK_ENTRYPOINT : bashScriptCommand(CODE_SERVER_TLS, ...CODE_SERVER_ENTRYPOINT).command;
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
        // The MLflow client and pip from their locks, in hash-checking mode (every file must match a
        // hash of the lock, every package must be pinned there) and from wheels only: uv pip install
        // --require-hashes and --no-build, "alias for --only-binary :all:" (astral-sh/uv
        // crates/uv-cli/src/lib.rs PipInstallArgs at 0.10.8). Nothing already installed at the locked
        // version is downloaded again. mlflowClientVersion is the lock's (model/rules.ts).
        setupStep(
          config,
          'install-mlflow',
          w.vscode.uvImage,
          VSCODE,
          {
            command: [
              UV_BIN,
              'pip',
              'install',
              '--python',
              `${VSCODE_VENV}/bin/python`,
              '--require-hashes',
              '--no-build',
              ...VSCODE_LOCKS.flatMap((lock) => ['--requirement', lockFilePath(lock)]),
            ],
            env: uvEnv,
          },
          'shared',
        ),
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
          'files',
        ),
      );
    const settings: WorkspaceFiles['files'] = collaboration ? { [MACHINE_SETTINGS_FILE]: { content: machineSettings(collaboration.serverUrl ?? '') } } : {};
    return { command, args, env, initContainers, files: settings, sharedFiles: w.mlflowClient.install ? lockFiles(VSCODE_LOCKS) : {} };
  },
};

/**
 * Open Collaboration Tools settings (eclipse-oct/open-collaboration-tools,
 * packages/open-collaboration-vscode/package.json at e4289d0): `oct.serverUrl` is the server every
 * session of this workspace uses; an empty `oct.webClientUrl` hides "Copy Web Client URL", whose
 * default points guests at the public web client (src/commands.ts, inviteCallback).
 */
export function machineSettings(serverUrl: string): string {
  return `${JSON.stringify({ 'oct.serverUrl': serverUrl, 'oct.webClientUrl': '' }, null, 2)}\n`;
}
