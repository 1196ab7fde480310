import { Testing } from 'cdk8s';
import { NamespacesChart, namespacesChartProps, POD_SECURITY_VERSION } from '../charts/namespaces';
import { buildModel } from '../model';
import { configWith } from './support/render';
import { testApp } from './support/app';

function synth(namespaces = ['mlflow', 'ml-workspaces']) {
  return Testing.synth(new NamespacesChart(testApp(), 'namespaces', { instance: 'test', namespaces }));
}

describe('namespaces chart', () => {
  test('renders the same objects as the snapshot', () => {
    expect(synth()).toMatchSnapshot();
  });

  test('every namespace enforces, audits and warns Pod Security restricted at a pinned version', () => {
    const namespaces = synth().filter((o) => o.kind === 'Namespace');
    expect(namespaces.map((n) => n.metadata.name)).toEqual(['mlflow', 'ml-workspaces']);
    for (const ns of namespaces) {
      for (const mode of ['enforce', 'audit', 'warn']) {
        expect(ns.metadata.labels[`pod-security.kubernetes.io/${mode}`]).toBe('restricted');
        expect(ns.metadata.labels[`pod-security.kubernetes.io/${mode}-version`]).toBe(POD_SECURITY_VERSION);
      }
    }
  });

  test('namespaces are never pruned by Flux and carry no namespace themselves', () => {
    for (const ns of synth().filter((o) => o.kind === 'Namespace')) {
      expect(ns.metadata.annotations['kustomize.toolkit.fluxcd.io/prune']).toBe('disabled');
      expect(ns.metadata.namespace).toBeUndefined();
    }
  });

  test('each namespace denies all ingress and egress by default and allows only DNS to kube-dns', () => {
    const objects = synth(['team']);
    const deny = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'default-deny');
    expect(deny.metadata.namespace).toBe('team');
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const dns = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'allow-dns');
    expect(dns.spec.policyTypes).toEqual(['Egress']);
    expect(dns.spec.egress).toHaveLength(1);
    expect(dns.spec.egress[0].to[0].podSelector.matchLabels).toEqual({ 'k8s-app': 'kube-dns' });
    expect(dns.spec.egress[0].ports.map((p: any) => `${p.protocol}/${p.port}`)).toEqual(['UDP/53', 'TCP/53']);
  });

  test('the namespaces come from the config', () => {
    const props = namespacesChartProps(buildModel(configWith({ namespaces: { platform: 'ml-core', workspaces: 'ml-users' } })));
    expect(props.namespaces).toEqual(['ml-core', 'ml-users']);
  });
});
