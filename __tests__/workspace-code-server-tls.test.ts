/**
 * code-server's certificate watcher (charts/workspaces/code-server-tls.sh) with real processes, real
 * TLS and real signals. code-server reads its certificate once (coder/code-server v4.104.0,
 * src/node/app.ts createApp), so the stand-in for the image's entrypoint does too: a TLS server that
 * loads the files at start, records its PID and the SIGTERM that ends it. The certificate directory is
 * laid out as the kubelet lays out a Secret volume (files behind the `..data` link, swapped by renaming
 * the link), and the heartbeat file is touched as code-server touches it while in use.
 */
import { ChildProcess, spawn } from 'child_process';
import { X509Certificate } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tls from 'tls';
import { scriptFile } from '../charts/lib/script-files';
import { CODE_SERVER_TLS } from '../charts/workspaces/apps/vscode';
import { freePort } from '../local/ports';
import { selfSigned } from '../local/pki';

const STAND_IN = `
import os, signal, socket, ssl, sys
port, record = int(sys.argv[1]), sys.argv[2]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(os.environ["TLS_CERT_FILE"], os.environ["TLS_KEY_FILE"])
def stop(signum, frame):
    with open(record, "a") as handle:
        handle.write("signal %d\\n" % signum)
    os._exit(143)
signal.signal(signal.SIGTERM, stop)
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen()
with open(record, "a") as handle:
    handle.write("pid %d\\n" % os.getpid())
while True:
    connection, _ = listener.accept()
    try:
        context.wrap_socket(connection, server_side=True).close()
    except (OSError, ssl.SSLError):
        connection.close()
`;

let dir = '';
const running: ChildProcess[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-code-server-tls-'));
  for (const name of ['old', 'new']) selfSigned(dir, name, `vscode ${name}`, 1);
  fs.writeFileSync(path.join(dir, 'stand-in.py'), STAND_IN);
});

// Each command runs in its own process group, so the watcher goes with it (in a pod it ends with the container).
afterEach(() => {
  for (const p of running.splice(0)) {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let volumes = 0;
/** A Secret volume as the kubelet writes it: `tls.crt` -> `..data/tls.crt`, `..data` -> a timestamped folder. */
function secretVolume(): { dir: string; install: (name: 'old' | 'new') => void } {
  const volume = path.join(dir, `volume-${++volumes}`);
  fs.mkdirSync(volume);
  let version = 0;
  const install = (name: 'old' | 'new') => {
    const data = `..${++version}`;
    fs.mkdirSync(path.join(volume, data));
    fs.copyFileSync(path.join(dir, `${name}.crt`), path.join(volume, data, 'tls.crt'));
    fs.copyFileSync(path.join(dir, `${name}.key`), path.join(volume, data, 'tls.key'));
    fs.symlinkSync(data, path.join(volume, '..data_tmp'));
    fs.renameSync(path.join(volume, '..data_tmp'), path.join(volume, '..data'));
    for (const file of ['tls.crt', 'tls.key']) if (!fs.existsSync(path.join(volume, file))) fs.symlinkSync(path.join('..data', file), path.join(volume, file));
  };
  install('old');
  return { dir: volume, install };
}

/** SHA-256 fingerprint of the certificate the server on 127.0.0.1:port presents, or undefined. */
function served(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', () => resolve(undefined));
  });
}

const fingerprint = (name: string) => new X509Certificate(fs.readFileSync(path.join(dir, `${name}.crt`))).fingerprint256;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(condition: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await sleep(100);
  }
  return condition();
}

interface Started {
  readonly process: ChildProcess;
  readonly port: number;
  readonly record: string;
  readonly log: () => string;
  readonly exited: () => boolean;
}

