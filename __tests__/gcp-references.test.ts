/**
 * Reference integrity of the Config Connector objects over the whole render: every `{name}` ref
 * resolves to an object of the right kind, every `{external}` ref and plain-string reference is built
 * from the config, every key a resource uses is granted to that resource's service agent, and every
 * key sits in its consumer's location.
 */
import type { Config } from '../config/schema';
import { platformNames } from '../model/names';
import { configsUnderTest, configWith, Manifest, render } from './support/render';

const ENCRYPTER = 'roles/cloudkms.cryptoKeyEncrypterDecrypter';

/** Kind each ref field points at; `resourceRef` carries its own kind. A ref field not listed fails. */
const REF_KINDS: Record<string, string> = {
  keyRingRef: 'KMSKeyRing',
  kmsKeyRef: 'KMSCryptoKey',
  encryptionKMSCryptoKeyRef: 'KMSCryptoKey',
  bootDiskKMSCryptoKeyRef: 'KMSCryptoKey',
  networkRef: 'ComputeNetwork',
  privateNetworkRef: 'ComputeNetwork',
  subnetworkRef: 'ComputeSubnetwork',
  routerRef: 'ComputeRouter',
  clusterRef: 'ContainerCluster',
  instanceRef: 'SQLInstance',
  serviceAccountRef: 'IAMServiceAccount',
  serviceIdentityRef: 'ServiceIdentity',
  loggingLogBucketRef: 'LoggingLogBucket',
  reservedPeeringRanges: 'ComputeAddress',
  notificationChannels: 'MonitoringNotificationChannel',
  projectRef: 'Project',
};

const isKcc = (o: Manifest) => String(o.apiVersion).includes('.cnrm.cloud.google.com/');
const id = (o: Manifest) => `${o.kind}/${o.metadata?.name}`;

interface Ref {
  readonly owner: Manifest;
  readonly path: string;
  readonly field: string;
  readonly ref: Record<string, any>;
}

