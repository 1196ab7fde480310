/**
 * The rendered shared Jupyter workspace, run on this machine beside a started platform
 * (local/platform.ts): the Deployment's pod, its verifying proxy (with the edge), setup steps then
 * server, each with its rendered command, arguments and environment (local/pod-runner.ts), serving
 * HTTPS on 127.0.0.1 with a certificate the platform's throwaway CA issues for the rendered
 * Certificate's names, as cert-manager would. With the edge the proxy serves that HTTPS and Jupyter
 * plain HTTP on another loopback port; the requests here carry an IAP token as IAP adds it.
 *
 * The seam, beyond the platform's (local/platform.ts):
 * - the container has no command, so the kubelet would run the image's entrypoint
 *   (`tini -g -- start.sh`: jupyter/docker-stacks images/docker-stacks-foundation/Dockerfile at
 *   e8ac699) with the rendered arguments; here the arguments run as they are, and the image's
 *   `start-notebook.py` and its /etc/jupyter configuration are the stand-ins in local/jupyter-image/
 *   (start.sh, which switches users and runs the image's hooks, does not run). That configuration
 *   listens on 127.0.0.1, and lets the server run as root when the tests do;
 * - HOME is the folder that stands in for the home claim (the image's HOME is /home/jovyan, the
 *   claim's mount path: the same Dockerfile); JUPYTER_PORT (the rendered 8888) is a free port, with
 *   no fallback to another;
 * - pip is kept off any index (PIP_NO_INDEX): a setup step that would download fails instead.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import type { PeerCertificate, TLSSocket } from 'tls';
import * as path from 'path';
import { WORKSPACE_TLS_DIR } from '../charts/lib/workspace';
import { PROXY_CONTAINER } from '../charts/workspaces/iap-proxy';
import { iapAudience } from './iap';
import { issueServerCertificate } from './pki';
import { LocalPlatform, Rendered, secretKeys } from './platform';
import { LocalPod, RunningContainer } from './pod-runner';
import { freePort } from './ports';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered manifests, read at any depth
type Json = Record<string, any>;

/** The stand-ins for the image's start script (bin/) and its /etc/jupyter (etc/). */
export const JUPYTER_IMAGE_DIR = path.join(__dirname, 'jupyter-image');

export interface LocalJupyterOptions {
  /**
   * The render the workspace comes from: another config's, for a workspace variant beside the same
   * MLflow (its MLflow address, account and CA bundle names are the same). @default the platform's
   */
  readonly rendered?: Rendered;
  /** Folder name of the pod under the platform's folder. @default the Deployment's name */
  readonly name?: string;
  /** Seconds to wait for /api. @default 180 */
  readonly timeoutSeconds?: number;
}

export interface JupyterAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** The certificate the server presented on this connection. */
  readonly certificate: PeerCertificate;
}

export interface JupyterRequest {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** The name the client asks for and checks (SNI). @default the Service's full name */
  readonly servername?: string;
  /** The CA the client trusts (PEM). @default the platform CA */
  readonly ca?: string;
  /**
   * Send an IAP token for this workspace, as IAP does, when the pod has the verifying proxy.
   * @default true
   */
  readonly iap?: boolean;
}

export class LocalJupyter {
  readonly pod: LocalPod;
  /** The folder that stands in for the home claim. */
  readonly home: string;
  server?: RunningContainer;

