/**
 * A closed-loop load generator: `concurrency` callers, each sending its next request as soon as the
 * last one answered, for a fixed time. It keeps every latency, so p50 and p99 are exact, and counts
 * bytes for the transfer workloads.
 */
import * as http from 'http';
import * as https from 'https';

/** Where a configuration serves, and how its callers connect. */
export interface Target {
  readonly port: number;
  /** TLS: the CA to trust and the name the certificate carries. Absent: plain HTTP. */
  readonly tls?: { readonly ca: Buffer; readonly serverName: string };
  /** The loopback address the callers connect from (the load balancer's, for IAP). */
  readonly from?: string;
  /** Headers every request carries: Host, credentials. */
  readonly headers: () => Record<string, string>;
}

export interface Request {
  readonly method: string;
  readonly path: string;
  readonly body?: Buffer;
  readonly contentType?: string;
}

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  /** Bytes sent plus received in bodies. */
  readonly bytes: number;
  readonly latenciesMs: number[];
}

export interface Answer {
  readonly status: number;
  readonly body: Buffer;
}

/**
 * One connection pool per caller. A load run keeps its connections alive, as clients do; a caller
 * that sends now and then does not, since the server closes a connection idle for a few seconds
 * (uvicorn's keep-alive timeout) and a request sent on it as it closes fails.
 */
function agentFor(target: Target, concurrency: number, keepAlive: boolean): http.Agent {
  const options = { keepAlive, maxSockets: concurrency };
  return target.tls ? new https.Agent({ ...options, ca: target.tls.ca, servername: target.tls.serverName }) : new http.Agent(options);
}

export class Caller {
  private readonly agent: http.Agent;

  constructor(
    readonly target: Target,
    concurrency = 1,
    keepAlive = false,
  ) {
    this.agent = agentFor(target, concurrency, keepAlive);
  }

  send(request: Request, discardBody = false): Promise<Answer & { received: number }> {
    const headers: Record<string, string> = { ...this.target.headers() };
    if (request.body) {
      headers['content-length'] = String(request.body.length);
      headers['content-type'] = request.contentType ?? 'application/json';
    }
    const module = this.target.tls ? https : http;
    return new Promise((resolve, reject) => {
      const call = module.request(
        {
          host: '127.0.0.1',
          port: this.target.port,
          method: request.method,
          path: request.path,
          headers,
          agent: this.agent,
          localAddress: this.target.from ?? '127.0.0.1',
          timeout: 120_000,
        },
        (response) => {
          const chunks: Buffer[] = [];
          let received = 0;
          response.on('data', (d: Buffer) => {
            received += d.length;
            if (!discardBody) chunks.push(d);
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks), received }));
          response.on('error', reject);
        },
      );
      call.on('error', reject);
      call.on('timeout', () => call.destroy(new Error(`${request.method} ${request.path}: no answer in 120 s`)));
      call.end(request.body);
    });
  }

  /** A JSON call that must answer 200; its parsed body. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- MLflow's JSON answers, read at any depth
  async json(method: string, path: string, body?: unknown): Promise<any> {
    const answer = await this.send({ method, path, body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)) });
    if (answer.status !== 200) throw new Error(`${method} ${path}: ${answer.status} ${answer.body.toString('utf8').slice(0, 500)}`);
    return JSON.parse(answer.body.toString('utf8'));
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * Runs `next` from `concurrency` callers for `seconds` (at least `minRequests` in all). Every answer
 * must be 200: a refused or failed request ends the run with its status and body, so a wrong
 * credential can never pass for a fast server.
 */
export async function runLoad(
  target: Target,
  next: (i: number) => Request,
  options: { concurrency: number; seconds: number; minRequests?: number; discardBody?: boolean },
): Promise<LoadResult> {
  const caller = new Caller(target, options.concurrency, true);
  const latenciesMs: number[] = [];
  let bytes = 0;
  let issued = 0;
  const start = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - start) / 1e9;
  const worker = async () => {
    while (elapsed() < options.seconds || issued < (options.minRequests ?? 0)) {
      const request = next(issued++);
      const sent = process.hrtime.bigint();
      const answer = await caller.send(request, options.discardBody);
      latenciesMs.push(Number(process.hrtime.bigint() - sent) / 1e6);
      if (answer.status !== 200) throw new Error(`${request.method} ${request.path}: ${answer.status} ${answer.body.toString('utf8').slice(0, 300)}`);
      bytes += (request.body?.length ?? 0) + answer.received;
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    caller.close();
  }
  return { requests: latenciesMs.length, seconds: elapsed(), bytes, latenciesMs };
}

/** The q-quantile (0..1) of the values, nearest rank. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
