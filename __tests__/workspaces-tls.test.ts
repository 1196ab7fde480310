/**
 * TLS of the workspaces, both ways: Jupyter and code-server serve HTTPS with a certificate of the
 * platform CA for their Service, and the MLflow client in them checks MLflow's certificate against
 * the same CA. The last part runs a real handshake: a server certificate issued, by a test CA, as the
 * rendered MLflow Certificate asks, and a client that takes its CA file from the rendered workspace
 * container exactly as MLflow's client does.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CA_BUNDLE_FILE } from '../charts/certificates/ca-bundle';
import { scriptFile } from '../charts/lib/script-files';
import { WORKSPACE_TLS_DIR } from '../charts/lib/workspace';
import { CODE_SERVER_ENTRYPOINT, CODE_SERVER_HEARTBEAT, CODE_SERVER_IDLE_SECONDS, CODE_SERVER_TLS } from '../charts/workspaces/apps/vscode';
import { platformNames, serviceDnsNames } from '../model/names';
import type { Config } from '../config/schema';
import { chartObjects, configsUnderTest, configWith, find, Manifest, render } from './support/render';
import { issueServerCertificate, selfSigned } from '../local/pki';

const THREE_USERS = configWith({
  namePrefix: 'team-',
  namespaces: { workspaces: 'team-ws', platform: 'ml-core' },
  workspaces: { users: ['ana', 'bo', 'carol'].map((name) => ({ name, email: `${name}@example.com` })) },
});
const APPS = ['jupyter', 'vscode'] as const;
/**
 * The apps serve TLS themselves only without the edge; with it, the verifying proxy serves it in front
 * of them (__tests__/workspace-iap-proxy.test.ts).
 */
const NO_EDGE = { edge: { enabled: false } } as const;

const workspaceObjects = (config: Config) => APPS.flatMap((app) => chartObjects(render(config).files, app));
const ofKind = (list: readonly Manifest[], kind: string) => list.filter((o) => o.kind === kind);
const server = (d: Manifest) => d.spec.template.spec.containers[0];
const envOf = (c: Manifest): Record<string, any> => Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));
/** The volume behind the mount that holds `file`, and the file's path inside the volume. */
function volumeOf(d: Manifest, file: string): { volume: Manifest; inside: string } {
  const mount = server(d).volumeMounts.find((m: Manifest) => file.startsWith(`${m.mountPath}/`));
  if (!mount) throw new Error(`${d.metadata.name}: nothing is mounted where ${file} lies`);
  const volume = d.spec.template.spec.volumes.find((v: Manifest) => v.name === mount.name);
  return { volume, inside: file.slice(mount.mountPath.length + 1) };
}