  private constructor(
    readonly platform: LocalPlatform,
    readonly rendered: Rendered,
    readonly deployment: Json,
    readonly port: number,
    name: string,
    appPort: number,
  ) {
    const spec = deployment.spec.template.spec;
    // With the edge the verifying proxy serves `port` (HTTPS) and Jupyter listens on appPort (loopback,
    // plain HTTP); without it Jupyter serves `port` itself.
    const proxied = this.proxied;
    const base = platform.podOptions(deployment.metadata.name, deployment.metadata.namespace);
    const dir = path.join(platform.options.dir, 'pods', name);
    this.home = path.join(dir, 'home');
    fs.mkdirSync(this.home, { recursive: true });
    const claim = spec.volumes.find((v: Json) => v.persistentVolumeClaim).persistentVolumeClaim.claimName;
    this.issueCertificate();
    this.makeSecrets(spec);
    this.pod = new LocalPod(spec, {
      ...base,
      dir,
      // The workspace's ConfigMaps from its own render (its files, the app's shared locks and proxy
      // program), over the platform's (the CA bundle trust-manager writes).
      sources: {
        ...base.sources,
        configMaps: { ...platform.configMaps(deployment.metadata.namespace), ...rendered.configMaps(deployment.metadata.namespace) },
        claims: { [claim]: this.home },
      },
      seam: {
        ...base.seam,
        path: [path.join(JUPYTER_IMAGE_DIR, 'bin'), ...(base.seam.path ?? [])],
        hosts: { ...base.seam.hosts, ...this.hosts },
        env: {
          ...base.seam.env,
          HOME: this.home,
          JUPYTER_PORT: String(proxied ? appPort : port),
          JUPYTER_PORT_RETRIES: '0',
          JUPYTER_CONFIG_PATH: path.join(JUPYTER_IMAGE_DIR, 'etc'),
          PIP_NO_INDEX: '1',
          // The proxy's ports here, and a quick look at the certificate files (60 s in the pod).
          ...(proxied ? { PROXY_ADDRESS: '127.0.0.1', PROXY_PORT: String(port), UPSTREAM_PORT: String(appPort), TLS_CHECK_SECONDS: '1' } : {}),
        },
        options: { ...base.seam.options, ...(proxied ? { '--ServerApp.port': String(appPort) } : {}) },
      },
    });
  }

  /** Lays out the shared Jupyter pod of the platform's render, runs its setup steps and starts its server. */
  static async start(platform: LocalPlatform, options: LocalJupyterOptions = {}): Promise<LocalJupyter> {
    const rendered = options.rendered ?? platform.rendered;
    const deployment = rendered.find(
      'Deployment',
      (o) => o.metadata.namespace !== platform.ns && o.spec.template.spec.containers.some((c: Json) => c.name === 'jupyter'),
      'of a Jupyter workspace',
    );
    const jupyter = new LocalJupyter(platform, rendered, deployment, await freePort(), options.name ?? deployment.metadata.name, await freePort());
    try {
      await jupyter.waitForServer(options.timeoutSeconds ?? 180);
    } catch (error) {
      // Nothing is left running when the start fails: the caller has no instance to stop.
      await jupyter.stop();
      throw error;
    }
    return jupyter;
  }

