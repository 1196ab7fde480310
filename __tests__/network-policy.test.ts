import * as fs from 'fs';
import * as path from 'path';
import type { Config } from '../config/schema';
import { clusterRanges } from '../model/network';
import { googleApisEgress, internetEgress, internetExcept, NEVER_INTERNET } from '../charts/lib/network-policy';
import { configWith, DeepPartial, Manifest, PROJECT_ROOT, render } from './support/render';
import type { ConfigInput } from '../config/schema';

/** IPv4 address as a number. */
function ip(address: string): number {
  return address.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

function inCidr(address: number, cidr: string): boolean {
  const [base, prefix] = cidr.split('/');
  const size = 2 ** (32 - Number(prefix));
  return Math.floor(address / size) === Math.floor(ip(base) / size);
}

/** Whether a NetworkPolicy ipBlock admits an address (Kubernetes semantics: in cidr, in no except). */
function admits(block: { cidr: string; except?: string[] }, address: number): boolean {
  return inCidr(address, block.cidr) && !(block.except ?? []).some((e) => inCidr(address, e));
}

/** First, a middle and last address of a range. */
function samples(cidr: string): number[] {
  const [base, prefix] = cidr.split('/');
  const start = ip(base);
  const size = 2 ** (32 - Number(prefix));
  return [start, start + Math.floor(size / 2), start + size - 1];
}

type Egress = { policy: string; block: { cidr: string; except?: string[] }; ports?: unknown[] };

/** Every "internet" ipBlock (cidr 0.0.0.0/0) of every egress rule in a render, with its policy. */
function internetBlocks(objects: Manifest[]): Egress[] {
  return objects
    .filter((o) => o.kind === 'NetworkPolicy')
    .flatMap((p) =>
      (p.spec.egress ?? []).flatMap((rule: any) =>
        (rule.to ?? [])
          .filter((peer: any) => peer.ipBlock?.cidr === '0.0.0.0/0')
          .map((peer: any) => ({ policy: p.metadata.name, block: peer.ipBlock, ports: rule.ports })),
      ),
    );
}

// GKE accepts non-RFC 1918 ranges for the subnet, pods and Services, RFC 6598 (100.64.0.0/10) among
// them (cloud.google.com/kubernetes-engine/docs/concepts/alias-ips, "Internal IP addresses"), and
// privately used public ranges (cloud.google.com/kubernetes-engine/docs/how-to/configuring-privately-used-public-ips-for-gke).
// The first layout is the issue's example: pods in 100.64.0.0/14, which the MLflow rule "0.0.0.0/0
// except RFC 1918" admitted on 443. The second puts every range but the control plane's /28 outside
// RFC 1918 and RFC 6598, where only the configured ranges themselves keep the cluster out.
const layouts: [string, DeepPartial<ConfigInput>['network']][] = [
  ['pods in 100.64.0.0/14', { podsCidr: '100.64.0.0/14' }],
  [
    'ranges outside RFC 1918 and RFC 6598',
    { subnetCidr: '11.10.0.0/20', podsCidr: '11.16.0.0/14', servicesCidr: '11.20.0.0/20', masterCidr: '172.16.0.0/28', privateServicesCidr: '11.30.0.0/16' },
  ],
];

describe('the internet egress rule', () => {
  describe.each(layouts)('%s', (_name, network) => {
    test.each(['cloudsql', 'statefulset'] as const)('no internet ipBlock of any chart admits an address of a configured range (%s)', (mode) => {
      const config: Config = configWith({ network, database: { mode }, workspaces: { internetEgress: true } });
      const blocks = internetBlocks(render(config).objects);
      const policies = new Set(blocks.map((b) => b.policy));
      // Every chart with an internet rule is present: MLflow, the workspaces and, in statefulset mode, the backups.
      expect(policies).toContain('mlflow-egress');
      expect([...policies].some((p) => p.startsWith('jupyter'))).toBe(true);
      expect([...policies].some((p) => p.startsWith('vscode'))).toBe(true);
      if (mode === 'statefulset') expect(policies).toContain('mlflow-db-backup-egress');
      for (const range of clusterRanges(config.network))
        for (const address of samples(range))
          for (const b of blocks) expect({ policy: b.policy, range, admitted: admits(b.block, address) }).toEqual({ policy: b.policy, range, admitted: false });
    });
  });

  test('an internet rule still admits public addresses, Google APIs among them, and never the metadata server', () => {
    const config = configWith({ network: { podsCidr: '100.64.0.0/14' } });
    const blocks = internetBlocks(render(config).objects);
    expect(blocks.length).toBeGreaterThan(0);
    for (const b of blocks) {
      // storage.googleapis.com resolves into Google's public ranges such as 142.250.0.0/15.
      expect(admits(b.block, ip('142.250.1.1'))).toBe(true);
      expect(admits(b.block, ip('169.254.169.254'))).toBe(false);
      expect(admits(b.block, ip('169.254.169.252'))).toBe(false);
    }
  });

  test('the except list: fixed ranges first, then configured ranges they do not contain, sorted and unique', () => {
    expect(internetExcept(['10.10.0.0/20', '100.64.0.0/14', '172.16.0.0/28'])).toEqual([...NEVER_INTERNET]);
    expect(internetExcept(['11.30.0.0/16', '11.16.0.0/14', '10.10.0.0/20', '11.16.0.0/14'])).toEqual([...NEVER_INTERNET, '11.16.0.0/14', '11.30.0.0/16']);
    expect(clusterRanges(configWith({}).network)).toEqual(['10.10.0.0/20', '10.16.0.0/14', '10.20.0.0/20', '172.16.0.0/28', '10.30.0.0/16']);
  });

  test('Google APIs: the metadata server on its two addresses, then the internet on 443 only', () => {
    const rules = googleApisEgress(['11.16.0.0/14']) as any[];
    expect(rules.map((r) => `${r.to[0].ipBlock.cidr} ${r.ports.map((p: any) => `${p.protocol}/${p.port.value}`).join(',')}`)).toEqual([
      '169.254.169.254/32 TCP/80',
      '169.254.169.252/32 TCP/988',
      '0.0.0.0/0 TCP/443',
    ]);
    expect(rules[2].to[0].ipBlock.except).toContain('11.16.0.0/14');
    expect(JSON.parse(JSON.stringify(internetEgress([])))).toEqual({ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: [...NEVER_INTERNET] } }] });
  });

  test('one home: no chart source outside charts/lib/network-policy.ts writes an internet or metadata-server range', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith('.ts')) files.push(full);
      }
    };
    walk(path.join(PROJECT_ROOT, 'charts'));
    const offenders = files
      .filter((f) => !f.endsWith(path.join('lib', 'network-policy.ts')))
      .filter((f) => /0\.0\.0\.0\/0|169\.254\.169\.25[24]|'10\.0\.0\.0\/8'/.test(fs.readFileSync(f, 'utf8')))
      .map((f) => path.relative(PROJECT_ROOT, f));
    expect(offenders).toEqual([]);
  });
});
