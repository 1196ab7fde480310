/**
 * The workspaces' verifying proxy (charts/workspaces/iap_proxy.py) run for real in front of a real
 * JupyterLab (the project's Python environment, the default image's 4.4 line): the exact program and
 * environment the rendered sidecar of a per-user Jupyter runs (its file from the app's shared
 * ConfigMap, laid out in a folder that stands in for the mount, from the render of a config with the
 * user's backend service pinned), with Google's key URL pointed at a local stand-in
 * (local/iap.ts) and the ports and certificate paths of this machine; Jupyter started with the
 * rendered server arguments that put it on loopback, without its own login.
 *
 * Shown: every request is checked on its own, also on a reused connection; without a token, with a
 * forged one, with a token for MLflow's backend, or another user's, nothing reaches Jupyter; the right
 * token does, including a terminal's WebSocket, whose upgrade is checked first; the health path is
 * open and nothing else is.
 */
import { ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import type { Duplex } from 'stream';
import { iapAudience, IapSigner, serveIapKeys } from '../../local/iap';
import { issueServerCertificate, selfSigned } from '../../local/pki';
import { freePort } from '../../local/ports';
import { pythonEnvBin } from '../support/python-env';
import { chartObjects, configWith, find, Manifest, render } from '../support/render';
import { SHARED_FILES_PATH } from '../../charts/lib/workspace';

const PROJECT_NUMBER = '123456789012';
const JUPYTER_BACKEND = '1111111111111111111';
const MLFLOW_BACKEND = '2222222222222222222';
const USER = 'ana@example.com';

const config = configWith({
  project: { number: PROJECT_NUMBER },
  edge: { backendServiceIds: { 'jupyter-ana': JUPYTER_BACKEND } },
  mlflow: { auth: { iapBackendServiceId: MLFLOW_BACKEND } },
  workspaces: { users: [{ name: 'ana', email: USER }] },
});

let dir: string;
let ca: string;
let proxyPort: number;
let signer: IapSigner;
let keys: { url: string; close: () => Promise<void> };
const children: ChildProcess[] = [];
const logs: Record<string, string> = { jupyter: '', proxy: '' };

const jupyterObjects = (): Manifest[] => chartObjects(render(config).files, 'jupyter');

function deployment(): Manifest {
  return jupyterObjects().find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-ana'))!;
}

/**
 * The files of the sidecar's shared mount, written from the rendered ConfigMap as the kubelet would
 * into `into`; returns the sidecar's command with the mount path replaced by that folder.
 */
function layOutShared(pod: Manifest, sidecar: Manifest, into: string): string[] {
  const mount = sidecar.volumeMounts.find((m: Manifest) => m.mountPath === SHARED_FILES_PATH);
  const volume = pod.volumes.find((v: Manifest) => v.name === mount.name);
  const data: Record<string, string> = find(jupyterObjects(), 'ConfigMap', volume.configMap.name).data;
  fs.mkdirSync(into);
  for (const [file, text] of Object.entries(data)) fs.writeFileSync(path.join(into, file), text, { mode: 0o444 });
  return (sidecar.command as string[]).map((part) => part.split(`${SHARED_FILES_PATH}/`).join(`${into}/`));
}

function start(name: string, command: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(command, args, { cwd: dir, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (logs[name] += d));
  child.stderr!.on('data', (d) => (logs[name] += d));
  children.push(child);
  return child;
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly reused: boolean;
  readonly cookies: string[];
}

function request(
  pathname: string,
  o: { token?: string; method?: string; agent?: https.Agent; body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: proxyPort,
        path: pathname,
        method: o.method ?? 'GET',
        ca,
        servername: 'localhost',
        agent: o.agent ?? false,
        headers: { ...(o.token ? { 'x-goog-iap-jwt-assertion': o.token } : {}), ...(o.body ? { 'content-type': 'application/json' } : {}), ...o.headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, reused: req.reusedSocket, cookies: res.headers['set-cookie'] ?? [] }));
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what} did not come up in ${seconds}s:\n${JSON.stringify(logs, null, 2)}`);
}

const token = (claims: { email?: string; aud?: string; iat?: number; exp?: number } = {}, by: IapSigner = signer) =>
  by.mint({ email: USER, aud: iapAudience(PROJECT_NUMBER, JUPYTER_BACKEND), ...claims });

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-iap-proxy-'));
  selfSigned(dir, 'ca', 'mlflow-gke test CA');
  issueServerCertificate(dir, { name: 'tls', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  ca = fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8');
  signer = IapSigner.generate();
  keys = await serveIapKeys(signer);
  const pod = deployment().spec.template.spec;
  const sidecar = pod.initContainers.find((c: Manifest) => c.name === 'iap-proxy');
  const app = pod.containers.find((c: Manifest) => c.name === 'jupyter');
  const appPort = Number(sidecar.env.find((e: Manifest) => e.name === 'UPSTREAM_PORT').value);
  const jupyterPort = await freePort();
  proxyPort = await freePort();
  const bin = pythonEnvBin();
  const home = path.join(dir, 'home');
  fs.mkdirSync(home);
  // The rendered server arguments that decide where and how Jupyter listens, with this machine's port.
  const rendered = (app.args as string[]).filter((a) => /^--(ServerApp\.(ip|port)|IdentityProvider\.token)=/.test(a));
  expect(rendered).toEqual(expect.arrayContaining(['--ServerApp.ip=127.0.0.1', `--ServerApp.port=${appPort}`, '--IdentityProvider.token=']));
  start(
    'jupyter',
    path.join(bin, 'jupyter'),
    [
      'lab',
      '--no-browser',
      '--allow-root',
      ...rendered.map((a) => a.replace(`--ServerApp.port=${appPort}`, `--ServerApp.port=${jupyterPort}`)),
      '--ServerApp.port_retries=0',
    ],
    {
      HOME: home,
      JUPYTER_CONFIG_DIR: path.join(home, '.jupyter'),
      JUPYTER_DATA_DIR: path.join(home, '.local/share/jupyter'),
      JUPYTER_RUNTIME_DIR: path.join(dir, 'runtime'),
      SHELL: '/bin/sh',
    },
  );
  const env: Record<string, string> = Object.fromEntries(sidecar.env.map((e: Manifest) => [e.name, e.value]));
  const command = layOutShared(pod, sidecar, path.join(dir, 'shared'));
  expect(command[0]).toBe('python');
  start('proxy', path.join(bin, 'python'), command.slice(1), {
    ...env,
    PROXY_ADDRESS: '127.0.0.1',
    PROXY_PORT: String(proxyPort),
    UPSTREAM_PORT: String(jupyterPort),
    IAP_KEYS_URL: keys.url,
    TLS_CERT_FILE: path.join(dir, 'tls.crt'),
    TLS_KEY_FILE: path.join(dir, 'tls.key'),
  });
  await waitFor('Jupyter behind the proxy', async () => (await request('/api')).status === 200, 90);
}, 150_000);

afterAll(async () => {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  await keys?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('the sidecar runs the rendered program with the workspace user and backend pinned', () => {
  const sidecar = deployment().spec.template.spec.initContainers.find((c: Manifest) => c.name === 'iap-proxy');
  const env = Object.fromEntries(sidecar.env.map((e: Manifest) => [e.name, e.value]));
  expect(env).toMatchObject({ WORKSPACE_USER: USER, IAP_BACKEND_SERVICE_ID: JUPYTER_BACKEND, IAP_PROJECT_NUMBER: PROJECT_NUMBER, HEALTH_PATH: '/api' });
});

test('the right token reaches Jupyter', async () => {
  const answer = await request('/api/status', { token: token() });
  expect(answer.status).toBe(200);
  expect(JSON.parse(answer.body)).toHaveProperty('started');
});

test('without a token nothing but the health path answers', async () => {
  expect((await request('/api')).status).toBe(200);
  for (const [method, target] of [
    ['HEAD', '/api'],
    ['GET', '/api/status'],
    ['GET', '/api?x=1'],
    ['GET', '/api/'],
    ['POST', '/api'],
    ['GET', '/lab'],
    ['GET', '/api/contents'],
  ])
    expect([method, target, (await request(target, { method })).status]).toEqual([method, target, 401]);
});

test('a forged token, one for MLflow, an expired one and another user’s are refused', async () => {
  const forger = new IapSigner(IapSigner.generate().privateKey, signer.kid);
  expect((await request('/api/status', { token: token({}, forger) })).status).toBe(401);
  expect((await request('/api/status', { token: token({ aud: iapAudience(PROJECT_NUMBER, MLFLOW_BACKEND) }) })).status).toBe(401);
  const now = Math.floor(Date.now() / 1000);
  expect((await request('/api/status', { token: token({ iat: now - 1200, exp: now - 600 }) })).status).toBe(401);
  expect((await request('/api/status', { token: token({ email: 'bo@example.com' }) })).status).toBe(403);
  expect((await request('/api/status', { token: `${token()}x` })).status).toBe(401);
});

test('every request on a reused connection is checked on its own', async () => {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const first = await request('/api/status', { token: token(), agent });
    const second = await request('/api/status', { token: token(), agent });
    expect([first.status, second.status, second.reused]).toEqual([200, 200, true]);
    // The same connection, then a request of someone without a token: refused.
    const third = await request('/api/status', { agent });
    expect(third.status).toBe(401);
  } finally {
    agent.destroy();
  }
});

/** One masked client text frame (RFC 6455 section 5.2). */
function frame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const length = payload.length < 126 ? Buffer.from([0x80 | payload.length]) : Buffer.from([0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([Buffer.from([0x81]), length, mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]))]);
}

/** The text of the server's (unmasked) frames in `data`, and what is left of an incomplete one. */
function frames(data: Buffer): { texts: string[]; rest: Buffer } {
  const texts: string[] = [];
  let at = 0;
  while (data.length - at >= 2) {
    let length = data[at + 1] & 0x7f;
    let start = at + 2;
    if (length === 126) {
      if (data.length - at < 4) break;
      length = data.readUInt16BE(at + 2);
      start = at + 4;
    } else if (length === 127) {
      if (data.length - at < 10) break;
      length = Number(data.readBigUInt64BE(at + 2));
      start = at + 10;
    }
    if (data.length < start + length) break;
    if ((data[at] & 0x0f) === 1) texts.push(data.subarray(start, start + length).toString('utf8'));
    at = start + length;
  }
  return { texts, rest: data.subarray(at) };
}

function upgrade(pathname: string, jwt?: string): Promise<{ status: number; socket?: Duplex; head?: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port: proxyPort,
      path: pathname,
      ca,
      servername: 'localhost',
      agent: false,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        ...(jwt ? { 'x-goog-iap-jwt-assertion': jwt } : {}),
      },
    });
    req.on('upgrade', (res, socket, head) => resolve({ status: res.statusCode ?? 0, socket, head }));
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on('error', reject);
    req.end();
  });
}

test('a terminal’s WebSocket passes after its upgrade request is checked; without a token the upgrade is refused', async () => {
  // As the browser does: Jupyter's XSRF cookie from a page, sent back with the POST.
  const page = await request('/lab', { token: token() });
  const xsrf = page.cookies.map((c) => /^_xsrf=([^;]+)/.exec(c)?.[1]).find(Boolean);
  expect(xsrf).toBeTruthy();
  const created = await request('/api/terminals', { method: 'POST', token: token(), body: '{}', headers: { cookie: `_xsrf=${xsrf}`, 'x-xsrftoken': xsrf! } });
  expect(created.status).toBe(200);
  const name = JSON.parse(created.body).name as string;
  expect((await upgrade(`/terminals/websocket/${name}`)).status).toBe(401);
  expect((await upgrade(`/terminals/websocket/${name}`, token({ email: 'bo@example.com' }))).status).toBe(403);
  const { status, socket, head } = await upgrade(`/terminals/websocket/${name}`, token());
  expect(status).toBe(101);
  const seen: string[] = [];
  let buffered = head ?? Buffer.alloc(0);
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer through the WebSocket: ${JSON.stringify(seen)}`)), 20_000);
    const take = (data: Buffer) => {
      const { texts, rest } = frames(Buffer.concat([buffered, data]));
      buffered = rest;
      seen.push(...texts);
      if (seen.join('').includes('through-the-proxy-42')) {
        clearTimeout(timer);
        resolve();
      }
    };
    socket!.on('data', take);
    take(Buffer.alloc(0));
  });
  // terminado's messages are JSON arrays: ["stdin", text] in, ["setup", {}] and ["stdout", text] out.
  socket!.write(frame(JSON.stringify(['stdin', 'echo through-the-proxy-$((6*7))\r'])));
  await done;
  expect(seen[0]).toBe('["setup", {}]');
  socket!.destroy();
});
