import { EXTERNAL_SECRETS_ANNOTATION } from '../common/contract';
import { PROXY_PORT } from '../charts/workspaces/iap-proxy';
import { BACKEND_CONFIG_ANNOTATION, NEG_ANNOTATION } from '../charts/edge/annotations';
import { grantName, MAX_CERT_DOMAINS } from '../model/edge-sites';
import { IAP_ACCESSOR } from '../charts/gcp/iap';
import { platformNames } from '../model/names';
import type { Config } from '../config/schema';
import { ConfigError } from '../model/load';
import { chartObjects, configsUnderTest, configWith, find, Manifest, render } from './support/render';
import { StrictValidator } from './support/schemas';
import { strictTest } from './support/strict-tests';

const users = (...names: string[]) => ({ workspaces: { users: names.map((name) => ({ name, email: `${name}@example.com` })) } });

const configs: Record<string, () => Config> = {
  default: () => configWith({}),
  perUser: () => configWith(users('carol', 'ana', 'bo')),
  custom: () =>
    configWith({
      namePrefix: 'team-',
      edge: {
        domain: 'ml.team.example.com',
        hosts: { mlflow: 'tracking.example.com' },
        oauthClientSecret: 'iap-oauth-client',
        securityPolicy: 'office-only',
        members: { mlflow: ['user:ana@example.com'], jupyter: ['group:notebooks@example.com'] },
        logSampleRate: 0.5,
      },
    }),
  noWorkspaces: () => configWith({ workspaces: { jupyter: { enabled: false }, vscode: { enabled: false } } }),
};
const privateOnly = () => configWith({ edge: { enabled: false } });

const key = (o: Manifest) => `${o.metadata.namespace}/${o.metadata.name}`;
const ofKind = (list: readonly Manifest[], kind: string) => list.filter((o) => o.kind === kind);
const edgeObjects = (config: Config) => chartObjects(render(config).files, 'edge');
const gcpObjects = (config: Config) => chartObjects(render(config).files, 'gcp');
const iapGrants = (config: Config) => ofKind(gcpObjects(config), 'IAMPolicyMember').filter((m) => m.spec.role === IAP_ACCESSOR);
const hostsOf = (ingress: Manifest): string[] => ingress.spec.rules.map((r: any) => r.host);
/** Host -> Service of every Ingress rule, with the namespace. */
const routes = (objects: readonly Manifest[]) =>
  ofKind(objects, 'Ingress').flatMap((i) =>
    i.spec.rules.flatMap((r: any) => r.http.paths.map((p: any) => ({ ingress: i, host: r.host, namespace: i.metadata.namespace, service: p.backend.service }))),
  );
const allConfigs = () => [
  ...configsUnderTest().map((c) => [c.name, () => c.config] as const),
  ...Object.entries(configs).filter(([name]) => name !== 'default'),
  ['privateOnly', privateOnly] as const,
];

