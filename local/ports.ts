/** Ports for throwaway servers: the tests', `npm run local`'s and the local control plane's. */
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';

/** A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** How to reach a server over TLS: the CA to trust and the name its certificate carries. */
export interface HealthTls {
  readonly ca: Buffer | string;
  readonly serverName: string;
}

/**
 * GET /health on 127.0.0.1, over plain HTTP or, given `tls`, over TLS as the probes do: the status,
 * or 0 when nothing answers.
 */
export function healthStatus(port: number, tls?: HealthTls): Promise<number> {
  return new Promise((resolve) => {
    const options = { host: '127.0.0.1', port, path: '/health', timeout: 2000 };
    const answer = (response: http.IncomingMessage) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    };
    const request = tls ? https.get({ ...options, ca: tls.ca, servername: tls.serverName }, answer) : http.get(options, answer);
    request.on('error', () => resolve(0));
    request.on('timeout', () => request.destroy());
  });
}
