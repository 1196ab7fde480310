/**
 * The rendered shared Jupyter workspace, with real-time collaboration on, run for real beside the
 * rendered MLflow (local/platform.ts, local/jupyter.ts): its setup steps, its verifying proxy and its
 * server with their rendered command lines and environment, HTTPS with a certificate of the platform CA for the
 * rendered Certificate's names, two people editing one notebook through jupyter-collaboration, a
 * renewed certificate served without a restart, and notebook code logging to MLflow through the CA
 * bundle; then the variant with collaboration off and no edge (the login token) beside the same
 * MLflow. One check records a known bug of the collaboration install and is marked `failing`.
 */
import { spawnSync } from 'child_process';
import { buildModel } from '../../model';
import * as fs from 'fs';
import * as path from 'path';
import * as tls from 'tls';
import { X509Certificate } from 'crypto';
import { mlflowClientVersion } from '../../charts/workspaces/app-definition';
import { JUPYTER_YSTORE } from '../../charts/workspaces/apps/jupyter';
import { JUPYTER_COLLABORATION_VERSION, jupyterCollaborationRequirements } from '../../config/schema/workspaces';
import { lockText } from '../../config/workspace-locks';
import { LocalJupyter } from '../../local/jupyter';
import { LocalPlatform, Rendered } from '../../local/platform';
import { mapMounts } from '../../local/pod-runner';
import { configWith, PROJECT_ROOT } from '../support/render';
import { runPython, START_SECONDS, startPlatform, stopPlatform } from './support/platform';

const config = configWith({ workspaces: { jupyter: { collaboration: { enabled: true } } } });
let platform: LocalPlatform;
let jupyter: LocalJupyter;
let issued: string;

beforeAll(
  async () => {
    platform = await startPlatform(config);
    jupyter = await LocalJupyter.start(platform);
    issued = platform.secrets[jupyter.certificate.spec.secretName]['tls.crt'];
  },
  (START_SECONDS + 180) * 1000,
);

afterAll(async () => {
  await jupyter?.stop();
  await stopPlatform(platform);
}, 120000);

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
/** The URL a pod uses for the Service, and the CA bundle the workspace container mounts. */
const serviceUrl = () => `https://${jupyter.dnsNames[jupyter.dnsNames.length - 1]}:${jupyter.servicePort}`;
const caBundle = () => jupyter.pod.prepare('jupyter').env.MLFLOW_TRACKING_SERVER_CERT_PATH;
const program = (name: string) => path.join(PROJECT_ROOT, '__tests__/live/programs', name);

describe('start', () => {
  test('the setup steps find the pinned MLflow client and jupyter-collaboration installed, and install nothing', () => {
    // The lock and the requirements follow the script's name in its command (bash -c TEXT NAME LOCK REQUIREMENT...).
    const setup = jupyter.pod.spec.initContainers.filter((c: { restartPolicy?: string }) => c.restartPolicy !== 'Always');
    const steps = setup.map((c: { name: string; command: string[] }) => [c.name, c.command.slice(c.command.indexOf('pip-user-install.sh') + 2)]);
    expect(setup.map((c: { command: string[] }) => c.command[c.command.indexOf('pip-user-install.sh') + 1])).toEqual([
      '/etc/workspace-shared/mlflow-client.lock',
      '/etc/workspace-shared/jupyter-collaboration.lock',
    ]);
    // The locks are laid out from the app's shared ConfigMap where each step reads them.
    for (const [c, lock] of [
      ['install-mlflow', 'mlflowClient'],
      ['install-collaboration', 'jupyterCollaboration'],
    ] as const) {
      const argv = jupyter.pod.prepare(c).argv;
      expect(fs.readFileSync(argv[argv.indexOf('pip-user-install.sh') + 1], 'utf8')).toBe(lockText(lock));
    }
    expect(steps).toEqual([
      ['install-mlflow', [`mlflow-skinny==${mlflowClientVersion(buildModel(config))}`]],
      ['install-collaboration', jupyterCollaborationRequirements(JUPYTER_COLLABORATION_VERSION)],
    ]);
    for (const [name, requirements] of steps) {
      const output = jupyter.pod.running.find((c) => c.name === name)!.output;
      expect(output).toBe((requirements as string[]).map((r) => `${r} is already installed\n`).join(''));
    }
  });

  test("the start script (the image's start-notebook.py) runs JupyterLab with the rendered arguments", () => {
    const [script, ...args] = jupyter.pod.prepare('jupyter').argv;
    expect(script).toBe('start-notebook.py');
    expect(jupyter.server!.output).toContain(`Executing: jupyter lab ${args.join(' ')}\n`);
  });
});

