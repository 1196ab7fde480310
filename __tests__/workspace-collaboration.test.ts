/**
 * Real-time collaboration: JupyterLab's (jupyter-collaboration) in the shared Jupyter, on by config,
 * and Open Collaboration Tools in VS Code, off unless a server of your own is configured. Also the
 * Jupyter setup script that installs the pinned extension, run against a stand-in site-packages.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { JUPYTER_YSTORE, PIP_USER_INSTALL } from '../charts/workspaces/apps/jupyter';
import { MACHINE_SETTINGS_FILE, machineSettings, VSCODE_MACHINE_SETTINGS } from '../charts/workspaces/apps/vscode';
import { FILES_PATH, SHARED_FILES_PATH } from '../charts/lib/workspace';
import { JUPYTER_COLLABORATION_VERSION, OCT_EXTENSION, OCT_PUBLIC_SERVER } from '../config/schema/workspaces';
import type { Config } from '../config/schema';
import { chartObjects, configsUnderTest, configWith, Manifest, PROJECT_ROOT, render } from './support/render';
import { StrictValidator } from './support/schemas';
import { strictTest } from './support/strict-tests';

const objects = (config: Config, app: 'jupyter' | 'vscode'): Manifest[] => chartObjects(render(config).files, app);
const deployment = (config: Config, app: 'jupyter' | 'vscode') => objects(config, app).find((o) => o.kind === 'Deployment')!;
const spec = (d: Manifest) => d.spec.template.spec;
const initNamed = (d: Manifest, name: string) => (spec(d).initContainers ?? []).find((c: Manifest) => c.name === name);

const dev = configsUnderTest().find((c) => c.name === 'dev')!.config;
const OCT_SERVER = 'https://oct.example.com/';
const OCT_CIDRS = ['203.0.113.16/28', '198.51.100.7/32'];
const OCT_VSIX = '/opt/extensions/open-collaboration-tools-0.3.8.vsix';
/** VS Code collaboration as it may run: no internet rule, the server's ranges, the extension from the image. */
const octWorkspaces = (extra: Record<string, unknown> = {}) => ({
  internetEgress: false,
  mlflowClient: { install: false },
  ...extra,
  vscode: { extensions: [], collaboration: { enabled: true, serverUrl: OCT_SERVER, serverCidrs: OCT_CIDRS, extension: OCT_VSIX } },
});
const vscodeOn = configWith({ workspaces: octWorkspaces() });

