/**
 * The default render and every example config's (config/dev.yaml, config/prod.yaml), each applied to
 * a fresh local control plane: accepted with no error and no warning, every workload's Pods admitted,
 * every reference resolved on the server, and a second apply a no-op. On the default render, the API
 * server also enforces the CA ClusterIssuer's namespace scope (charts/certificates/issuer-scope.ts).
 */
import { platformNames } from '../../model/names';
import { configsUnderTest } from '../support/render';
import { distFiles, renderToDir } from './support/render-dir';
import { expectRenderChecks, onCluster } from './support/scenario';

describe.each(configsUnderTest().map((c) => [c.name, c.config] as const))('the render of config %s on a real control plane', (name, config) => {
  const scenario = onCluster(() => distFiles(renderToDir(config)));
  expectRenderChecks(scenario);

  if (name === 'default')
    test('the API server refuses a Certificate from the platform CA outside the platform namespaces and admits it inside', async () => {
      const names = platformNames(config);
      const certificate = (namespace: string) =>
        JSON.stringify({
          apiVersion: 'cert-manager.io/v1',
          kind: 'Certificate',
          metadata: { name: 'scope-probe', namespace },
          spec: { secretName: 'scope-probe', dnsNames: ['probe.example.com'], issuerRef: { name: names.tls.caIssuer, kind: 'ClusterIssuer' } },
        });
      const outside = await scenario.cluster.run(['create', '--dry-run=server', '-f', '-'], certificate('default'));
      expect(outside.code).not.toBe(0);
      expect(outside.stderr).toContain(`the platform CA ClusterIssuer ${names.tls.caIssuer} signs only for the namespaces`);
      const inside = await scenario.cluster.run(['create', '--dry-run=server', '-f', '-'], certificate(names.namespaces.platform));
      expect({ code: inside.code, stderr: inside.stderr }).toEqual({ code: 0, stderr: '' });
    });
});
