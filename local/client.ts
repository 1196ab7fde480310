/**
 * HTTPS requests to the local MLflow as a given caller: from a given loopback address (the load
 * balancer is LOAD_BALANCER_ADDRESS, any other "a pod in the cluster"), with the Host header and the
 * TLS server name the caller would use, trusting the platform CA.
 */
import * as fs from 'fs';
import * as https from 'https';

export interface Call {
  readonly method?: string;
  readonly path: string;
  /** Basic credentials. */
  readonly basic?: { readonly username: string; readonly password: string };
  /** An IAP token, sent as x-goog-iap-jwt-assertion. */
  readonly iap?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** A JSON body (objects) or raw bytes. */
  readonly body?: unknown;
  /** Source address on loopback. @default 127.0.0.1 */
  readonly from?: string;
  /** Host header. @default the in-cluster Service name with port */
  readonly host?: string;
}

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  text(): string;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any -- MLflow's JSON answers, read at any depth
}

export class MlflowClient {
  private readonly ca: Buffer;
  readonly agent: https.Agent;

  constructor(
    readonly port: number,
    caFile: string,
    /** The name the server's certificate carries, sent as SNI and checked. */
    readonly serverName: string,
    /** The Host header when a call names none. */
    readonly defaultHost: string,
  ) {
    this.ca = fs.readFileSync(caFile);
    this.agent = new https.Agent({ keepAlive: false });
  }

  call(c: Call): Promise<Answer> {
    const headers: Record<string, string> = { host: c.host ?? this.defaultHost, ...c.headers };
    if (c.basic) headers.authorization = `Basic ${Buffer.from(`${c.basic.username}:${c.basic.password}`).toString('base64')}`;
    if (c.iap) headers['x-goog-iap-jwt-assertion'] = c.iap;
    let payload: Buffer | undefined;
    if (c.body !== undefined) {
      payload = Buffer.isBuffer(c.body) ? c.body : Buffer.from(JSON.stringify(c.body));
      if (!Buffer.isBuffer(c.body)) headers['content-type'] ??= 'application/json';
      headers['content-length'] = String(payload.length);
    }
    return new Promise((resolve, reject) => {
      const request = https.request(
        {
          host: '127.0.0.1',
          port: this.port,
          method: c.method ?? (c.body === undefined ? 'GET' : 'POST'),
          path: c.path,
          headers,
          ca: this.ca,
          servername: this.serverName,
          localAddress: c.from ?? '127.0.0.1',
          agent: this.agent,
          timeout: 60000,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (d: Buffer) => chunks.push(d));
          response.on('end', () => {
            const body = Buffer.concat(chunks);
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body,
              text: () => body.toString('utf8'),
              json: () => JSON.parse(body.toString('utf8')),
            });
          });
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.on('timeout', () => request.destroy(new Error(`${c.method ?? 'GET'} ${c.path}: no answer in 60 s`)));
      request.end(payload);
    });
  }
}
