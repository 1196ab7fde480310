/**
 * The workspaces' home volumes on the platform's CMEK StorageClass (workspaces.homeStorage: cmek,
 * the default): one cluster-scoped class in the namespaces file, encrypted with the Cloud KMS disk
 * key that the gcp chart grants to the Compute Engine service agent, Retain, expandable, bound where
 * the pod lands; and `cluster-default`, which leaves existing claims exactly as they were rendered.
 */
import { Testing } from 'cdk8s';
import { buildModel } from '../model';
import { GcpChart, gcpChartProps } from '../charts/gcp';
import { enabledWorkspaceApps, platformNames } from '../model/names';
import type { Config } from '../config/schema';
import { chartObjects, configsUnderTest, configWith, render } from './support/render';
import { testApp } from './support/app';

const storageClasses = (config: Config) => chartObjects(render(config).files, 'namespaces').filter((o) => o.kind === 'StorageClass');
const homeClaims = (config: Config) => {
  const files = render(config).files;
  return enabledWorkspaceApps(config).flatMap((app) => chartObjects(files, app).filter((o) => o.kind === 'PersistentVolumeClaim'));
};

describe('workspaces.homeStorage: cmek (the default)', () => {
  const config = configWith({});
  const names = platformNames(config);

  test('one StorageClass of Persistent Disks encrypted with the disk key: Retain, expandable, bound where the pod runs', () => {
    expect(config.workspaces.homeStorage).toBe('cmek');
    const [sc] = storageClasses(config);
    expect(storageClasses(config)).toHaveLength(1);
    expect(sc.metadata.name).toBe('mlflow-workspaces-cmek');
    expect(sc.metadata.namespace).toBeUndefined();
    expect(sc.provisioner).toBe('pd.csi.storage.gke.io');
    expect(sc.parameters).toEqual({ type: 'pd-balanced', 'disk-encryption-kms-key': names.kms.keyPath('disk') });
    expect(names.kms.keyPath('disk')).toBe('projects/mlflow-gke-example/locations/europe-west1/keyRings/mlflow-gke/cryptoKeys/mlflow-disk');
    expect([sc.reclaimPolicy, sc.allowVolumeExpansion, sc.volumeBindingMode]).toEqual(['Retain', true, 'WaitForFirstConsumer']);
    // Flux never prunes it: a class that disappears leaves its disks' provisioning unexplained.
    expect(sc.metadata.annotations['kustomize.toolkit.fluxcd.io/prune']).toBe('disabled');
  });

  test('every home claim, shared or per user, uses it', () => {
    const users = configWith({
      workspaces: {
        users: [
          { name: 'ana', email: 'ana@example.com' },
          { name: 'bo', email: 'bo@example.com' },
        ],
      },
    });
    for (const c of [config, users]) {
      const claims = homeClaims(c);
      expect(claims.length).toBeGreaterThan(0);
      for (const claim of claims) expect(claim.spec.storageClassName).toBe('mlflow-workspaces-cmek');
    }
    expect(homeClaims(users)).toHaveLength(4);
  });

  test('the Compute Engine service agent, which creates the disks, may encrypt and decrypt with that key (the gcp chart)', () => {
    const withNumber = configWith({ project: { number: '999888777666' } });
    const grants = Testing.synth(new GcpChart(testApp(), 'gcp', gcpChartProps(buildModel(withNumber)))).filter(
      (o) => o.kind === 'IAMPolicyMember' && o.spec.resourceRef?.name === platformNames(withNumber).kms.keys.disk,
    );
    expect(grants.map((g) => [g.spec.role, g.spec.member])).toEqual([
      ['roles/cloudkms.cryptoKeyEncrypterDecrypter', 'serviceAccount:service-999888777666@compute-system.iam.gserviceaccount.com'],
    ]);
  });

  test('the class and the claims carry the name prefix', () => {
    const prefixed = configWith({ namePrefix: 'team-a-' } as never);
    expect(storageClasses(prefixed).map((s) => s.metadata.name)).toEqual(['team-a-mlflow-workspaces-cmek']);
    for (const claim of homeClaims(prefixed)) expect(claim.spec.storageClassName).toBe('team-a-mlflow-workspaces-cmek');
  });

  test('without a workspace app there is no class', () => {
    expect(storageClasses(configWith({ workspaces: { jupyter: { enabled: false }, vscode: { enabled: false } } }))).toEqual([]);
  });
});

describe('workspaces.homeStorage: cluster-default', () => {
  test('the claims name no class, exactly as before, so existing bound claims apply unchanged; the class is there to migrate onto', () => {
    const config = configWith({ workspaces: { homeStorage: 'cluster-default' } });
    expect(storageClasses(config).map((s) => s.metadata.name)).toEqual(['mlflow-workspaces-cmek']);
    for (const claim of homeClaims(config)) expect('storageClassName' in claim.spec).toBe(false);
  });

  test('another value is refused with what is allowed', () => {
    expect(() => configWith({ workspaces: { homeStorage: 'standard-rwo' } } as never)).toThrow(/workspaces\.homeStorage: "standard-rwo" is not allowed/);
  });
});

test('every config under test renders its home claims on a class it renders, or on none', () => {
  for (const { name, config } of configsUnderTest()) {
    const classes = new Set(storageClasses(config).map((s) => s.metadata.name));
    for (const claim of homeClaims(config)) {
      const cls = claim.spec.storageClassName;
      expect(`${name}: ${cls === undefined || classes.has(cls)}`).toBe(`${name}: true`);
    }
  }
});
