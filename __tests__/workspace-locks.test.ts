/**
 * What the workspaces install at start comes from locks with hashes (config/workspace-locks/): the
 * lock files themselves, the config rules that refuse a version no lock holds, the rendered setup
 * steps (pip and uv in hash-checking mode, wheels only), pinned VS Code extensions, and the Jupyter
 * setup script run with the machine's real pip against a local wheel: a matching hash installs, a
 * tampered file and an unlocked dependency fail.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PIP_USER_INSTALL } from '../charts/workspaces/apps/jupyter';
import { VSCODE_LOCKS, VSCODE_VENV } from '../charts/workspaces/apps/vscode';
import { SHARED_FILES_PATH } from '../charts/lib/workspace';
import { lockPath, lockText, normalizeName, parseLock, WORKSPACE_LOCKS, WorkspaceLock } from '../config/workspace-locks';
import { JUPYTER_COLLABORATION_VERSION, jupyterCollaborationRequirements, VSCODE_PYTHON_EXTENSION } from '../config/schema/workspaces';
import { derivedMlflowClientVersion } from '../model/mlflow-client';
import type { Config } from '../config/schema';
import { chartObjects, configsUnderTest, configWith, Manifest, PROJECT_ROOT, render } from './support/render';

const objects = (config: Config, app: 'jupyter' | 'vscode'): Manifest[] => chartObjects(render(config).files, app);
const deployment = (config: Config, app: 'jupyter' | 'vscode') => objects(config, app).find((o) => o.kind === 'Deployment')!;
const step = (d: Manifest, name: string) => (d.spec.template.spec.initContainers ?? []).find((c: Manifest) => c.name === name);
/** The app's shared ConfigMap, which carries its locks once for every instance. */
const sharedOf = (config: Config, app: 'jupyter' | 'vscode') =>
  objects(config, app).find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${app}-shared`)?.data;
const LOCKS = Object.keys(WORKSPACE_LOCKS) as WorkspaceLock[];
/** The `name==version` lines of a lock's .in file. */
const inputs = (lock: WorkspaceLock) =>
  fs
    .readFileSync(path.join(PROJECT_ROOT, lockPath(lock).replace(/\.lock$/, '.in')), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Za-z0-9]/.test(l));

describe('the lock files', () => {
  test.each(LOCKS)('%s: every package pinned with == and at least one sha256, its .in requirements at their exact version', (lock) => {
    const locked = parseLock(lockText(lock), lockPath(lock));
    expect(locked.length).toBeGreaterThan(0);
    for (const r of locked) expect(r.hashes.length).toBeGreaterThan(0);
    for (const requirement of inputs(lock)) {
      const [name, version] = requirement.split('==');
      expect(locked.filter((r) => r.name === normalizeName(name)).map((r) => r.version)).toEqual([version]);
    }
  });

  test("they hold the render's defaults: the default MLflow image's client, the pinned collaboration release, pip", () => {
    expect(inputs('mlflowClient')).toEqual([`mlflow-skinny==${derivedMlflowClientVersion(configWith({}))}`]);
    expect(inputs('jupyterCollaboration')).toEqual(jupyterCollaborationRequirements(JUPYTER_COLLABORATION_VERSION));
    expect(inputs('pip')).toEqual([expect.stringMatching(/^pip==\d+\.\d+(\.\d+)?$/)]);
  });

  test('the collaboration lock leaves JupyterLab and Jupyter Server to the image', () => {
    const names = parseLock(lockText('jupyterCollaboration'), 'x').map((r) => r.name);
    expect(names).toContain('pycrdt');
    expect(names).not.toContain('jupyterlab');
    expect(names).not.toContain('jupyter-server');
  });

  test.each([
    ['requests>=2', /is not a pinned requirement with hashes/],
    ['requests==2.32.0', /is not a pinned requirement with hashes/],
    ['requests==2.32.0 --hash=md5:0123', /is not a sha256 hash/],
    [`requests==2.32.0 --hash=sha256:${'a'.repeat(63)}`, /is not a sha256 hash/],
  ])('an unpinned or unhashed line is refused: %s', (line, message) => {
    expect(() => parseLock(`${line}\n`, 'test.lock')).toThrow(message);
  });
});

describe('the config', () => {
  test('an MLflow client version the lock does not hold is refused, at the field that chose it', () => {
    expect(() => configWith({ workspaces: { mlflowClient: { version: '3.16.0' } } })).toThrow(
      'workspaces.mlflowClient.version: "3.16.0" is not allowed: must be a version the workspace lock config/workspace-locks/mlflow-client.lock holds: the workspaces would install mlflow-skinny==3.16.0 (the lock has mlflow-skinny==3.17.0). Set it to the lock',
    );
    expect(() => configWith({ mlflow: { image: 'ghcr.io/mlflow/mlflow:v3.16.1-full' } } as never)).toThrow(
      /workspaces\.mlflowClient\.version: .*mlflow-skinny==3\.16\.1 \(the lock has mlflow-skinny==3\.17\.0\) \(the version of mlflow\.image "ghcr\.io\/mlflow\/mlflow:v3\.16\.1-full"\)/,
    );
  });

  test('nothing installed, nothing to lock', () => {
    expect(() => configWith({ workspaces: { mlflowClient: { install: false, version: '3.16.0' } } })).not.toThrow();
  });

  test('an unpinned VS Code extension is refused; the default is pinned', () => {
    expect(() => configWith({ workspaces: { vscode: { extensions: ['ms-python.python'] } } })).toThrow(
      'workspaces.vscode.extensions[0]: "ms-python.python" is not allowed: must be an Open VSX extension id pinned to a version, "publisher.name@version"',
    );
    expect(configWith({}).workspaces.vscode.extensions).toEqual([VSCODE_PYTHON_EXTENSION]);
    expect(VSCODE_PYTHON_EXTENSION).toBe('ms-python.python@2025.14.0');
  });

  test('an extension baked into the image is named by its .vsix path, and is the only kind allowed without internet egress', () => {
    const offline = { internetEgress: false, mlflowClient: { install: false } };
    expect(configWith({ workspaces: { ...offline, vscode: { extensions: ['/opt/extensions/python-2025.14.0.vsix'] } } }).workspaces.vscode.extensions).toEqual([
      '/opt/extensions/python-2025.14.0.vsix',
    ]);
    expect(() => configWith({ workspaces: { ...offline, vscode: { extensions: [VSCODE_PYTHON_EXTENSION] } } })).toThrow(
      'workspaces.vscode.extensions: ["ms-python.python@2025.14.0"] is not allowed: must list only .vsix files in the image while workspaces.internetEgress and workspaces.hostEgress are false',
    );
    expect(() => configWith({ workspaces: { vscode: { extensions: ['opt/python.vsix'] } } })).toThrow(/extensions\[0\]: "opt\/python\.vsix" is not allowed/);
  });
});

describe('the render', () => {
  test("Jupyter installs the MLflow client from its lock, which the app's shared files carry verbatim", () => {
    const config = configWith({});
    const install = step(deployment(config, 'jupyter'), 'install-mlflow');
    expect(install.command.slice(3)).toEqual(['pip-user-install.sh', `${SHARED_FILES_PATH}/mlflow-client.lock`, 'mlflow-skinny==3.17.0']);
    expect(install.volumeMounts).toContainEqual({ name: 'workspace-shared', mountPath: SHARED_FILES_PATH, readOnly: true });
    expect(sharedOf(config, 'jupyter')!['mlflow-client.lock']).toBe(fs.readFileSync(path.join(PROJECT_ROOT, lockPath('mlflowClient')), 'utf8'));
    expect(install.command[2]).toBe(fs.readFileSync(path.join(PROJECT_ROOT, PIP_USER_INSTALL), 'utf8'));
    expect(install.command[2]).toMatch(/^pip install --user --no-cache-dir --require-hashes --only-binary=:all: .*--requirement "\$lock"$/m);
  });

  test('VS Code installs the MLflow client and pip with uv in hash-checking mode, wheels only, from their locks', () => {
    const config = configWith({});
    const install = step(deployment(config, 'vscode'), 'install-mlflow');
    expect(VSCODE_LOCKS).toEqual(['mlflowClient', 'pip']);
    expect(install.command).toEqual([
      '/usr/local/bin/uv',
      'pip',
      'install',
      '--python',
      `${VSCODE_VENV}/bin/python`,
      '--require-hashes',
      '--no-build',
      '--requirement',
      `${SHARED_FILES_PATH}/mlflow-client.lock`,
      '--requirement',
      `${SHARED_FILES_PATH}/pip.lock`,
    ]);
    expect(install.volumeMounts).toContainEqual({ name: 'workspace-shared', mountPath: SHARED_FILES_PATH, readOnly: true });
    // Beside the verifying proxy's program, which the edge adds to the same ConfigMap.
    const files = sharedOf(config, 'vscode')!;
    expect(Object.keys(files).sort()).toEqual(['iap_proxy.py', 'mlflow-client.lock', 'pip.lock']);
    expect(files['pip.lock']).toMatch(/^pip==\S+ \\\n {4}--hash=sha256:/m);
  });

  test('no setup step of any config under test names a package without its lock, nor an unpinned extension', () => {
    for (const { config } of [{ config: configWith({}) }, ...configsUnderTest()])
      for (const app of ['jupyter', 'vscode'] as const) {
        const d = deployment(config, app);
        if (!d) continue;
        for (const s of d.spec.template.spec.initContainers ?? []) {
          const command: string[] = s.command ?? [];
          if (command.includes('install') && command[0].endsWith('/uv')) expect(command).toContain('--require-hashes');
          if (command[0] === '/usr/bin/code-server') for (let i = 1; i < command.length; i += 2) expect(command[i + 1]).toMatch(/^\/.*\.vsix$|@[0-9]/);
        }
      }
  });

  test('VS Code extensions are installed at their pinned versions', () => {
    const d = deployment(configWith({ workspaces: { vscode: { extensions: ['ms-python.python@2025.14.0', 'redhat.vscode-yaml@1.18.0'] } } }), 'vscode');
    expect(step(d, 'install-extensions').command).toEqual([
      '/usr/bin/code-server',
      '--install-extension',
      'ms-python.python@2025.14.0',
      '--install-extension',
      'redhat.vscode-yaml@1.18.0',
    ]);
  });
});

describe('the Jupyter setup script with the real pip, offline, against a local wheel', () => {
  const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  if (python.error || python.status !== 0) throw new Error('python3 did not run: install the Debian package python3');
  const PYTHON = python.stdout.trim();
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-lock-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Writes a minimal wheel of `name` `version` requiring `requires` into dir/wheels; returns its sha256. */
  function wheel(name: string, version: string, requires: string[] = []): string {
    const maker = [
      'import hashlib, sys, zipfile',
      'out, name, version = sys.argv[1:4]',
      'mod = name.replace("-", "_")',
      'info = f"{mod}-{version}.dist-info"',
      'meta = f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n" + "".join(f"Requires-Dist: {r}\\n" for r in sys.argv[4:])',
      'path = f"{out}/{mod}-{version}-py3-none-any.whl"',
      'with zipfile.ZipFile(path, "w") as z:',
      '    z.writestr(f"{mod}/__init__.py", "")',
      '    z.writestr(f"{info}/METADATA", meta)',
      '    z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")',
      '    z.writestr(f"{info}/RECORD", "")',
      'print(hashlib.sha256(open(path, "rb").read()).hexdigest())',
    ].join('\n');
    const wheels = path.join(dir, 'wheels');
    fs.mkdirSync(wheels, { recursive: true });
    const r = spawnSync(PYTHON, ['-c', maker, wheels, name, version, ...requires], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout.trim();
  }

  /** Runs the script as the pod does: `python` and `pip` the machine's, the user site in dir, no index. */
  function install(lock: string, ...requirements: string[]) {
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'python'), `#!/bin/sh\nexec ${PYTHON} "$@"\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, 'pip'), `#!/bin/sh\nexec ${PYTHON} -m pip "$@"\n`, { mode: 0o755 });
    const lockFile = path.join(dir, 'test.lock');
    fs.writeFileSync(lockFile, lock);
    const script = fs.readFileSync(path.join(PROJECT_ROOT, PIP_USER_INSTALL), 'utf8');
    return spawnSync('bash', ['-c', script, 'pip-user-install.sh', lockFile, ...requirements], {
      env: {
        PATH: `${bin}:/usr/bin:/bin`,
        HOME: dir,
        PYTHONUSERBASE: path.join(dir, 'user'),
        TMPDIR: dir,
        PIP_NO_INDEX: '1',
        PIP_FIND_LINKS: path.join(dir, 'wheels'),
        PIP_DISABLE_PIP_VERSION_CHECK: '1',
        // The tests may run as root, where pip warns on stderr.
        PIP_ROOT_USER_ACTION: 'ignore',
      },
      encoding: 'utf8',
    });
  }

  test('a wheel whose sha256 the lock names is installed into the user site; run again, pip is not called', () => {
    const hash = wheel('lock-demo', '1.0.0');
    const first = install(`lock-demo==1.0.0 \\\n    --hash=sha256:${hash}\n`, 'lock-demo==1.0.0');
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/Successfully installed lock-demo-1\.0\.0/);
    const again = install(`lock-demo==1.0.0 --hash=sha256:${hash}\n`, 'lock-demo==1.0.0');
    expect(again.stdout).toBe('lock-demo==1.0.0 is already installed\n');
  });

  test('a file whose sha256 differs from the lock is refused, and nothing is installed', () => {
    wheel('lock-demo', '1.0.0');
    const r = install(`lock-demo==1.0.0 --hash=sha256:${'0'.repeat(64)}\n`, 'lock-demo==1.0.0');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/THESE PACKAGES DO NOT MATCH THE HASHES/);
    expect(fs.existsSync(path.join(dir, 'user'))).toBe(false);
  });

  test('a dependency the lock does not pin is refused, though a wheel for it is at hand', () => {
    wheel('lock-dep', '2.0.0');
    const hash = wheel('lock-demo', '1.0.0', ['lock-dep>=1']);
    const r = install(`lock-demo==1.0.0 --hash=sha256:${hash}\n`, 'lock-demo==1.0.0');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/In --require-hashes mode, all requirements must have their versions pinned with ==[\s\S]*lock-dep>=1/);
  });
});