  /** Runs the setup steps, starts the server and waits until /api answers 200. */
  private async waitForServer(timeoutSeconds: number): Promise<void> {
    const [server] = (await this.pod.startAll()).filter((c) => c.name === 'jupyter');
    this.server = server;
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
      if (!server.running) throw new Error(`Jupyter exited ${await server.exited}:\n${server.output}`);
      const status = await this.request('/api').then(
        (a) => a.status,
        () => 0,
      );
      if (status === 200) return;
      if (Date.now() > deadline) throw new Error(`Jupyter did not answer /api in ${timeoutSeconds}s:\n${server.output}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** The rendered Certificate of the server's TLS Secret. */
  get certificate(): Json {
    const secret = this.tlsVolume.secret.secretName;
    return this.rendered.find(
      'Certificate',
      (o) => o.spec.secretName === secret && o.metadata.namespace === this.deployment.metadata.namespace,
      `for Secret ${secret}`,
    );
  }

  /** The Service's names (the Certificate's dnsNames), the fullest last. */
  get dnsNames(): string[] {
    return this.certificate.spec.dnsNames;
  }

  /** The Service port: what a pod names beside the Service's host name. */
  get servicePort(): number {
    const service = this.rendered.find(
      'Service',
      (o) => o.metadata.name === this.deployment.metadata.name && o.metadata.namespace === this.deployment.metadata.namespace,
      `named ${this.deployment.metadata.name}`,
    );
    return service.spec.ports[0].port;
  }

  /** For Python processes (local/site/sitecustomize.py): the Service's names and port to the server here. */
  get hosts(): Record<string, string> {
    return Object.fromEntries(this.dnsNames.map((name) => [`${name}:${this.servicePort}`, `127.0.0.1:${this.port}`]));
  }

  /** The server's key pair as cert-manager writes it into the Secret; returns the certificate (PEM). */
  issueCertificate(): string {
    const caDir = path.dirname(this.platform.caFile);
    issueServerCertificate(caDir, { name: 'jupyter', dnsNames: this.dnsNames });
    const secret = (this.platform.secrets[this.tlsVolume.secret.secretName] ??= {});
    secret['tls.crt'] = fs.readFileSync(path.join(caDir, 'jupyter.crt'), 'utf8');
    secret['tls.key'] = fs.readFileSync(path.join(caDir, 'jupyter.key'), 'utf8');
    return secret['tls.crt'];
  }

  /**
   * A renewal: a new key pair in the Secret, and the mounted files replaced as the kubelet does (each
   * by rename, the key first, so no reader sees a half-written file). Returns the new certificate.
   */
  renewCertificate(): string {
    const certificate = this.issueCertificate();
    const secret = this.platform.secrets[this.tlsVolume.secret.secretName];
    const dir = this.pod.volumeDir(this.tlsVolume.name);
    for (const key of ['tls.key', 'tls.crt']) {
      const mode = fs.statSync(path.join(dir, key)).mode & 0o777;
      fs.writeFileSync(path.join(dir, `.${key}.new`), secret[key], { mode });
      fs.renameSync(path.join(dir, `.${key}.new`), path.join(dir, key));
    }
    return certificate;
  }

  /** One HTTPS request on a new connection, as a pod calls the Service: by its name, checked against the CA. */
  request(urlPath: string, options: JupyterRequest = {}): Promise<JupyterAnswer> {
    return new Promise((resolve, reject) => {
      const request = https.request(
        {
          host: '127.0.0.1',
          port: this.port,
          path: urlPath,
          method: options.method ?? 'GET',
          headers: {
            ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...(this.proxied && options.iap !== false ? { 'x-goog-iap-jwt-assertion': this.iapToken() } : {}),
            ...options.headers,
          },
          servername: options.servername ?? this.dnsNames[this.dnsNames.length - 1],
          ca: options.ca ?? fs.readFileSync(this.platform.caFile, 'utf8'),
          agent: false,
          timeout: 10000,
        },
        (response) => {
          const certificate = (response.socket as TLSSocket).getPeerCertificate();
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk) => (body += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body, certificate }));
        },
      );
      request.on('error', reject);
      request.on('timeout', () => request.destroy(new Error(`${urlPath}: no answer in 10s`)));
      request.end(options.body);
    });
  }

  /** Test values for the Secret keys the pod reads that the platform has none for (the login token without IAP). */
  private makeSecrets(spec: Json): void {
    for (const [name, keys] of secretKeys(spec)) {
      const secret = (this.platform.secrets[name] ??= {});
      for (const key of keys) secret[key] ??= randomBytes(24).toString('base64url');
    }
  }

  async stop(): Promise<void> {
    await this.pod.stopAll();
  }

  /** The volume of the server's key pair, mounted where the app's options (or the proxy) read it. */
  private get tlsVolume(): Json {
    const server = this.deployment.spec.template.spec.containers.find((c: Json) => c.name === 'jupyter');
    const mount = server.volumeMounts.find((m: Json) => m.mountPath === WORKSPACE_TLS_DIR);
    return this.deployment.spec.template.spec.volumes.find((v: Json) => v.name === mount.name);
  }

  /** Whether the pod has the verifying proxy in front of Jupyter (the edge is on). */
  get proxied(): boolean {
    return (this.deployment.spec.template.spec.initContainers ?? []).some((c: Json) => c.name === PROXY_CONTAINER);
  }

  /**
   * A token as IAP makes it for this workspace, valid ten minutes: its pinned backend service (else
   * any of the project's) and its user's email (else a member's).
   */
  iapToken(): string {
    const proxy = this.deployment.spec.template.spec.initContainers.find((c: Json) => c.name === PROXY_CONTAINER);
    const env = Object.fromEntries(proxy.env.map((e: Json) => [e.name, e.value]));
    return this.platform.signer.mint({
      email: env.WORKSPACE_USER ?? 'member@example.com',
      aud: iapAudience(env.IAP_PROJECT_NUMBER, env.IAP_BACKEND_SERVICE_ID ?? '1234567890'),
    });
  }
}