/** Runs the container command as rendered (`bash -c <script> code-server-tls.sh ENTRYPOINT...`) with the stand-in as entrypoint. */
async function start(volume: string, heartbeat: string, limits: { idle: number; deadline: number }): Promise<Started> {
  const port = await freePort();
  const record = path.join(dir, `record-${port}`);
  let output = '';
  const child = spawn('bash', ['-c', scriptFile(CODE_SERVER_TLS), 'code-server-tls.sh', 'python3', path.join(dir, 'stand-in.py'), String(port), record], {
    env: {
      PATH: process.env.PATH,
      TLS_CERT_FILE: path.join(volume, 'tls.crt'),
      TLS_KEY_FILE: path.join(volume, 'tls.key'),
      CODE_SERVER_HEARTBEAT: heartbeat,
      TLS_CHECK_SECONDS: '0.2',
      TLS_IDLE_SECONDS: String(limits.idle),
      TLS_RESTART_DEADLINE_SECONDS: String(limits.deadline),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.push(child);
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const started: Started = { process: child, port, record, log: () => output, exited: () => child.exitCode !== null || child.signalCode !== null };
  expect(await waitFor(async () => (await served(port)) !== undefined, 10000)).toBe(true);
  return started;
}

const recorded = (s: Started) => (fs.existsSync(s.record) ? fs.readFileSync(s.record, 'utf8') : '');

describe('code-server certificate watcher', () => {
  test('the command becomes the entrypoint (same process), and an unchanged certificate restarts nothing, however idle', async () => {
    const volume = secretVolume();
    const s = await start(volume.dir, path.join(dir, 'no-heartbeat'), { idle: 0, deadline: 0 });
    // exec: the process the kubelet signals is the server itself.
    expect(recorded(s)).toBe(`pid ${s.process.pid}\n`);
    await sleep(1500);
    expect(s.exited()).toBe(false);
    expect(await served(s.port)).toBe(fingerprint('old'));
  });

  test('the watcher ends when the server is gone', async () => {
    const s = await start(secretVolume().dir, path.join(dir, 'no-heartbeat'), { idle: 0, deadline: 0 });
    s.process.kill('SIGKILL');
    const groupGone = () => {
      try {
        process.kill(-s.process.pid!, 0);
        return false;
      } catch {
        return true;
      }
    };
    expect(await waitFor(groupGone, 3000)).toBe(true);
  });

  test('a renewed certificate ends an idle server with SIGTERM, and the restarted container serves the new certificate', async () => {
    const volume = secretVolume();
    const heartbeat = path.join(dir, 'heartbeat-idle');
    fs.writeFileSync(heartbeat, '');
    fs.utimesSync(heartbeat, new Date(Date.now() - 7200_000), new Date(Date.now() - 7200_000));
    const s = await start(volume.dir, heartbeat, { idle: 3600, deadline: 86400 });
    volume.install('new');
    expect(await waitFor(s.exited, 5000)).toBe(true);
    expect(recorded(s)).toMatch(/^pid \d+\nsignal 15\n$/);
    expect(s.log()).toMatch(/the certificate in .*tls\.crt changed/);
    expect(s.log()).toMatch(/restarting code-server to serve the new certificate/);
    // The kubelet starts the container again: the new process reads the new files.
    const again = await start(volume.dir, heartbeat, { idle: 3600, deadline: 86400 });
    expect(await served(again.port)).toBe(fingerprint('new'));
  });

  test('while code-server is in use it waits, and restarts once the heartbeat is older than TLS_IDLE_SECONDS', async () => {
    const volume = secretVolume();
    const heartbeat = path.join(dir, 'heartbeat-busy');
    fs.writeFileSync(heartbeat, '');
    const s = await start(volume.dir, heartbeat, { idle: 2, deadline: 86400 });
    let busy = true;
    let lastBeat = Date.now();
    const beat = (async () => {
      while (busy) {
        lastBeat = Date.now();
        fs.utimesSync(heartbeat, new Date(lastBeat), new Date(lastBeat));
        await sleep(200);
      }
    })();
    volume.install('new');
    await sleep(2500);
    expect(s.exited()).toBe(false);
    expect(await served(s.port)).toBe(fingerprint('old'));
    busy = false;
    await beat;
    expect(await waitFor(s.exited, 6000)).toBe(true);
    // Not before the heartbeat was TLS_IDLE_SECONDS old (whole seconds, so allow for rounding),
    // counted from the last heartbeat written, not from when the loop ended (up to 200 ms later).
    expect(Date.now() - lastBeat).toBeGreaterThanOrEqual(1000);
    expect(recorded(s)).toMatch(/signal 15\n$/);
  }, 20000);

  test('a server in constant use still restarts TLS_RESTART_DEADLINE_SECONDS after the change', async () => {
    const volume = secretVolume();
    const heartbeat = path.join(dir, 'heartbeat-constant');
    fs.writeFileSync(heartbeat, '');
    const s = await start(volume.dir, heartbeat, { idle: 3600, deadline: 2 });
    const timer = setInterval(() => fs.utimesSync(heartbeat, new Date(), new Date()), 200);
    try {
      volume.install('new');
      const changed = Date.now();
      expect(await waitFor(s.exited, 8000)).toBe(true);
      expect(Date.now() - changed).toBeGreaterThanOrEqual(1000);
      expect(recorded(s)).toMatch(/signal 15\n$/);
    } finally {
      clearInterval(timer);
    }
  }, 20000);
});