describe('workspaces serve HTTPS with a certificate of the platform CA', () => {
  test('every instance has a certificate from the CA ClusterIssuer for every name of its Service, with the configured lifetime', () => {
    const config = configWith({ ...THREE_USERS, tls: { certificateLifetime: '60d', renewBefore: '20d' } });
    const names = platformNames(config);
    const objects = workspaceObjects(config);
    const services = ofKind(objects, 'Service');
    expect(services).toHaveLength(6);
    for (const svc of services) {
      const cert = find(objects, 'Certificate', `${svc.metadata.name}-tls`);
      expect(cert.metadata.namespace).toBe('team-ws');
      expect(cert.spec).toMatchObject({
        secretName: `${svc.metadata.name}-tls`,
        dnsNames: serviceDnsNames(svc.metadata.name, 'team-ws'),
        issuerRef: { name: names.tls.caIssuer, kind: 'ClusterIssuer', group: 'cert-manager.io' },
        usages: ['server auth', 'digital signature'],
        duration: '1440h',
        renewBefore: '480h',
      });
    }
    // The issuer is the platform CA the certificates chart renders.
    expect(find(chartObjects(render(config).files, 'certificates'), 'ClusterIssuer', names.tls.caIssuer).spec.ca).toBeDefined();
  });

  test('the server mounts its key pair without subPath, 0440 for the pod group, where the app options read it', () => {
    for (const d of ofKind(workspaceObjects(configWith({ ...THREE_USERS, ...NO_EDGE })), 'Deployment')) {
      const c = server(d);
      const files = c.args.flatMap((a: string) => /^--(ServerApp\.certfile|ServerApp\.keyfile|cert|cert-key)=(.*)$/.exec(a)?.[2] ?? []);
      expect(files).toEqual([`${WORKSPACE_TLS_DIR}/tls.crt`, `${WORKSPACE_TLS_DIR}/tls.key`]);
      for (const file of files) {
        const { volume, inside } = volumeOf(d, file);
        expect(volume.secret).toMatchObject({ secretName: `${d.metadata.name}-tls`, defaultMode: 0o440 });
        expect(volume.secret.items).toContainEqual({ key: inside, path: inside });
      }
      // A subPath mount never sees a renewed file.
      for (const m of c.volumeMounts) expect(m.subPath).toBeUndefined();
      const tls = c.volumeMounts.find((m: Manifest) => m.mountPath === WORKSPACE_TLS_DIR);
      expect(tls.readOnly).toBe(true);
      // Root-owned with the fsGroup as group: the server's group is the pod's fsGroup.
      expect(d.spec.template.spec.securityContext.fsGroup).toBe(c.securityContext.runAsGroup);
    }
  });

  test('without the edge, Jupyter takes the files as certfile and keyfile and trusts no forwarded header; code-server as --cert and --cert-key', () => {
    const objects = workspaceObjects(configWith(NO_EDGE));
    const jupyter = server(find(objects, 'Deployment', 'jupyter'));
    expect(jupyter.args).toEqual(expect.arrayContaining(['--ServerApp.certfile=/etc/workspace-tls/tls.crt', '--ServerApp.keyfile=/etc/workspace-tls/tls.key']));
    expect(jupyter.args.join(' ')).not.toMatch(/trust_xheaders|GEN_CERT/);
    expect(envOf(jupyter).GEN_CERT).toBeUndefined();
    const vscode = server(find(objects, 'Deployment', 'vscode'));
    expect(vscode.args).toEqual(expect.arrayContaining(['--cert=/etc/workspace-tls/tls.crt', '--cert-key=/etc/workspace-tls/tls.key']));
  });

  test('without the edge, probes are HTTPS on the named https port', () => {
    for (const d of ofKind(workspaceObjects(configWith(NO_EDGE)), 'Deployment'))
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe'])
        expect(server(d)[probe].httpGet).toMatchObject({ port: 'https', scheme: 'HTTPS' });
  });

  // coder/code-server v4.104.0: ci/release-image/Dockerfile ENTRYPOINT ["/usr/bin/entrypoint.sh",
  // "--bind-addr", "0.0.0.0:8080", "."]; code-server reads --cert once (src/node/app.ts createApp).
  test("without the edge, code-server runs through the certificate watcher, which becomes the image's entrypoint", () => {
    const config = configWith({ ...NO_EDGE, tls: { certificateLifetime: '90d', renewBefore: '30d' } });
    const vscode = server(find(workspaceObjects(config), 'Deployment', 'vscode'));
    // The image's "." is the working directory: the home.
    expect(CODE_SERVER_ENTRYPOINT).toEqual(['/usr/bin/entrypoint.sh', '--bind-addr', '0.0.0.0:8080', '/home/coder']);
    expect(vscode.workingDir).toBe('/home/coder');
    expect(vscode.command).toEqual(['bash', '-c', scriptFile(CODE_SERVER_TLS), 'code-server-tls.sh', ...CODE_SERVER_ENTRYPOINT]);
    expect(vscode.ports[0].containerPort).toBe(8080);
    expect(envOf(vscode)).toMatchObject({
      TLS_CERT_FILE: `${WORKSPACE_TLS_DIR}/tls.crt`,
      CODE_SERVER_HEARTBEAT: '/home/coder/.local/share/code-server/heartbeat',
      TLS_IDLE_SECONDS: String(CODE_SERVER_IDLE_SECONDS),
      // Half of renewBefore (30 days).
      TLS_RESTART_DEADLINE_SECONDS: String(15 * 86400),
    });
    expect(CODE_SERVER_HEARTBEAT).toBe('/home/coder/.local/share/code-server/heartbeat');
    // Jupyter needs no watcher: it keeps the image's entrypoint.
    expect(server(find(workspaceObjects(config), 'Deployment', 'jupyter')).command).toBeUndefined();
  });
});