function collectRefs(o: Manifest): Ref[] {
  const refs: Ref[] = [];
  const walk = (value: any, path: string, field: string) => {
    if (Array.isArray(value)) return value.forEach((v, i) => walk(v, `${path}[${i}]`, field));
    if (value === null || typeof value !== 'object') return;
    // A secretKeyRef names a Kubernetes Secret created out of band: the policy gate's references rule checks it.
    const isRefField = (/Ref$/.test(field) && field !== 'secretKeyRef') || field in REF_KINDS;
    if (isRefField && ('name' in value || 'external' in value)) refs.push({ owner: o, path, field, ref: value });
    else for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`, k);
  };
  walk(o.spec, 'spec', 'spec');
  return refs;
}

/** Problems with the references of a render; empty when everything holds. */
export function referenceProblems(config: Config, objects: readonly Manifest[]): string[] {
  const names = platformNames(config);
  const project = config.project.id;
  const num = config.project.number;
  const problems: string[] = [];
  const kcc = objects.filter(isKcc);
  const lookup = (kind: string, name: string, namespace?: string) =>
    kcc.find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
  const allowedExternal = new Set([project, `projects/${project}`]);

  for (const r of kcc.flatMap(collectRefs)) {
    const where = `${id(r.owner)} ${r.path}`;
    const kind = r.field === 'resourceRef' ? r.ref.kind : REF_KINDS[r.field];
    if (!kind) {
      problems.push(`${where}: ref field ${r.field} has no expected kind in REF_KINDS`);
      continue;
    }
    if ('name' in r.ref && 'external' in r.ref) problems.push(`${where}: sets both name and external`);
    if ('name' in r.ref && !lookup(kind, r.ref.name, r.ref.namespace ?? r.owner.metadata.namespace))
      problems.push(`${where}: no ${kind} named ${r.ref.name} in the render`);
    if ('external' in r.ref && !allowedExternal.has(r.ref.external)) problems.push(`${where}: external ${r.ref.external} is not built from the config`);
  }

  // Keys: the grants each consumer's service agent needs, and the location each consumer needs.
  const keyByName = (name: string) => lookup('KMSCryptoKey', name);
  const ringOf = (key: Manifest) => lookup('KMSKeyRing', key.spec.keyRingRef?.name);
  const keyPathOf = (key: Manifest) => {
    const ring = ringOf(key);
    return ring && `projects/${project}/locations/${ring.spec.location}/keyRings/${ring.metadata.name}/cryptoKeys/${key.metadata.name}`;
  };
  const keyByPath = (path: string) => kcc.find((o) => o.kind === 'KMSCryptoKey' && keyPathOf(o) === path);
  const grantedTo = (key: Manifest, member: { email?: string; serviceIdentity?: string }) =>
    kcc.some(
      (o) =>
        o.kind === 'IAMPolicyMember' &&
        o.spec.role === ENCRYPTER &&
        o.spec.resourceRef?.kind === 'KMSCryptoKey' &&
        o.spec.resourceRef?.name === key.metadata.name &&
        (member.email ? o.spec.member === `serviceAccount:${member.email}` : o.spec.memberFrom?.serviceIdentityRef?.name === member.serviceIdentity),
    );
  const consumers: { who: string; key?: Manifest; keyDesc: string; location: string; agent: { email?: string; serviceIdentity?: string } }[] = [];
  for (const o of kcc) {
    if (o.kind === 'SQLInstance' && o.spec.encryptionKMSCryptoKeyRef)
      consumers.push({
        who: id(o),
        key: keyByName(o.spec.encryptionKMSCryptoKeyRef.name),
        keyDesc: o.spec.encryptionKMSCryptoKeyRef.name,
        location: o.spec.region,
        agent: { serviceIdentity: 'sqladmin.googleapis.com' },
      });
    if (o.kind === 'StorageBucket' && o.spec.encryption)
      consumers.push({
        who: id(o),
        key: keyByName(o.spec.encryption.kmsKeyRef.name),
        keyDesc: o.spec.encryption.kmsKeyRef.name,
        location: o.spec.location,
        agent: { email: `service-${num}@gs-project-accounts.iam.gserviceaccount.com` },
      });
    if (o.kind === 'ContainerCluster' && o.spec.databaseEncryption)
      consumers.push({
        who: id(o),
        key: keyByPath(o.spec.databaseEncryption.keyName),
        keyDesc: o.spec.databaseEncryption.keyName,
        location: o.spec.location,
        agent: { email: `service-${num}@container-engine-robot.iam.gserviceaccount.com` },
      });
    if (o.kind === 'ContainerNodePool' && o.spec.nodeConfig?.bootDiskKMSCryptoKeyRef)
      consumers.push({
        who: id(o),
        key: keyByName(o.spec.nodeConfig.bootDiskKMSCryptoKeyRef.name),
        keyDesc: o.spec.nodeConfig.bootDiskKMSCryptoKeyRef.name,
        location: o.spec.location,
        agent: { email: `service-${num}@compute-system.iam.gserviceaccount.com` },
      });
  }
  // Persistent disks of other charts' StorageClasses are encrypted by Compute Engine in the cluster's region.
  for (const o of objects.filter((x) => x.kind === 'StorageClass' && x.parameters?.['disk-encryption-kms-key']))
    consumers.push({
      who: id(o),
      key: keyByPath(o.parameters['disk-encryption-kms-key']),
      keyDesc: o.parameters['disk-encryption-kms-key'],
      location: config.project.region,
      agent: { email: `service-${num}@compute-system.iam.gserviceaccount.com` },
    });
  for (const c of consumers) {
    if (!c.key) {
      problems.push(`${c.who}: key ${c.keyDesc} is not rendered`);
      continue;
    }
    if (!grantedTo(c.key, c.agent))
      problems.push(`${c.who}: key ${c.key.metadata.name} has no ${ENCRYPTER} grant for ${c.agent.email ?? c.agent.serviceIdentity}`);
    const ringLocation = ringOf(c.key)?.spec.location;
    if (String(ringLocation).toLowerCase() !== String(c.location).toLowerCase())
      problems.push(`${c.who}: key ${c.key.metadata.name} is in ${ringLocation}, the resource in ${c.location}`);
  }

  // Plain-string references: no Config Connector ordering, so they must be exact.
  for (const o of kcc.filter((x) => x.kind === 'SQLInstance')) {
    const range = o.spec.settings.ipConfiguration?.allocatedIpRange;
    const address = range && lookup('ComputeAddress', range);
    if (!address || address.spec.purpose !== 'VPC_PEERING' || address.spec.location !== 'global')
      problems.push(`${id(o)}: allocatedIpRange ${range} is not a rendered global VPC_PEERING address`);
    if (!kcc.some((x) => x.kind === 'ServiceNetworkingConnection' && x.spec.reservedPeeringRanges.some((r: any) => r.name === range)))
      problems.push(`${id(o)}: no ServiceNetworkingConnection peers ${range}`);
  }
  for (const o of kcc.filter((x) => x.kind === 'ContainerCluster')) {
    if (o.spec.workloadIdentityConfig?.workloadPool !== names.workloadIdentityPool)
      problems.push(`${id(o)}: workloadPool is not ${names.workloadIdentityPool}`);
    if (o.spec.databaseEncryption?.keyName !== names.kms.keyPath('gkeSecrets'))
      problems.push(`${id(o)}: databaseEncryption.keyName is not built from the config`);
  }
  return problems;
}

describe('gcp reference integrity over the whole render', () => {
  const variants: { name: string; config: Config }[] = [
    ...configsUnderTest(),
    { name: 'statefulset with gpu', config: configWith({ database: { mode: 'statefulset' }, workspaces: { gpu: { enabled: true } } }) },
    { name: 'cloudsql with prefix', config: configWith({ namePrefix: 'team-a-', database: { mode: 'cloudsql' } }) },
  ];

  test.each(variants)('every ref, external, key grant and key location holds ($name)', ({ config }) => {
    const { objects } = render(config);
    expect(objects.filter(isKcc).length).toBeGreaterThan(20);
    expect(referenceProblems(config, objects)).toEqual([]);
  });

  test('Workload Identity members name the shared Kubernetes ServiceAccounts, which point back at their Google account', () => {
    for (const { config } of variants) {
      const { objects } = render(config);
      const names = platformNames(config);
      const members = objects.filter((o) => o.kind === 'IAMPolicyMember' && o.spec.role === 'roles/iam.workloadIdentityUser');
      expect(members.length).toBeGreaterThan(0);
      for (const m of members) {
        const [, ns, ksa] = /\[(.+)\/(.+)\]$/.exec(m.spec.member) ?? [];
        const gsa = Object.values(names.serviceAccounts).find((a) => a.accountId === m.spec.resourceRef.name);
        expect([gsa?.kubernetes, ...(gsa?.alsoKubernetes ?? [])]).toContainEqual({ namespace: ns, name: ksa });
        const rendered = objects.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === ksa && o.metadata.namespace === ns);
        // Charts not written yet render no KSA; once one exists it must name this Google account.
        if (rendered) expect(rendered.metadata.annotations?.['iam.gke.io/gcp-service-account']).toBe(gsa!.email);
      }
    }
  });

  describe('the check catches broken references', () => {
    const config = configWith({ database: { mode: 'cloudsql' } });
    const fresh = () => structuredClone(render(config).objects);

    test('a name ref to a missing object', () => {
      const objects = fresh();
      objects.find((o) => o.kind === 'ContainerNodePool')!.spec.clusterRef.name = 'other-cluster';
      expect(referenceProblems(config, objects).join('\n')).toMatch(/clusterRef: no ContainerCluster named other-cluster/);
    });

    test('an external ref not built from the config', () => {
      const objects = fresh();
      objects.find((o) => o.kind === 'Service')!.spec.projectRef.external = 'someone-elses-project';
      expect(referenceProblems(config, objects).join('\n')).toMatch(/external someone-elses-project is not built from the config/);
    });

    test('a key without the grant for its consumer', () => {
      const objects = fresh().filter((o) => !(o.kind === 'IAMPolicyMember' && /encrypter-storage$/.test(o.metadata.name)));
      expect(referenceProblems(config, objects).join('\n')).toMatch(/StorageBucket\/.*has no roles\/cloudkms.cryptoKeyEncrypterDecrypter grant/);
    });

    test('a key in another location than its consumer', () => {
      const objects = fresh();
      objects.find((o) => o.kind === 'KMSKeyRing')!.spec.location = 'us-central1';
      const problems = referenceProblems(config, objects).join('\n');
      expect(problems).toMatch(/SQLInstance\/.* is in us-central1, the resource in europe-west1/);
      // The cluster's key is a plain path that now names a key nowhere rendered.
      expect(problems).toMatch(/ContainerCluster\/.*key projects\/.* is not rendered/);
    });

    test('a Cloud SQL range that is not peered', () => {
      const objects = fresh().filter((o) => o.kind !== 'ServiceNetworkingConnection');
      expect(referenceProblems(config, objects).join('\n')).toMatch(/no ServiceNetworkingConnection peers/);
    });
  });
});