describe('Jupyter: JupyterLab real-time collaboration', () => {
  // jupyterlab/jupyter-collaboration at v4.1.2: projects/jupyter-collaboration/pyproject.toml requires
  // "jupyterlab>=4.4.0,<5.0.0" and packages/docprovider/package.json "@jupyterlab/apputils": "^4.4.0";
  // at v4.2.0 the front end needs "^4.5.0". The image scipy-notebook:2025-10-06 has JupyterLab 4.4.
  test('the pinned release is the last one built for JupyterLab 4.4', () => {
    expect(JUPYTER_COLLABORATION_VERSION).toBe('4.1.2');
    expect(configWith({}).workspaces.jupyter.collaboration).toEqual({ enabled: false, version: '4.1.2' });
  });

  test('off by default: nothing is installed and the server runs with it disabled', () => {
    const d = deployment(configWith({}), 'jupyter');
    expect(initNamed(d, 'install-collaboration')).toBeUndefined();
    // jupyter_server_ydoc/app.py at v4.1.2: disable_rtc sets the page config disableRTC, which makes
    // the front end's shared models non-collaborative (packages/docprovider/src/ydrive.ts).
    expect(spec(d).containers[0].args).toContain('--YDocExtension.disable_rtc=True');
    expect(spec(d).containers[0].args.join(' ')).not.toMatch(/YStore/);
  });

  test('config/dev.yaml turns it on for its shared Jupyter: installed into the home volume, store on the volume', () => {
    expect(dev.workspaces.users).toEqual([]);
    expect(dev.workspaces.jupyter.collaboration.enabled).toBe(true);
    const d = deployment(dev, 'jupyter');
    const step = initNamed(d, 'install-collaboration');
    expect(step.image).toBe(spec(d).containers[0].image);
    // The release and its parts, which the release leaves unpinned (>=2.1.2,<3): the newest parts need JupyterLab 4.5.
    expect(step.command.slice(3)).toEqual([
      'pip-user-install.sh',
      `${SHARED_FILES_PATH}/jupyter-collaboration.lock`,
      'jupyter-collaboration==4.1.2',
      'jupyter-server-ydoc==2.1.2',
      'jupyter-docprovider==2.1.2',
      'jupyter-collaboration-ui==2.1.2',
    ]);
    expect(step.volumeMounts).toContainEqual({ name: 'home', mountPath: '/home/jovyan' });
    const args = spec(d).containers[0].args;
    expect(args).toContain(`--SQLiteYStore.db_path=${JUPYTER_YSTORE}`);
    expect(JUPYTER_YSTORE).toBe('/home/jovyan/.jupyter_ystore.db');
    expect(args).not.toContain('--YDocExtension.disable_rtc=True');
    // The MLflow client comes first, then the extension, each its own step with its own log (after the
    // verifying proxy, a native sidecar that runs beside the app).
    expect(
      spec(d)
        .initContainers.filter((c: Manifest) => c.restartPolicy !== 'Always')
        .map((c: Manifest) => c.name),
    ).toEqual(['install-mlflow', 'install-collaboration']);
  });

  test('another release is refused until the workspace lock holds it: it would be installed unverified', () => {
    expect(() => configWith({ workspaces: { jupyter: { collaboration: { enabled: true, version: '4.1.1' } } } })).toThrow(
      'workspaces.jupyter.collaboration.version: "4.1.1" is not allowed: must be a release the workspace lock config/workspace-locks/jupyter-collaboration.lock holds: missing jupyter-collaboration==4.1.1 (the lock has jupyter-collaboration==4.1.2); jupyter-server-ydoc==2.1.1 (the lock has jupyter-server-ydoc==2.1.2);',
    );
  });

  test.each([
    [
      { users: [{ name: 'ana', email: 'ana@example.com' }], jupyter: { collaboration: { enabled: true } } },
      'workspaces.jupyter.collaboration.enabled: true is not allowed: can be true only while workspaces.users is empty: a per-user Jupyter admits its user alone, so nobody could join',
    ],
    [
      { internetEgress: false, mlflowClient: { install: false }, vscode: { extensions: [] }, jupyter: { collaboration: { enabled: true } } },
      'workspaces.jupyter.collaboration.enabled: true is not allowed: can be true only while workspaces.internetEgress is true, or hostEgress with packages.hosts (jupyter-collaboration is installed from PyPI at start)',
    ],
    [
      { jupyter: { collaboration: { version: 'latest' } } },
      'workspaces.jupyter.collaboration.version: "latest" is not allowed: must be a jupyter-collaboration release such as "4.1.2"',
    ],
    [
      { jupyter: { collaboration: { enabled: true, version: '4.2.0' } } },
      'workspaces.jupyter.collaboration.version: "4.2.0" is not allowed: must be a 4.1.x release such as "4.1.2": the Jupyter image quay.io/jupyter/scipy-notebook:2025-10-06 has JupyterLab 4.4 (built 2025-10-06, before JupyterLab 4.5.0), and jupyter-collaboration 4.2.0 to 4.4.x declare jupyterlab>=4.4 for pip while their front end needs JupyterLab 4.5, so they would install and then fail in the browser',
    ],
    [
      { gpu: { enabled: true }, jupyter: { collaboration: { enabled: true, version: '5.0.0' } } },
      'workspaces.jupyter.collaboration.version: "5.0.0" is not allowed: must be a 4.1.x release such as "4.1.2": the Jupyter image quay.io/jupyter/pytorch-notebook:cuda12-2025-10-06 has JupyterLab 4.4 (built 2025-10-06, before JupyterLab 4.5.0), and jupyter-collaboration 5.x needs JupyterLab 4.6',
    ],
  ])('refused: %j', (workspaces, message) => {
    expect(() => configWith({ workspaces } as never)).toThrow(`test config: ${message}`);
  });

  // jupyterlab/jupyter-collaboration at v4.2.0, v4.3.0, v4.4.0 and v4.4.2: projects/jupyter-collaboration/
  // pyproject.toml "jupyterlab>=4.4.0,<5.0.0", packages/collaboration-extension/package.json
  // "@jupyterlab/application": "^4.5.0". JupyterLab 4.5.0: 2025-11-18.
  test('4.2.0 to 4.4.x are refused only where the image is known to have JupyterLab 4.4', () => {
    const on = (version: string, image?: string) =>
      configWith({ workspaces: { jupyter: { collaboration: { enabled: true, version }, ...(image ? { image } : {}) } } });
    for (const version of ['4.2.0', '4.3.0', '4.4.0', '4.4.2']) expect(() => on(version)).toThrow(/collaboration\.version: .* must be a 4\.1\.x release/);
    // (Releases other than the locked 4.1.2 are then refused by the lock rule, another message.)
    for (const version of ['4.0.2', '4.1.0', '4.1.2']) expect(() => on(version)).not.toThrow(/must be a 4\.1\.x release/);
    expect(() => on('4.1.2')).not.toThrow();
    // An image built after JupyterLab 4.5.0, or one whose JupyterLab the tag does not tell, is left to the install step.
    expect(() => on('4.4.2', 'quay.io/jupyter/scipy-notebook:2026-01-05')).not.toThrow(/must be a 4\.1\.x release/);
    expect(() => on('4.4.2', 'europe-docker.pkg.dev/acme/lab/notebook:1.2.0')).not.toThrow(/must be a 4\.1\.x release/);
    // Collaboration off: the version is not installed, so it is not checked.
    expect(() => configWith({ workspaces: { jupyter: { collaboration: { version: '4.4.2' } } } })).not.toThrow();
  });
});