describe('edge chart', () => {
  test.each(Object.keys(configs))('renders the same objects as the snapshot (%s)', (name) => {
    expect(edgeObjects(configs[name]())).toMatchSnapshot();
  });

  strictTest.each(allConfigs())('7. every edge object and IAP grant validates strictly against its CRD or Kubernetes schema (%s)', (_name, config) => {
    const { files } = render(config());
    const edge = files.some((f) => f.path.endsWith('-edge.yaml')) ? chartObjects(files, 'edge') : [];
    expect(new StrictValidator().validate([...edge, ...iapGrants(config())])).toEqual([]);
  });

  test('is the last chart in apply order, and only while edge.enabled', () => {
    const paths = render(configs.default())
      .files.filter((f) => !f.path.includes('/') && f.path.endsWith('.yaml'))
      .map((f) => f.path);
    expect(paths[paths.length - 1]).toMatch(/^\d{4}-edge\.yaml$/);
    expect(
      render(privateOnly())
        .files.map((f) => f.path)
        .join(' '),
    ).not.toMatch(/edge/);
  });

  describe('1. Ingress', () => {
    test('one GKE Ingress per namespace with apps, class by annotation only, bound to its own global address from the gcp chart', () => {
      for (const make of Object.values(configs)) {
        const config = make();
        const names = platformNames(config);
        const objects = render(config).objects;
        const ingresses = ofKind(objects, 'Ingress');
        const expectedNamespaces = [names.namespaces.platform, ...(names.workspaces.length > 0 ? [names.namespaces.workspaces] : [])];
        expect(ingresses.map((i) => i.metadata.namespace).sort()).toEqual(expectedNamespaces.sort());
        const addresses = ingresses.map((i) => i.metadata.annotations['kubernetes.io/ingress.global-static-ip-name']);
        expect(new Set(addresses).size).toBe(ingresses.length);
        for (const i of ingresses) {
          expect(i.metadata.annotations['kubernetes.io/ingress.class']).toBe('gce');
          expect(i.spec.ingressClassName).toBeUndefined();
          const address = find(objects, 'ComputeAddress', i.metadata.annotations['kubernetes.io/ingress.global-static-ip-name']);
          expect(address.spec).toMatchObject({ location: 'global', addressType: 'EXTERNAL' });
        }
        expect(addresses).toContain(names.globalAddress);
      }
    });

    test('one host name per app instance: MLflow, the shared workspaces, or each per-user workspace', () => {
      const hosts = (config: Config) => [...new Set(routes(render(config).objects).map((r) => r.host))].sort();
      expect(hosts(configs.default())).toEqual(['jupyter.ml.example.com', 'mlflow.ml.example.com', 'vscode.ml.example.com']);
      expect(hosts(configs.perUser())).toEqual([
        'jupyter-ana.ml.example.com',
        'jupyter-bo.ml.example.com',
        'jupyter-carol.ml.example.com',
        'mlflow.ml.example.com',
        'vscode-ana.ml.example.com',
        'vscode-bo.ml.example.com',
        'vscode-carol.ml.example.com',
      ]);
      expect(hosts(configs.custom())).toEqual(['jupyter.ml.team.example.com', 'tracking.example.com', 'vscode.ml.team.example.com']);
    });

    test.each(allConfigs())('every Ingress backend names an existing Service port in its namespace (%s)', (_name, config) => {
      const objects = render(config()).objects;
      for (const r of routes(objects)) {
        const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === r.service.name && o.metadata.namespace === r.namespace);
        expect(service).toBeDefined();
        const ports = service!.spec.ports;
        expect(ports.some((p: any) => (r.service.port.number !== undefined ? p.port === r.service.port.number : p.name === r.service.port.name))).toBe(true);
      }
    });
  });

  describe('2. TLS', () => {
    test.each(allConfigs())('every host is in a ManagedCertificate of its Ingress, in the same namespace (%s)', (_name, config) => {
      const objects = render(config()).objects;
      for (const i of ofKind(objects, 'Ingress')) {
        const certs = String(i.metadata.annotations['networking.gke.io/managed-certificates']).split(',');
        const domains = certs.flatMap((name) => {
          const cert = objects.find((o) => o.kind === 'ManagedCertificate' && o.metadata.name === name && o.metadata.namespace === i.metadata.namespace);
          expect(cert).toBeDefined();
          return cert!.spec.domains as string[];
        });
        expect([...domains].sort()).toEqual([...hostsOf(i)].sort());
      }
    });

    test('more hosts than one certificate holds are spread over several certificates', () => {
      const many = Array.from({ length: 60 }, (_, i) => `user${String(i).padStart(2, '0')}`);
      const objects = edgeObjects(configWith(users(...many)));
      const certs = ofKind(objects, 'ManagedCertificate').filter((c) => c.metadata.namespace === 'ml-workspaces');
      expect(certs.map((c) => c.metadata.name)).toEqual(['workspaces', 'workspaces-2']);
      expect(certs.map((c) => c.spec.domains.length)).toEqual([MAX_CERT_DOMAINS, 20]);
      expect(find(objects, 'Ingress', 'workspaces').metadata.annotations['networking.gke.io/managed-certificates']).toBe('workspaces,workspaces-2');
    });

    test('each Ingress names a FrontendConfig in its namespace that redirects HTTP to HTTPS with the SSL policy of the gcp chart', () => {
      const config = configs.custom();
      const objects = render(config).objects;
      for (const i of ofKind(objects, 'Ingress')) {
        const name = i.metadata.annotations['networking.gke.io/v1beta1.FrontendConfig'];
        const frontend = objects.find((o) => o.kind === 'FrontendConfig' && o.metadata.name === name && o.metadata.namespace === i.metadata.namespace);
        expect(frontend?.spec.redirectToHttps).toEqual({ enabled: true, responseCodeName: 'MOVED_PERMANENTLY_DEFAULT' });
        expect(find(objects, 'ComputeSSLPolicy', frontend!.spec.sslPolicy).spec).toMatchObject({ minTlsVersion: 'TLS_1_2' });
        // HTTP must stay open for the redirect to answer.
        expect(i.metadata.annotations['kubernetes.io/ingress.allow-http']).toBeUndefined();
      }
    });
  });

  describe('3. BackendConfig per backend Service', () => {
    test.each(allConfigs())(
      'every Service with a BackendConfig annotation has that BackendConfig in its namespace, and every routed Service has one (%s)',
      (_name, config) => {
        const objects = render(config()).objects;
        const annotated = ofKind(objects, 'Service').filter((s) => s.metadata.annotations?.[BACKEND_CONFIG_ANNOTATION]);
        for (const s of annotated) {
          const ref = JSON.parse(s.metadata.annotations[BACKEND_CONFIG_ANNOTATION]);
          for (const name of [ref.default, ...Object.values(ref.ports ?? {})].filter(Boolean))
            expect(objects.find((o) => o.kind === 'BackendConfig' && o.metadata.name === name && o.metadata.namespace === s.metadata.namespace)).toBeDefined();
        }
        for (const r of routes(objects)) {
          const service = annotated.find((s) => s.metadata.name === r.service.name && s.metadata.namespace === r.namespace);
          expect(service?.metadata.annotations[NEG_ANNOTATION]).toBe('{"ingress": true}');
        }
        expect(annotated.length).toBe(routes(objects).length);
      },
    );

    test('IAP is on for every backend with the Google-managed OAuth client, or the configured Secret by reference', () => {
      for (const bc of ofKind(edgeObjects(configs.default()), 'BackendConfig').filter((b) => b.metadata.name !== 'mlflow-health'))
        expect(bc.spec.iap).toEqual({ enabled: true });
      for (const bc of ofKind(edgeObjects(configs.custom()), 'BackendConfig').filter((b) => b.metadata.name !== 'team-mlflow-health')) {
        expect(bc.spec.iap).toEqual({ enabled: true, oauthclientCredentials: { secretName: 'iap-oauth-client' } });
        expect(bc.metadata.annotations[EXTERNAL_SECRETS_ANNOTATION]).toBe('iap-oauth-client');
      }
    });

    test('only the exact MLflow health path bypasses IAP, for the uptime check, on the same pods as the MLflow Service', () => {
      const config = configs.custom();
      const objects = render(config).objects;
      const open = ofKind(objects, 'BackendConfig').filter((b) => !b.spec.iap.enabled);
      expect(open.map(key)).toEqual(['mlflow/team-mlflow-health']);
      const toOpen = routes(objects).filter((r) => r.service.name === 'team-mlflow-health');
      expect(
        toOpen.map((r) => [
          r.host,
          r.ingress.spec.rules.find((x: any) => x.host === r.host).http.paths.find((p: any) => p.backend.service.name === 'team-mlflow-health'),
        ]),
      ).toEqual([
        ['tracking.example.com', { path: '/health', pathType: 'Exact', backend: { service: { name: 'team-mlflow-health', port: { number: 5000 } } } }],
      ]);
      expect(find(objects, 'Service', 'team-mlflow-health').spec.selector).toEqual(find(objects, 'Service', 'team-mlflow').spec.selector);
      // What the gcp chart's uptime check requests.
      expect(find(objects, 'MonitoringUptimeCheckConfig', 'team-mlflow-uptime').spec.httpCheck.path).toBe('/health');
    });

    test("health checks use each app's unauthenticated probe path: /health for MLflow, /api for Jupyter, /healthz for code-server", () => {
      const objects = render(configs.perUser()).objects;
      const expected: Record<string, string> = { mlflow: '/health', jupyter: '/api', vscode: '/healthz' };
      const backendConfigs = ofKind(objects, 'BackendConfig').filter((b) => b.metadata.name !== 'mlflow-health');
      expect(backendConfigs).toHaveLength(7);
      for (const bc of backendConfigs) {
        const app = bc.metadata.name.replace(/-.*$/, '');
        // The load balancer checks what the kubelet checks, in the protocol the app serves.
        const deployment = objects.find(
          (o) => o.kind === 'Deployment' && o.metadata.name === bc.metadata.name && o.metadata.namespace === bc.metadata.namespace,
        );
        const container = deployment!.spec.template.spec.containers[0];
        expect(bc.spec.healthCheck).toMatchObject({ type: container.readinessProbe.httpGet.scheme ?? 'HTTP', requestPath: expected[app] });
        expect(container.readinessProbe.httpGet.path).toBe(bc.spec.healthCheck.requestPath);
      }
    });

    // kubernetes/ingress-gce @acbcf5d: pkg/annotations/service.go (cloud.google.com/app-protocols, a JSON
    // map of Service port names to HTTP, HTTPS or HTTP2) and pkg/apis/backendconfig/v1/types.go
    // (healthCheck.type).
    test('MLflow serves HTTPS only, so the load balancer speaks HTTPS to both its Services and checks their health over HTTPS', () => {
      const objects = render(configs.default()).objects;
      for (const name of ['mlflow', 'mlflow-health']) {
        const svc = find(objects, 'Service', name);
        const [port] = svc.spec.ports;
        expect({ name, protocols: JSON.parse(svc.metadata.annotations['cloud.google.com/app-protocols']) }).toEqual({
          name,
          protocols: { [port.name]: 'HTTPS' },
        });
        expect(svc.metadata.annotations['service.alpha.kubernetes.io/app-protocols']).toBeUndefined();
        expect(find(objects, 'BackendConfig', name).spec.healthCheck.type).toBe('HTTPS');
      }
      // Not HTTP2: uvicorn speaks HTTP/1.1 only.
      expect(JSON.stringify(objects)).not.toContain('HTTP2');
    });

    test('Jupyter and code-server serve HTTPS too: every Service an Ingress routes to gets HTTPS on the routed port and HTTPS health checks', () => {
      const objects = render(configs.perUser()).objects;
      const routed = routes(objects);
      expect(new Set(routed.map((r) => r.service.name)).size).toBe(8);
      for (const { namespace, service } of routed) {
        const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === service.name && o.metadata.namespace === namespace)!;
        const port = svc.spec.ports.find((p: Manifest) => p.port === service.port.number);
        expect({ service: service.name, protocols: JSON.parse(svc.metadata.annotations['cloud.google.com/app-protocols']) }).toEqual({
          service: service.name,
          protocols: { [port.name]: 'HTTPS' },
        });
        const bc = find(objects, 'BackendConfig', JSON.parse(svc.metadata.annotations[BACKEND_CONFIG_ANNOTATION]).default);
        expect(bc.spec.healthCheck.type).toBe('HTTPS');
      }
      // The workspace Services' port is named https and targets the verifying proxy, which serves HTTPS (charts/workspaces/iap-proxy.ts).
      for (const svc of ofKind(objects, 'Service').filter((s) => /^(jupyter|vscode)/.test(s.metadata.name)))
        expect(svc.spec.ports).toEqual([{ name: 'https', port: 443, targetPort: PROXY_PORT, protocol: 'TCP' }]);
    });

    test('websocket backends (Jupyter, code-server) get a timeout of hours; MLflow its own; draining, logging and Cloud Armor as configured', () => {
      const byName = (objects: Manifest[]) =>
        Object.fromEntries(ofKind(objects, 'BackendConfig').map((bc) => [bc.metadata.name, bc.spec])) as Record<string, Manifest>;
      const defaults = byName(edgeObjects(configs.default()));
      expect(defaults.jupyter.timeoutSec).toBeGreaterThanOrEqual(3600);
      expect(defaults.vscode.timeoutSec).toBeGreaterThanOrEqual(3600);
      expect(defaults.mlflow.timeoutSec).toBe(600);
      for (const spec of Object.values(defaults)) {
        expect(spec.connectionDraining).toEqual({ drainingTimeoutSec: 30 });
        expect(spec.logging).toEqual({ enable: true, sampleRate: 1 });
        expect(spec.securityPolicy).toBeUndefined();
      }
      const tuned = byName(
        edgeObjects(configWith({ edge: { workspaceTimeoutSeconds: 7200, mlflowTimeoutSeconds: 900, drainingSeconds: 60, logSampleRate: 0 } })),
      );
      expect([tuned.jupyter.timeoutSec, tuned.vscode.timeoutSec, tuned.mlflow.timeoutSec]).toEqual([7200, 7200, 900]);
      expect(tuned.mlflow.connectionDraining).toEqual({ drainingTimeoutSec: 60 });
      expect(tuned.mlflow.logging).toEqual({ enable: false });
      for (const spec of Object.values(byName(edgeObjects(configs.custom())))) {
        expect(spec.securityPolicy).toEqual({ name: 'office-only' });
        expect(spec.logging).toEqual({ enable: true, sampleRate: 0.5 });
      }
    });
  });

  describe('HSTS at the load balancer', () => {
    const headersByBackend = (config: Config) =>
      Object.fromEntries(ofKind(edgeObjects(config), 'BackendConfig').map((bc) => [bc.metadata.name, bc.spec.customResponseHeaders]));

    test('every BackendConfig, public health ones included, sets Strict-Transport-Security for one year without includeSubDomains by default', () => {
      const headers = headersByBackend(configs.perUser());
      expect(Object.keys(headers).length).toBeGreaterThanOrEqual(8);
      expect(headers['mlflow-health']).toBeDefined();
      for (const h of Object.values(headers)) expect(h).toEqual({ headers: ['Strict-Transport-Security: max-age=31536000'] });
    });

    test('max-age and includeSubDomains come from edge.hsts', () => {
      const headers = headersByBackend(configWith({ edge: { hsts: { maxAgeSeconds: 600, includeSubDomains: true } } }));
      for (const h of Object.values(headers)) expect(h).toEqual({ headers: ['Strict-Transport-Security: max-age=600; includeSubDomains'] });
      const off = headersByBackend(configWith({ edge: { hsts: { maxAgeSeconds: 0 } } }));
      for (const h of Object.values(off)) expect(h).toEqual({ headers: ['Strict-Transport-Security: max-age=0'] });
    });

    test.each([
      [{ maxAgeSeconds: -1 }, /edge\.hsts\.maxAgeSeconds: -1 is not allowed: must be a whole number of seconds from 0 to 63072000 \(two years\)/],
      [{ maxAgeSeconds: 1.5 }, /edge\.hsts\.maxAgeSeconds: 1\.5 is not allowed: must be a whole number of seconds from 0 to 63072000/],
      [{ maxAgeSeconds: 63072001 }, /edge\.hsts\.maxAgeSeconds: 63072001 is not allowed: must be a whole number of seconds from 0 to 63072000/],
      [{ preload: true }, /edge\.hsts/],
    ])('a bad edge.hsts is refused: %j', (hsts, message) => {
      expect(() => configWith({ edge: { hsts } as never })).toThrow(ConfigError);
      expect(() => configWith({ edge: { hsts } as never })).toThrow(message);
    });
  });

  describe('4. who may enter', () => {
    const grantsByHost = (config: Config) => {
      const out: Record<string, string[]> = {};
      for (const g of iapGrants(config)) {
        const host = /^request\.host == "([^"]+)"$/.exec(g.spec.condition.expression)![1];
        (out[host] ??= []).push(g.spec.member);
      }
      for (const list of Object.values(out)) list.sort();
      return out;
    };

    test('additive, host-conditioned IAP accessor grants on the project, in the gcp chart with its Config Connector annotations', () => {
      const config = configs.default();
      const names = platformNames(config);
      const grants = iapGrants(config);
      expect(grants).toHaveLength(3);
      for (const g of grants) {
        expect(g.metadata.namespace).toBe(names.namespaces.gcp);
        expect(g.metadata.annotations['cnrm.cloud.google.com/project-id']).toBe(config.project.id);
        expect(g.spec.resourceRef).toEqual({ kind: 'Project', external: `projects/${config.project.id}` });
        expect(g.spec.condition.title).toMatch(/^IAP access to /);
      }
      expect(render(config).objects.filter((o) => o.kind === 'IAMPolicy' || o.kind === 'IAMPartialPolicy')).toEqual([]);
      expect(grantsByHost(config)).toEqual({
        'mlflow.ml.example.com': ['group:ml-team@example.com'],
        'jupyter.ml.example.com': ['group:ml-team@example.com'],
        'vscode.ml.example.com': ['group:ml-team@example.com'],
      });
    });

    test('per-app members are admitted to their app only', () => {
      expect(grantsByHost(configs.custom())).toEqual({
        'tracking.example.com': ['group:ml-team@example.com', 'user:ana@example.com'],
        'jupyter.ml.team.example.com': ['group:ml-team@example.com', 'group:notebooks@example.com'],
        'vscode.ml.team.example.com': ['group:ml-team@example.com'],
      });
    });

    test('a per-user workspace admits its user alone; MLflow admits the shared members and every workspace user', () => {
      const byHost = grantsByHost(configs.perUser());
      for (const user of ['ana', 'bo', 'carol']) {
        expect(byHost[`jupyter-${user}.ml.example.com`]).toEqual([`user:${user}@example.com`]);
        expect(byHost[`vscode-${user}.ml.example.com`]).toEqual([`user:${user}@example.com`]);
      }
      expect(byHost['mlflow.ml.example.com']).toEqual(['group:ml-team@example.com', 'user:ana@example.com', 'user:bo@example.com', 'user:carol@example.com']);
      expect(Object.keys(byHost)).toHaveLength(7);
    });

    test('a workspace user who is also a member is granted MLflow once, and users are admitted with the workspaces off', () => {
      const both = configWith({
        edge: { iapMembers: ['user:ana@example.com'], members: { mlflow: ['user:bo@example.com'] } },
        workspaces: {
          users: [
            { name: 'ana', email: 'Ana@Example.com' },
            { name: 'bo', email: 'bo@example.com' },
          ],
        },
      });
      expect(grantsByHost(both)['mlflow.ml.example.com']).toEqual(['user:ana@example.com', 'user:bo@example.com']);
      const off = configWith({ workspaces: { users: [{ name: 'ana', email: 'ana@example.com' }], jupyter: { enabled: false }, vscode: { enabled: false } } });
      expect(grantsByHost(off)).toEqual({ 'mlflow.ml.example.com': ['group:ml-team@example.com', 'user:ana@example.com'] });
    });

    test('a workspace user whose MLflow grant collides with a member is reported once, at the user email', () => {
      expect(() => configWith({ edge: { iapMembers: ['user:a-b@example.com'] }, workspaces: { users: [{ name: 'ab', email: 'a_b@example.com' }] } })).toThrow(
        /^test config: workspaces\.users\[0\]\.email: "a_b@example\.com" is not allowed: gives the same object name \(iap-mlflow\.ml\.example\.com-user-a-b-example\.com\) as "user:a-b@example\.com": members must differ in more than punctuation and case$/,
      );
    });

    test('grant names are readable and change with host or member (the binding is immutable)', () => {
      expect(grantName('', 'mlflow.ml.example.com', 'group:ml-team@example.com')).toBe('iap-mlflow.ml.example.com-group-ml-team-example.com');
      expect(grantName('team-', 'jupyter-ana.example.com', 'user:Ana_B@Example.com')).toBe('team-iap-jupyter-ana.example.com-user-ana-b-example.com');
      expect(() => configWith({ edge: { iapMembers: ['user:a_b@example.com', 'user:a-b@example.com'] } })).toThrow(
        /^test config: edge\.iapMembers\[0\]: "user:a_b@example\.com" is not allowed: gives the same object name \(iap-mlflow\.ml\.example\.com-user-a-b-example\.com\) as "user:a-b@example\.com": members must differ in more than punctuation and case$/,
      );
    });
  });

  describe('5. private-only', () => {
    test('edge.enabled false renders no Ingress, certificate, FrontendConfig, BackendConfig, backend-config annotation or IAP grant', () => {
      const objects = render(privateOnly()).objects;
      expect(objects.filter((o) => ['Ingress', 'ManagedCertificate', 'FrontendConfig', 'BackendConfig'].includes(o.kind))).toEqual([]);
      expect(ofKind(objects, 'Service').filter((s) => s.metadata.annotations?.[BACKEND_CONFIG_ANNOTATION])).toEqual([]);
      expect(objects.filter((o) => o.kind === 'IAMPolicyMember' && o.spec.role === IAP_ACCESSOR)).toEqual([]);
    });
  });

  describe('6. in-cluster encryption', () => {
    test('inter-node transparent encryption is on by default and stated explicitly when turned off', () => {
      const cluster = (config: Config) => ofKind(gcpObjects(config), 'ContainerCluster')[0].spec;
      expect(cluster(configs.default())).toMatchObject({
        datapathProvider: 'ADVANCED_DATAPATH',
        inTransitEncryptionConfig: 'IN_TRANSIT_ENCRYPTION_INTER_NODE_TRANSPARENT',
      });
      expect(cluster(configWith({ edge: { interNodeEncryption: false } })).inTransitEncryptionConfig).toBe('IN_TRANSIT_ENCRYPTION_DISABLED');
    });
  });

  describe('rejected configs', () => {
    test('two apps on one host name', () => {
      expect(() => configWith({ edge: { hosts: { jupyter: 'mlflow.ml.example.com' } } })).toThrow(
        /edge\.hosts\.jupyter: "mlflow\.ml\.example\.com" is not allowed: gives jupyter the host name "mlflow\.ml\.example\.com" of mlflow: each app needs its own host name/,
      );
    });

    test('a host name longer than a managed certificate accepts', () => {
      const domain = `${'a'.repeat(50)}.example.com`;
      expect(() => configWith({ edge: { domain } })).toThrow(
        /edge\.domain: "a+\.example\.com" is not allowed: gives the host name "mlflow\.a+\.example\.com" for mlflow, longer than 63 characters/,
      );
    });

    test.each([
      [{ workspaceTimeoutSeconds: 0 }, /edge\.workspaceTimeoutSeconds: 0 is not allowed: must be a whole number of seconds from 1 to 86400/],
      [{ mlflowTimeoutSeconds: 100000 }, /edge\.mlflowTimeoutSeconds: 100000 is not allowed: must be a whole number of seconds from 1 to 86400/],
      [{ logSampleRate: 2 }, /edge\.logSampleRate: 2 is not allowed: must be a number from 0 to 1/],
      [{ members: { vscode: ['ana@example.com'] } }, /edge\.members\.vscode\[0\]: "ana@example\.com" is not allowed: must be an IAM member/],
    ])('%j', (edge, message) => {
      expect(() => configWith({ edge })).toThrow(ConfigError);
      expect(() => configWith({ edge })).toThrow(message);
    });
  });
});