describe("the workspaces' MLflow client trusts the platform CA", () => {
  const cases = [...configsUnderTest(), { name: 'threeUsers', config: THREE_USERS }];

  test.each(cases.map((c) => [c.name, c.config] as const))(
    "%s: MLFLOW_TRACKING_SERVER_CERT_PATH is the ca.crt of the CA bundle rendered in the namespace, from the issuer of MLflow's certificate for the URI host",
    (_name, config) => {
      const names = platformNames(config);
      const { files, objects } = render(config);
      const certificates = chartObjects(files, 'certificates');
      const mlflowCert = find(certificates, 'Certificate', names.tls.mlflow);
      const deployments = APPS.flatMap((app) => (config.workspaces[app].enabled ? ofKind(chartObjects(files, app), 'Deployment') : []));
      expect(deployments.length).toBeGreaterThan(0);
      for (const d of deployments) {
        const env = envOf(server(d));
        const uri = new URL(env.MLFLOW_TRACKING_URI);
        expect(uri.protocol).toBe('https:');
        expect(mlflowCert.spec.dnsNames).toContain(uri.hostname);
        expect(env.MLFLOW_TRACKING_SERVER_CERT_PATH).toBe(CA_BUNDLE_FILE);
        // Not the variables that would replace the trust of every other HTTPS client in the pod.
        expect(env.REQUESTS_CA_BUNDLE).toBeUndefined();
        expect(env.SSL_CERT_FILE).toBeUndefined();
        const { volume, inside } = volumeOf(d, env.MLFLOW_TRACKING_SERVER_CERT_PATH);
        expect(volume.configMap.items).toEqual([{ key: 'ca.crt', path: inside }]);
        // The ConfigMap is the one trust-manager writes in the pod's namespace for the Bundle, from the
        // Secret of the CA whose issuer signs MLflow's certificate.
        const bundle = objects.find((o) => o.kind === 'Bundle' && o.metadata.name === volume.configMap.name);
        expect(bundle).toBeDefined();
        expect(bundle!.spec.target.configMap.key).toBe('ca.crt');
        expect(bundle!.spec.target.namespaceSelector.matchExpressions[0].values).toContain(d.metadata.namespace);
        const issuer = find(certificates, 'ClusterIssuer', mlflowCert.spec.issuerRef.name);
        expect(bundle!.spec.sources).toEqual([{ secret: { name: issuer.spec.ca.secretName, key: 'tls.crt' } }]);
      }
    },
  );

  describe('a real handshake with the client as rendered', () => {
    const config = configWith({});
    const names = platformNames(config);
    const { files } = render(config);
    const mlflowCert = find(chartObjects(files, 'certificates'), 'Certificate', names.tls.mlflow);
    let dir = '';
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-ws-tls-'));
      selfSigned(dir, 'ca', 'test platform CA');
      // MLflow's certificate as the rendered Certificate asks for it: its DNS names, for server authentication.
      issueServerCertificate(dir, { name: 'mlflow', dnsNames: mlflowCert.spec.dnsNames });
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    /**
     * Places the workspace's CA bundle volume under `root` as the kubelet would (the ConfigMap's ca.crt is
     * the test CA), then runs a TLS server with MLflow's certificate on 127.0.0.1 and a client that
     * dials the host of the rendered MLFLOW_TRACKING_URI with the rendered environment.
     */
    function handshake(app: 'jupyter' | 'vscode', env: (rendered: Record<string, string>) => Record<string, string>): string {
      const d = ofKind(chartObjects(files, app), 'Deployment')[0];
      const rendered = envOf(server(d)) as Record<string, string>;
      const root = fs.mkdtempSync(path.join(dir, `${app}-`));
      const { volume, inside } = volumeOf(d, rendered.MLFLOW_TRACKING_SERVER_CERT_PATH);
      const mount = server(d).volumeMounts.find((m: Manifest) => m.name === volume.name);
      const configMap: Record<string, string> = { 'ca.crt': fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8') };
      fs.mkdirSync(path.join(root, mount.mountPath), { recursive: true });
      for (const item of volume.configMap.items) fs.writeFileSync(path.join(root, mount.mountPath, item.path), configMap[item.key]);
      expect(inside).toBe('ca.crt');
      const clientEnv = env(rendered);
      const result = spawnSync('python3', ['-c', HANDSHAKE], {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          ROOT: root,
          SERVER_CERT: path.join(dir, 'mlflow.crt'),
          SERVER_KEY: path.join(dir, 'mlflow.key'),
          ...(clientEnv.MLFLOW_TRACKING_URI ? { MLFLOW_TRACKING_URI: clientEnv.MLFLOW_TRACKING_URI } : {}),
          ...(clientEnv.MLFLOW_TRACKING_SERVER_CERT_PATH ? { MLFLOW_TRACKING_SERVER_CERT_PATH: clientEnv.MLFLOW_TRACKING_SERVER_CERT_PATH } : {}),
        },
      });
      if (result.status !== 0) throw new Error(`handshake program failed: ${result.stderr}`);
      return result.stdout.trim();
    }

    test.each(APPS)('%s: the client verifies the certificate of the MLflow Service name it dials', (app) => {
      expect(handshake(app, (e) => e)).toBe('verified');
    });

    test.each(APPS)('%s: without the CA file (the render before the workspaces mounted it) the same client refuses the certificate', (app) => {
      expect(handshake(app, (e) => ({ MLFLOW_TRACKING_URI: e.MLFLOW_TRACKING_URI }))).toMatch(/^refused: .*CERTIFICATE_VERIFY_FAILED/);
    });

    test('a host the certificate does not name is refused, CA file or not', () => {
      expect(handshake('jupyter', (e) => ({ ...e, MLFLOW_TRACKING_URI: 'https://mlflow.example.com:5000' }))).toMatch(/^refused: .*CERTIFICATE_VERIFY_FAILED/);
    });
  });
});