describe('HTTPS', () => {
  test('/api answers 200 with the server version, on the certificate issued for the Service names, checked against the platform CA', async () => {
    const answer = await jupyter.request('/api');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).version).toMatch(/^2\.\d+\.\d+$/);
    expect(answer.certificate.fingerprint256).toBe(fingerprint(issued));
    expect(answer.certificate.subjectaltname).toBe(jupyter.dnsNames.map((n) => `DNS:${n}`).join(', '));
  });

  test('with the edge the HTTPS is the verifying proxy’s, and without an IAP token only the health path answers', async () => {
    expect(jupyter.proxied).toBe(true);
    expect(jupyter.pod.running.find((c) => c.name === 'iap-proxy')?.running).toBe(true);
    expect((await jupyter.request('/api', { iap: false })).status).toBe(200);
    expect((await jupyter.request('/api/contents', { iap: false })).status).toBe(401);
    expect((await jupyter.request('/api/contents')).status).toBe(200);
  });

  test('a client that trusts only the public CAs, or asks for another name, is refused', async () => {
    await expect(jupyter.request('/api', { ca: tls.rootCertificates.join('\n') })).rejects.toThrow(/unable to verify the first certificate/);
    await expect(jupyter.request('/api', { servername: 'mlflow.mlflow.svc.cluster.local' })).rejects.toThrow(/does not match certificate's altnames/);
  });
});