describe('VS Code: Open Collaboration Tools', () => {
  // eclipse-oct/open-collaboration-tools packages/open-collaboration-vscode/package.json at e4289d0:
  // publisher "typefox", name "open-collaboration-tools", version "0.3.8", license MIT, and the
  // oct.serverUrl default "https://api.open-collab.tools/" (the public third-party server).
  test('the extension is pinned, and the public server is known so that it is never the default', () => {
    expect(OCT_EXTENSION).toBe('typefox.open-collaboration-tools@0.3.8');
    expect(OCT_PUBLIC_SERVER).toBe('https://api.open-collab.tools/');
    expect(configWith({}).workspaces.vscode.collaboration).toEqual({ enabled: false, serverCidrs: [], extension: OCT_EXTENSION });
  });

  test('off by default and in every example config: not installed, not configured, no public server anywhere', () => {
    for (const { config } of [{ config: configWith({}) }, ...configsUnderTest()]) {
      expect(config.workspaces.vscode.collaboration.enabled).toBe(false);
      const text = render(config)
        .files.map((f) => f.content)
        .join('\n');
      expect(text).not.toContain('open-collaboration-tools');
      expect(text).not.toContain('open-collab.tools');
      expect(text).not.toContain('oct.serverUrl');
    }
  });

  test('on, the extension is installed from its file in the image and the machine settings name the configured server before it first runs', () => {
    const list = objects(vscodeOn, 'vscode');
    const d = list.find((o) => o.kind === 'Deployment')!;
    const install = initNamed(d, 'install-extensions');
    expect(install.command).toEqual(['/usr/bin/code-server', '--install-extension', OCT_VSIX]);
    const settings = initNamed(d, 'collaboration-settings');
    expect(settings.image).toBe(vscodeOn.workspaces.vscode.image);
    expect(settings.command).toEqual(['install', '-D', '-m', '0644', `${FILES_PATH}/${MACHINE_SETTINGS_FILE}`, VSCODE_MACHINE_SETTINGS]);
    expect(VSCODE_MACHINE_SETTINGS).toBe('/home/coder/.local/share/code-server/Machine/settings.json');
    expect(settings.volumeMounts).toContainEqual({ name: 'workspace-files', mountPath: FILES_PATH, readOnly: true });
    // After the extension step, so a failed download stops the pod before anything is configured.
    const names = spec(d).initContainers.map((c: Manifest) => c.name);
    expect(names.indexOf('collaboration-settings')).toBeGreaterThan(names.indexOf('install-extensions'));
    const files = list.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'vscode-files')!;
    expect(JSON.parse(files.data[MACHINE_SETTINGS_FILE])).toEqual({ 'oct.serverUrl': OCT_SERVER, 'oct.webClientUrl': '' });
    expect(files.data[MACHINE_SETTINGS_FILE]).toBe(machineSettings(OCT_SERVER));
    expect(JSON.stringify(list)).not.toContain('open-collab.tools');
  });

  strictTest('on, the render validates strictly against Kubernetes 1.31 and 1.34', () => {
    expect(new StrictValidator().validate(objects(vscodeOn, 'vscode'))).toEqual([]);
  });

  test('per-user workspaces each get the same server, so users join one another', () => {
    const config = configWith({
      workspaces: {
        ...octWorkspaces({
          users: [
            { name: 'ana', email: 'ana@example.com' },
            { name: 'bo', email: 'bo@example.com' },
          ],
        }),
      },
    });
    const all = objects(config, 'vscode').filter((o) => o.kind === 'ConfigMap');
    // Beside the app's shared ConfigMap (its locks and the proxy's program), each instance's own files.
    expect(all.map((m) => m.metadata.name)).toEqual(['vscode-shared', 'vscode-ana-files', 'vscode-bo-files']);
    const maps = all.filter((m) => m.metadata.name.endsWith('-files'));
    for (const m of maps) expect(JSON.parse(m.data[MACHINE_SETTINGS_FILE])['oct.serverUrl']).toBe(OCT_SERVER);
  });

  test.each([
    [
      { collaboration: { enabled: true } },
      `workspaces.vscode.collaboration.enabled: true is not allowed: can be true only with workspaces.vscode.collaboration.serverUrl set to your own server (without it the extension would use the public third-party server ${OCT_PUBLIC_SERVER})`,
    ],
    [
      { collaboration: { enabled: true, serverUrl: 'http://oct.example.com/' } },
      'workspaces.vscode.collaboration.serverUrl: "http://oct.example.com/" is not allowed: must be an https URL',
    ],
    [{ collaboration: { serverUrl: 'https://oct.ml-workspaces.svc.cluster.local:8100/' } }, 'is not allowed: must name a public host'],
    [{ collaboration: { serverUrl: 'https://10.0.0.5/' } }, 'is not allowed: must name a public host'],
    [{ collaboration: { serverUrl: 'https://user:secret@oct.example.com/' } }, 'is not allowed: must not carry a user or password'],
    [
      { collaboration: { serverUrl: 'not a url' } },
      'workspaces.vscode.collaboration.serverUrl: "not a url" is not allowed: must be an https URL such as "https://oct.example.com/"',
    ],
    [
      { collaboration: { extension: 'typefox.open-collaboration-tools' } },
      'workspaces.vscode.collaboration.extension: "typefox.open-collaboration-tools" is not allowed: must be "typefox.open-collaboration-tools@<version>", pinned',
    ],
  ])('refused: %j', (vscode, message) => {
    expect(() => configWith({ workspaces: { vscode } } as never)).toThrow(message);
  });

  // eclipse-oct/open-collaboration-tools at e4289d0 (package.json version 0.3.8),
  // packages/open-collaboration-vscode/src/collaboration-room-service.ts joinRoom: RoomUri.parse of the
  // invitation code; a code that carries a server URL is joined there (withConnectionProvider(parsedUrl)),
  // whatever oct.serverUrl says. A NetworkPolicy names addresses only, so the render holds the pods to
  // the server's ranges: no internet rule, HTTPS to serverCidrs.
  test('only the configured server: refused with the internet rule, without the server ranges, or with the extension from Open VSX', () => {
    const refused = (workspaces: Record<string, unknown>) => () => configWith({ workspaces } as never);
    expect(refused({ vscode: { collaboration: { enabled: true, serverUrl: OCT_SERVER, serverCidrs: OCT_CIDRS, extension: OCT_VSIX } } })).toThrow(
      'test config: workspaces.vscode.collaboration.enabled: true is not allowed: can be true only while workspaces.internetEgress is false: the extension joins whatever server an invitation code names, whatever oct.serverUrl says, so only a pod without the internet rule, reaching only collaboration.serverCidrs, stays on your server',
    );
    const base = octWorkspaces();
    expect(refused({ ...base, vscode: { ...base.vscode, collaboration: { ...base.vscode.collaboration, serverCidrs: [] } } })).toThrow(
      'test config: workspaces.vscode.collaboration.serverCidrs: [] is not allowed: must list the address ranges of the server at serverUrl',
    );
    expect(refused({ ...base, vscode: { ...base.vscode, collaboration: { ...base.vscode.collaboration, extension: OCT_EXTENSION } } })).toThrow(
      `test config: workspaces.vscode.collaboration.extension: "${OCT_EXTENSION}" is not allowed: must be the absolute path of the extension's .vsix file inside workspaces.vscode.image while workspaces.internetEgress is false`,
    );
    expect(refused({ ...base, vscode: { ...base.vscode, collaboration: { ...base.vscode.collaboration, serverCidrs: ['10.0.0.0/8'] } } })).toThrow(
      /^test config: workspaces\.vscode\.collaboration\.serverCidrs\[0\]: "10\.0\.0\.0\/8" is not allowed: must not overlap network\./,
    );
  });

  test('the rendered NetworkPolicy: VS Code reaches MLflow and the server ranges on HTTPS, nothing else; Jupyter does not get the server', () => {
    const vscodePolicy = objects(vscodeOn, 'vscode').find((o) => o.kind === 'NetworkPolicy')!;
    const egress = vscodePolicy.spec.egress as Manifest[];
    expect(egress).toHaveLength(2);
    expect(egress[0].to[0].namespaceSelector).toBeDefined();
    expect(egress[1]).toEqual({
      to: [{ ipBlock: { cidr: '198.51.100.7/32' } }, { ipBlock: { cidr: '203.0.113.16/28' } }],
      ports: [{ protocol: 'TCP', port: 443 }],
    });
    // No rule anywhere in the VS Code policy reaches 0.0.0.0/0 or any range beyond the server's.
    const blocks = egress.flatMap((r) => (r.to ?? []).map((t: Manifest) => t.ipBlock?.cidr).filter(Boolean));
    expect(blocks.sort()).toEqual([...OCT_CIDRS].sort());
    const jupyterPolicy = objects(vscodeOn, 'jupyter').find((o) => o.kind === 'NetworkPolicy')!;
    expect(JSON.stringify(jupyterPolicy.spec.egress)).not.toContain('203.0.113.16/28');
  });
});