/**
 * A TLS server with SERVER_CERT on 127.0.0.1, and a client that connects to it under the host name of
 * MLFLOW_TRACKING_URI. The client does what MLflow's does with its variables
 * (mlflow/utils/rest_utils.py http_request: `verify` is MLFLOW_TRACKING_SERVER_CERT_PATH when set,
 * else True, handed to requests, whose True means its own CA list): a CA file verifies against that
 * file alone; nothing verifies against a list that cannot hold the test CA. The path is read under
 * ROOT, where the test placed the pod's volume.
 */
const HANDSHAKE = `
import os, socket, ssl, threading, urllib.parse
uri = urllib.parse.urlsplit(os.environ["MLFLOW_TRACKING_URI"])
server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server_context.load_cert_chain(os.environ["SERVER_CERT"], os.environ["SERVER_KEY"])
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
def serve():
    connection, _ = listener.accept()
    try:
        server_context.wrap_socket(connection, server_side=True).close()
    except (OSError, ssl.SSLError):
        connection.close()
threading.Thread(target=serve, daemon=True).start()
cert_path = os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH")
context = ssl.create_default_context(cafile=os.environ["ROOT"] + cert_path) if cert_path else ssl.create_default_context()
try:
    with socket.create_connection(listener.getsockname(), timeout=10) as sock:
        with context.wrap_socket(sock, server_hostname=uri.hostname):
            print("verified")
except ssl.SSLError as error:
    print("refused: " + str(error))
`;
