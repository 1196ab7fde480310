/**
 * A renewed server certificate, picked up by the rendered certificate watcher (charts/mlflow/serve.py)
 * on the real server: with several workers, SIGHUP makes uvicorn replace them one after another and
 * no request fails meanwhile; with one worker, the watcher ends the container, which restarts on the
 * new certificate. The watcher's check interval is 1 s here (TLS_CHECK_SECONDS; 60 s in the pod).
 */
import { X509Certificate } from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as tls from 'tls';
import { GRACEFUL_SHUTDOWN_SECONDS } from '../../charts/mlflow/server';
import { LocalPlatform } from '../../local/platform';
import { configWith } from '../support/render';
import { START_SECONDS, startPlatform, stopPlatform } from './support/platform';

const FAST_WATCHER = { TLS_CHECK_SECONDS: '1', TLS_RESTART_SPREAD_SECONDS: '0' };

/** The fingerprint of the certificate the server presents on a new connection. */
function served(platform: LocalPlatform): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: platform.port, servername: platform.serviceHosts[0], rejectUnauthorized: false }, () => {
      const fingerprint = socket.getPeerX509Certificate()?.fingerprint256 ?? '';
      socket.end();
      resolve(fingerprint);
    });
    socket.on('error', reject);
  });
}

async function until(what: string, seconds: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds}s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('several workers: SIGHUP, no failed request', () => {
  let platform: LocalPlatform;
  beforeAll(async () => {
    platform = await startPlatform(configWith({ mlflow: { workers: 2 } }), { env: FAST_WATCHER });
  }, START_SECONDS * 1000);
  afterAll(() => stopPlatform(platform), 120000);

  test('two workers render a supervisor, so the watcher takes the SIGHUP path', () => {
    const args: string[] = platform.rendered.named('Deployment', 'mlflow').spec.template.spec.containers.find((c: any) => c.name === 'mlflow').args;
    expect(Number(args[args.indexOf('--workers') + 1])).toBeGreaterThan(1);
  });

  test('a renewed certificate is served on new connections while every request meanwhile succeeds', async () => {
    const client = platform.client();
    const account = platform.admin();
    const before = await served(platform);
    const renewed = new X509Certificate(platform.renewServerCertificate()).fingerprint256;
    expect(renewed).not.toBe(before);
    let stop = false;
    const statuses: (number | string)[] = [];
    const load = (async () => {
      while (!stop) {
        statuses.push(
          await client
            .call({ path: '/api/2.0/mlflow/experiments/search?max_results=1', basic: account })
            .then((a) => a.status)
            .catch((e: Error) => e.message),
        );
      }
    })();
    await until('the renewed certificate served three times in a row', 240, async () => {
      const seen = [await served(platform), await served(platform), await served(platform)];
      return seen.every((f) => f === renewed);
    });
    stop = true;
    await load;
    expect(statuses.length).toBeGreaterThan(5);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(platform.serverContainer!.output).toMatch(/SIGHUP to uvicorn \[\d+\]: its 2 workers restart one after another/);
    // The watcher's own check (three answers in a row, a second apart) ends a little later than ours.
    await until('the watcher confirms the new certificate', 30, async () =>
      platform.serverContainer!.output.includes('the server presents the new certificate'),
    );
    expect(platform.serverContainer!.running).toBe(true);
  }, 300000);

  test('a transfer that never ends delays the reload by the graceful-shutdown bound at most, not forever', async () => {
    const client = platform.client();
    const admin = platform.admin();
    // An upload whose sender stops half-way: the worker receiving it waits for the rest of its body.
    const request = https.request({
      host: '127.0.0.1',
      port: platform.port,
      method: 'PUT',
      path: '/api/2.0/mlflow-artifacts/artifacts/0/slow/blob.bin',
      ca: fs.readFileSync(platform.caFile),
      servername: platform.serviceHosts[0],
      headers: {
        host: client.defaultHost,
        authorization: `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString('base64')}`,
        'content-length': String(64 * 1024 * 1024),
      },
    });
    request.on('error', () => undefined);
    request.write(Buffer.alloc(1024 * 1024, 7));
    await new Promise((r) => setTimeout(r, 2000));
    const started = Date.now();
    const renewed = new X509Certificate(platform.renewServerCertificate()).fingerprint256;
    // Every worker replaced: ten new connections in a row see the renewed certificate.
    await until('the renewed certificate served by every worker', GRACEFUL_SHUTDOWN_SECONDS * 2 + 60, async () => {
      for (let i = 0; i < 10; i++) if ((await served(platform)) !== renewed) return false;
      return true;
    });
    const seconds = (Date.now() - started) / 1000;
    request.destroy();
    // Within the bound (--timeout-graceful-shutdown) plus the workers' start. Measured with the locked
    // uvicorn: about 5 s, as a worker still receiving a request body is let go at once.
    expect(seconds).toBeLessThan(GRACEFUL_SHUTDOWN_SECONDS + 60);
    expect(platform.serverContainer!.running).toBe(true);
  }, 300000);
});

describe('one worker: the container restarts', () => {
  let platform: LocalPlatform;
  beforeAll(async () => {
    platform = await startPlatform(configWith({ mlflow: { workers: 1 } }), { env: FAST_WATCHER });
  }, START_SECONDS * 1000);
  afterAll(() => stopPlatform(platform), 120000);

  test('the watcher ends the server, and the restarted container serves the renewed certificate', async () => {
    const renewed = new X509Certificate(platform.renewServerCertificate()).fingerprint256;
    const main = platform.serverContainer!;
    const code = await Promise.race([main.exited, new Promise<string>((r) => setTimeout(() => r('still running after 120 s'), 120000).unref())]);
    // uvicorn ends cleanly on SIGTERM: the kubelet then restarts the container (restartPolicy Always).
    expect(code).toBe(0);
    expect(main.output).toContain('the server still presents the old certificate: restarting the container');
    await platform.startServer();
    expect(await served(platform)).toBe(renewed);
  }, 300000);
});