describe('the Jupyter setup script, against a stand-in site-packages', () => {
  /** The machine's Python interpreter itself (not a version manager's shim, which reads a shell profile). */
  const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  if (python.error || python.status !== 0) throw new Error('python3 did not run: install the Debian package python3');
  const PYTHON = python.stdout.trim();
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-pip-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A site folder with these distributions installed (dist-info only, what importlib.metadata reads). */
  function site(dists: Record<string, string>): string {
    const root = path.join(dir, 'site');
    for (const [name, version] of Object.entries(dists)) {
      const info = path.join(root, `${name.replace(/-/g, '_')}-${version}.dist-info`);
      fs.mkdirSync(info, { recursive: true });
      fs.writeFileSync(path.join(info, 'METADATA'), `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`);
    }
    return root;
  }

  /** Runs the script as the pod does, with `python` the machine's python3 and a `pip` that records its call. */
  function run(dists: Record<string, string>, ...requirements: string[]) {
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'python'), `#!/bin/sh\nexec ${PYTHON} "$@"\n`, { mode: 0o755 });
    const log = path.join(dir, 'pip.log');
    fs.writeFileSync(
      path.join(bin, 'pip'),
      `#!/bin/sh\necho "$*" >> ${log}\nwhile [ $# -gt 0 ]; do if [ "$1" = --constraint ]; then cat "$2" >> ${log}; fi; shift; done\n`,
      { mode: 0o755 },
    );
    const script = fs.readFileSync(path.join(PROJECT_ROOT, PIP_USER_INSTALL), 'utf8');
    const lock = path.join(dir, 'test.lock');
    fs.writeFileSync(lock, 'stand-in==1.0 --hash=sha256:' + '0'.repeat(64) + '\n');
    const result = spawnSync('bash', ['-c', script, 'pip-user-install.sh', lock, ...requirements], {
      env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir, PYTHONPATH: site(dists), PYTHONNOUSERSITE: '1', TMPDIR: dir },
      encoding: 'utf8',
    });
    if (result.error) throw result.error;
    return { ...result, pip: fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : undefined };
  }

  const image = { jupyterlab: '4.4.9', 'jupyter-server': '2.17.0' };

  test("a missing extension is installed with --user, keeping the image's JupyterLab and Jupyter Server", () => {
    const r = run(image, 'jupyter-collaboration==4.1.2');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.pip).toMatch(
      /^install --user --no-cache-dir --require-hashes --only-binary=:all: --constraint \S+ --requirement \S+\/test\.lock\njupyterlab==4\.4\.9\njupyter_server==2\.17\.0\n$/,
    );
    expect(r.stdout).toContain('installing jupyter-collaboration==4.1.2 from');
  });

  test('an installed version is kept without calling pip (a restart needs no network)', () => {
    const r = run({ ...image, 'jupyter-collaboration': '4.1.2', 'mlflow-skinny': '3.17.0' }, 'mlflow-skinny==3.17.0', 'jupyter-collaboration==4.1.2');
    expect(r.status).toBe(0);
    expect(r.pip).toBeUndefined();
    expect(r.stdout).toBe('mlflow-skinny==3.17.0 is already installed\njupyter-collaboration==4.1.2 is already installed\n');
  });

  test('another installed version sends the whole lock to pip, which replaces it with the locked one', () => {
    const r = run({ ...image, 'jupyter-collaboration': '4.1.1' }, 'jupyter-collaboration==4.1.2');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('installing jupyter-collaboration==4.1.2 from');
    expect(r.pip?.split('\n')[0]).toMatch(/--require-hashes .*--requirement \S+\/test\.lock$/);
  });

  test('a lock file that is not there stops the step before pip runs', () => {
    const script = fs.readFileSync(path.join(PROJECT_ROOT, PIP_USER_INSTALL), 'utf8');
    const r = spawnSync('bash', ['-c', script, 'pip-user-install.sh', path.join(dir, 'absent.lock'), 'x==1'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('pip-user-install: no lock file at');
  });
});