describe('real-time collaboration', () => {
  test('the lab page tells the front end to open documents collaboratively', async () => {
    const page = await jupyter.request('/lab');
    expect(page.status).toBe(200);
    const data = /<script id="jupyter-config-data" type="application\/json">([\s\S]*?)<\/script>/.exec(page.body);
    expect(JSON.parse(data![1]).disableRTC).toBe(false);
  });

  // Found by this test, fixed in the render (jupyterCollaborationRequirements) and the lock:
  // jupyter-collaboration 4.1.2 is a metapackage whose parts are
  // not pinned ("jupyter_collaboration_ui>=2.1.2,<3", "jupyter_docprovider>=2.1.2,<3",
  // "jupyter_server_ydoc>=2.1.2,<3": projects/jupyter-collaboration/pyproject.toml at v4.1.2), so
  // `pip install jupyter-collaboration==4.1.2` takes their newest 2.x, whose front ends need
  // JupyterLab 4.5 (packages/*/package.json "@jupyterlab/application": "^4.5.0" from v4.2.0 on, parts
  // 2.2.0). The parts released with 4.1.2 are 2.1.2 (their _version.py at v4.1.2). JupyterLab's own
  // check below reports the installed front ends as not compatible with JupyterLab 4.4.
  test('the front ends that come with jupyter-collaboration fit the JupyterLab that serves them', () => {
    const list = spawnSync('jupyter', ['labextension', 'list'], { env: jupyter.pod.prepare('jupyter').env, encoding: 'utf8' });
    // eslint-disable-next-line no-control-regex -- the colours of its output
    const output = `${list.stdout}${list.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
    expect(output).toMatch(/@jupyter\/docprovider-extension v\S+ enabled/);
    expect(output).not.toContain('is not compatible with the current JupyterLab');
  });

  test("two people edit one notebook at once: each sees the other's cell, and the room's history goes to the store on the home volume", async () => {
    const store = mapMounts(JUPYTER_YSTORE, jupyter.pod.mounts(jupyter.pod.container('jupyter')));
    expect(path.dirname(store)).toBe(jupyter.home);
    expect(fs.existsSync(store)).toBe(false);
    const together = await runPython(jupyter.pod, 'jupyter', 'jupyter_collaboration.py', [serviceUrl(), caBundle(), 'together.ipynb'], {
      IAP_JWT: jupyter.iapToken(),
    });
    expect(together.session_status).toBe(201);
    expect(together.ana_sees).toEqual(expect.arrayContaining(['typed by ana', 'typed by ben']));
    expect(together.ben_sees).toEqual(together.ana_sees);
    // The rendered --SQLiteYStore.db_path, on the home volume; the store is made once a room opens.
    expect(fs.statSync(store).size).toBeGreaterThan(0);
  }, 120000);
});

describe('MLflow from the notebooks', () => {
  const account = () => jupyter.pod.prepare('jupyter').env.MLFLOW_TRACKING_USERNAME;

  test('a notebook kernel of the server logs a run to the real MLflow through the CA bundle, as the workspace account', async () => {
    const logged = await runPython(jupyter.pod, 'jupyter', 'jupyter_kernel.py', [serviceUrl(), caBundle(), program('notebook.py'), 'from-a-notebook'], {
      KERNEL_ENV: JSON.stringify({ ARTIFACT_MB: '1' }),
      IAP_JWT: jupyter.iapToken(),
    });
    expect(logged.params).toEqual({ alpha: '0.5', l1_ratio: '0.1' });
    expect(logged.user).toBe(account());
    expect(logged.received).toBe(logged.sent);
    const run = await platform.client().call({ path: `/api/2.0/mlflow/runs/get?run_id=${logged.run_id}`, basic: platform.admin() });
    expect(run.status).toBe(200);
    expect(run.json().run.info.user_id).toBe(account());
  }, 300000);

  test("a program with the Jupyter container's environment logs a run as well", async () => {
    const logged = await runPython(jupyter.pod, 'jupyter', 'notebook.py', ['from-the-jupyter-environment'], { ARTIFACT_MB: '1' });
    expect(logged.user).toBe(account());
    expect(logged.model_status).toBe('READY');
  }, 240000);
});

describe('certificate renewal', () => {
  test('a renewed certificate is served by the same processes, without a restart', async () => {
    // With the edge the verifying proxy serves the TLS: it looks at the files every TLS_CHECK_SECONDS
    // (1 s here, 60 s in the pod) and loads a renewed pair for the next handshakes.
    const proxy = jupyter.pod.running.find((c) => c.name === 'iap-proxy')!;
    const pids = [jupyter.server!.process.pid, proxy.process.pid];
    expect((await jupyter.request('/api')).certificate.fingerprint256).toBe(fingerprint(issued));
    const renewed = jupyter.renewCertificate();
    expect(fingerprint(renewed)).not.toBe(fingerprint(issued));
    const deadline = Date.now() + 15_000;
    let answer = await jupyter.request('/api');
    while (answer.certificate.fingerprint256 !== fingerprint(renewed) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      answer = await jupyter.request('/api');
    }
    expect(answer.status).toBe(200);
    expect(answer.certificate.fingerprint256).toBe(fingerprint(renewed));
    expect([jupyter.server!.running, proxy.running]).toEqual([true, true]);
    expect([jupyter.server!.process.pid, proxy.process.pid]).toEqual(pids);
  });
});

describe('collaboration off and no edge, beside the same MLflow', () => {
  let plain: LocalJupyter;
  let token: string;
  beforeAll(async () => {
    plain = await LocalJupyter.start(platform, { rendered: new Rendered(configWith({ edge: { enabled: false } })), name: 'jupyter-without-edge' });
    token = plain.pod.prepare('jupyter').env.JUPYTER_TOKEN;
  }, 240000);
  afterAll(() => plain?.stop(), 60000);

  test("the probes' /api answers without the login token; the rest of the API refuses without it and admits with it", async () => {
    expect(token).toEqual(platform.secrets['workspace-token'].token);
    expect((await plain.request('/api')).status).toBe(200);
    expect((await plain.request('/api/contents')).status).toBe(403);
    expect((await plain.request('/api/contents', { headers: { authorization: `token ${token}` } })).status).toBe(200);
  });

  test('the lab page tells the front end to open documents without collaboration, though jupyter-collaboration is installed', async () => {
    expect(plain.server!.output).toContain('jupyter_server_ydoc | extension was successfully loaded');
    const page = await plain.request('/lab', { headers: { authorization: `token ${token}` } });
    expect(page.status).toBe(200);
    const data = /<script id="jupyter-config-data" type="application\/json">([\s\S]*?)<\/script>/.exec(page.body);
    expect(JSON.parse(data![1]).disableRTC).toBe(true);
  });
});
