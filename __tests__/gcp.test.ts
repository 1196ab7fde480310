import { Testing } from 'cdk8s';
import type { Config } from '../config/schema';
import { buildModel } from '../model';
import { GcpChart, gcpChartProps, platformCustomRoles } from '../charts/gcp';
import { platformNames, workloadIdentityMember } from '../model/names';
import { configsUnderTest, configWith, DeepPartial, find, Manifest } from './support/render';
import type { ConfigInput } from '../config/schema';
import { StrictValidator } from './support/schemas';
import { strictTest } from './support/strict-tests';
import { CONTEXT_NAME } from '../charts/gcp/config-connector';
import { SQL_BACKUP_PERMISSIONS } from '../charts/gcp/cloud-sql';
import { checkedCustomRole } from '../charts/gcp/custom-role';
import { Iam } from '../charts/gcp/iam';
import { outOfBandSecrets } from '../policy/rules/references';
import { testApp, testChart } from './support/app';

function synth(config: Config): Manifest[] {
  return Testing.synth(new GcpChart(testApp(), 'gcp', gcpChartProps(buildModel(config))));
}

const cloudsql = () => configWith({ database: { mode: 'cloudsql' } });
const statefulset = () => configWith({ database: { mode: 'statefulset' } });
const gpu = () =>
  configWith({
    database: { mode: 'cloudsql' },
    workspaces: { gpu: { enabled: true, acceleratorType: 'nvidia-l4', machineType: 'g2-standard-8', count: 1, maxNodes: 3 } },
  });
const kcc = (objects: Manifest[]) => objects.filter((o) => String(o.apiVersion).includes('.cnrm.cloud.google.com/'));
const ofKind = (objects: Manifest[], kind: string) => objects.filter((o) => o.kind === kind);
const rejects = (overrides: DeepPartial<ConfigInput>) => () => gcpChartProps(buildModel(configWith(overrides)));

/** GCP resources that hold data or are hard to recreate. */
const STATEFUL_KINDS = [
  'Service',
  'ServiceIdentity',
  'KMSKeyRing',
  'KMSCryptoKey',
  'StorageBucket',
  'SQLInstance',
  'SQLDatabase',
  'SQLUser',
  'ComputeNetwork',
  'ComputeSubnetwork',
  'ComputeAddress',
  'ServiceNetworkingConnection',
  'ContainerCluster',
  'ContainerNodePool',
  'IAMServiceAccount',
  'LoggingLogBucket',
];

describe('gcp chart', () => {
  test.each([
    ['cloudsql', cloudsql],
    ['statefulset', statefulset],
    ['cloudsql with gpu', gpu],
  ])('renders the same objects as the snapshot (%s)', (_name, config) => {
    expect(synth(config())).toMatchSnapshot();
  });

  strictTest.each([
    ...configsUnderTest().map((c) => [c.name, () => c.config] as const),
    ['statefulset', statefulset] as const,
    ['cloudsql with gpu', gpu] as const,
  ])('every object validates strictly against its CRD or Kubernetes schema (%s)', (_name, config) => {
    expect(new StrictValidator().validate(synth(config()))).toEqual([]);
  });

  describe('1. APIs and identities', () => {
    test('enables every API the platform uses; Cloud SQL APIs and its service identity only in cloudsql mode', () => {
      const sql = ofKind(synth(cloudsql()), 'Service').map((o) => o.metadata.name);
      expect(sql).toEqual(
        expect.arrayContaining([
          'compute.googleapis.com',
          'container.googleapis.com',
          'cloudkms.googleapis.com',
          'storage.googleapis.com',
          'monitoring.googleapis.com',
          'logging.googleapis.com',
          'iam.googleapis.com',
          'iamcredentials.googleapis.com',
          'sqladmin.googleapis.com',
          'servicenetworking.googleapis.com',
          'iap.googleapis.com',
        ]),
      );
      for (const s of ofKind(synth(cloudsql()), 'Service')) expect(s.spec.projectRef).toEqual({ external: 'mlflow-gke-example' });
      const sts = ofKind(synth(statefulset()), 'Service').map((o) => o.metadata.name);
      expect(sts).not.toContain('sqladmin.googleapis.com');
      expect(sts).not.toContain('servicenetworking.googleapis.com');
      expect(ofKind(synth(cloudsql()), 'ServiceIdentity').map((o) => o.metadata.name)).toEqual(['sqladmin.googleapis.com']);
      expect(ofKind(synth(statefulset()), 'ServiceIdentity')).toEqual([]);
    });
  });

  describe('2. KMS', () => {
    test('one ring in the region and one key per use, rotating within 90 days, destruction delayed', () => {
      const config = configWith({ database: { mode: 'cloudsql' }, kms: { rotationPeriodDays: 30, destroyScheduledDays: 45 } });
      const objects = synth(config);
      const names = platformNames(config);
      const ring = find(objects, 'KMSKeyRing', names.kms.keyRing);
      expect(ring.spec.location).toBe('europe-west1');
      const keys = ofKind(objects, 'KMSCryptoKey');
      expect(keys.map((k) => k.metadata.name).sort()).toEqual(Object.values(names.kms.keys).sort());
      for (const k of keys) {
        expect(k.spec.keyRingRef).toEqual({ name: names.kms.keyRing });
        expect(k.spec.rotationPeriod).toBe(`${30 * 86400}s`);
        expect(k.spec.destroyScheduledDuration).toBe(`${45 * 86400}s`);
        expect(k.spec.purpose).toBe('ENCRYPT_DECRYPT');
      }
      expect(ofKind(synth(statefulset()), 'KMSCryptoKey').map((k) => k.metadata.name)).not.toContain(names.kms.keys.sql);
    });

    test('each key is granted to its consuming service agent, derived from the project number', () => {
      const config = configWith({ database: { mode: 'cloudsql' }, project: { number: '999888777666' } });
      const grants = ofKind(synth(config), 'IAMPolicyMember').filter((m) => m.spec.role === 'roles/cloudkms.cryptoKeyEncrypterDecrypter');
      const byKey = Object.fromEntries(grants.map((g) => [g.spec.resourceRef.name, g.spec.member ?? g.spec.memberFrom]));
      const k = platformNames(config).kms.keys;
      expect(byKey).toEqual({
        [k.sql]: { serviceIdentityRef: { name: 'sqladmin.googleapis.com' } },
        [k.gcs]: 'serviceAccount:service-999888777666@gs-project-accounts.iam.gserviceaccount.com',
        [k.gkeSecrets]: 'serviceAccount:service-999888777666@container-engine-robot.iam.gserviceaccount.com',
        [k.disk]: 'serviceAccount:service-999888777666@compute-system.iam.gserviceaccount.com',
      });
      for (const g of grants) expect(g.spec.resourceRef.kind).toBe('KMSCryptoKey');
    });

    test('rotation periods above 90 days or of one day are rejected', () => {
      expect(() => configWith({ kms: { rotationPeriodDays: 91 } })).toThrow(
        /kms\.rotationPeriodDays: 91 is not allowed: must be a whole number of days from 2 to 90/,
      );
      expect(() => configWith({ kms: { rotationPeriodDays: 1 } })).toThrow(
        /kms\.rotationPeriodDays: 1 is not allowed: must be a whole number of days from 2 to 90/,
      );
    });
  });

  describe('3. artifact bucket', () => {
    test('private, versioned, soft-deleting, CMEK, with lifecycle rules from the config', () => {
      const config = configWith({
        storage: { noncurrentVersionDays: 60, abortIncompleteUploadDays: 2, softDeleteDays: 30, ageRules: [{ prefix: 'tmp/', days: 14 }] },
      });
      const names = platformNames(config);
      const b = find(synth(config), 'StorageBucket', names.bucket);
      expect(b.spec).toMatchObject({
        location: 'europe-west1',
        uniformBucketLevelAccess: true,
        publicAccessPrevention: 'enforced',
        versioning: { enabled: true },
        softDeletePolicy: { retentionDurationSeconds: 30 * 86400 },
        encryption: { kmsKeyRef: { name: names.kms.keys.gcs } },
      });
      expect(b.spec.lifecycleRule).toEqual([
        { action: { type: 'Delete' }, condition: { withState: 'ARCHIVED', daysSinceNoncurrentTime: 60 } },
        { action: { type: 'AbortIncompleteMultipartUpload' }, condition: { age: 2 } },
        { action: { type: 'Delete' }, condition: { age: 14, matchesPrefix: ['tmp/'] } },
      ]);
      expect(b.metadata.annotations['cnrm.cloud.google.com/force-destroy']).toBe('false');
    });

    test('only the MLflow account (and the backup account in statefulset mode) get object access', () => {
      const access = (config: Config) =>
        ofKind(synth(config), 'IAMPolicyMember')
          .filter((m) => m.spec.resourceRef.kind === 'StorageBucket')
          .map((m) => `${m.spec.memberFrom.serviceAccountRef.name} ${m.spec.role}`);
      expect(access(cloudsql())).toEqual(['mlflow-server roles/storage.objectUser']);
      expect(access(statefulset())).toEqual([
        'mlflow-server roles/storage.objectUser',
        'mlflow-db-backup roles/storage.objectCreator',
        'mlflow-db-backup roles/storage.objectViewer',
      ]);
    });

    test('statefulset backups sit in a bucket of their own, with a retention policy, where only the backup account writes (create only) and reads', () => {
      const config = configWith({ database: { mode: 'statefulset', statefulset: { backup: { retentionDays: 45, deleteAfterDays: 400 } } } });
      const objects = synth(config);
      const names = platformNames(config);
      const b = find(objects, 'StorageBucket', names.backupBucket);
      expect(names.backupBucket).toBe('mlflow-gke-example-mlflow-db-backups');
      expect(b.metadata.annotations).toMatchObject({ 'cnrm.cloud.google.com/deletion-policy': 'abandon', 'cnrm.cloud.google.com/force-destroy': 'false' });
      expect(b.spec).toMatchObject({
        uniformBucketLevelAccess: true,
        publicAccessPrevention: 'enforced',
        retentionPolicy: { retentionPeriod: 45 * 86400 },
        versioning: { enabled: false },
        encryption: { kmsKeyRef: { name: names.kms.keys.gcs } },
      });
      expect(b.spec.retentionPolicy.isLocked).toBeUndefined();
      expect(b.spec.lifecycleRule).toContainEqual({ action: { type: 'Delete' }, condition: { age: 400 } });
      const grants = (bucket: string) =>
        ofKind(objects, 'IAMPolicyMember')
          .filter((m) => m.spec.resourceRef.kind === 'StorageBucket' && m.spec.resourceRef.name === bucket)
          .map((m) => `${m.spec.memberFrom.serviceAccountRef.name} ${m.spec.role}${m.spec.condition ? ' (conditional)' : ''}`)
          .sort();
      expect(grants(names.backupBucket)).toEqual(['mlflow-db-backup roles/storage.objectCreator', 'mlflow-db-backup roles/storage.objectViewer']);
      // The server's account, which can delete in the artifact bucket, has no grant on the backups; the
      // backup account none on the artifacts.
      expect(grants(names.bucket)).toEqual(['mlflow-server roles/storage.objectUser']);
      // Without deleteAfterDays the dumps stay; cloudsql mode has no backup bucket.
      expect(find(synth(statefulset()), 'StorageBucket', names.backupBucket).spec.lifecycleRule.some((r: any) => r.action.type === 'Delete')).toBe(false);
      expect(ofKind(synth(cloudsql()), 'StorageBucket').map((o) => o.metadata.name)).toEqual([names.bucket]);
    });

    test('deleteAfterDays shorter than retentionDays is refused at the config', () => {
      expect(rejects({ database: { mode: 'statefulset', statefulset: { backup: { retentionDays: 30, deleteAfterDays: 7 } } } })).toThrow(
        /database\.statefulset\.backup\.deleteAfterDays.*must be at least retentionDays/,
      );
    });
  });

  describe('4. Cloud SQL', () => {
    test('private, IAM-authenticated, encrypted, highly available, backed up instance with database and IAM user', () => {
      const config = configWith({
        database: {
          mode: 'cloudsql',
          cloudsql: {
            version: 'POSTGRES_17',
            tier: 'db-custom-4-15360',
            availability: 'REGIONAL',
            backupRetentionCount: 21,
            pointInTimeRecoveryDays: 5,
            maintenanceDay: 6,
            maintenanceHour: 1,
          },
        },
      });
      const names = platformNames(config);
      const objects = synth(config);
      const i = find(objects, 'SQLInstance', names.cloudSql.instance);
      expect(i.spec.region).toBe('europe-west1');
      expect(i.spec.databaseVersion).toBe('POSTGRES_17');
      expect(i.spec.encryptionKMSCryptoKeyRef).toEqual({ name: names.kms.keys.sql });
      const st = i.spec.settings;
      expect(st).toMatchObject({
        edition: 'ENTERPRISE',
        tier: 'db-custom-4-15360',
        availabilityType: 'REGIONAL',
        deletionProtectionEnabled: true,
        connectorEnforcement: 'REQUIRED',
      });
      expect(st.backupConfiguration).toMatchObject({
        enabled: true,
        pointInTimeRecoveryEnabled: true,
        transactionLogRetentionDays: 5,
        backupRetentionSettings: { retainedBackups: 21, retentionUnit: 'COUNT' },
        startTime: '23:00',
      });
      expect(st.ipConfiguration).toEqual({
        ipv4Enabled: false,
        privateNetworkRef: { name: 'mlflow-gke-vpc' },
        allocatedIpRange: 'mlflow-gke-private-services',
        sslMode: 'ENCRYPTED_ONLY',
      });
      expect(st.databaseFlags).toContainEqual({ name: 'cloudsql.iam_authentication', value: 'on' });
      expect(st.insightsConfig.queryInsightsEnabled).toBe(true);
      expect(st.maintenanceWindow).toMatchObject({ day: 6, hour: 1 });
      expect(find(objects, 'SQLDatabase', 'mlflow').spec).toMatchObject({ instanceRef: { name: names.cloudSql.instance }, deletionPolicy: 'ABANDON' });
      // An IAM database user each for the server, the migration and gc.
      for (const [account, user] of [
        [names.serviceAccounts.mlflow, names.cloudSql.iamUser],
        [names.serviceAccounts.mlflowMigrate, names.cloudSql.migrateIamUser],
        [names.serviceAccounts.mlflowGc, names.cloudSql.gcIamUser],
      ] as const)
        expect(find(objects, 'SQLUser', account.accountId).spec).toEqual({
          instanceRef: { name: names.cloudSql.instance },
          resourceID: user,
          type: 'CLOUD_IAM_SERVICE_ACCOUNT',
        });
      expect(ofKind(objects, 'SQLUser').map((u) => u.spec.resourceID ?? u.metadata.name)).toEqual([
        names.cloudSql.iamUser,
        names.cloudSql.migrateIamUser,
        names.cloudSql.gcIamUser,
        names.cloudSql.adminUser,
      ]);
      // None of the three may touch a bucket but the server.
      const bucketGrants = ofKind(objects, 'IAMPolicyMember').filter((m) => m.spec.resourceRef.kind === 'StorageBucket');
      expect(bucketGrants.map((m) => m.spec.memberFrom?.serviceAccountRef?.name)).toEqual([names.serviceAccounts.mlflow.accountId]);
      expect(find(objects, 'ComputeAddress', 'mlflow-gke-private-services').spec).toMatchObject({
        location: 'global',
        addressType: 'INTERNAL',
        purpose: 'VPC_PEERING',
        address: '10.30.0.0',
        prefixLength: 16,
      });
      expect(ofKind(objects, 'ServiceNetworkingConnection')[0].spec).toEqual({
        networkRef: { name: 'mlflow-gke-vpc' },
        service: 'servicenetworking.googleapis.com',
        reservedPeeringRanges: [{ name: 'mlflow-gke-private-services' }],
      });
    });

    // Config Connector v1.155.1 (the CRDs' release), pkg/controller/direct/sql/sqlinstance_defaults.go:
    // with spec.settings.diskSize unset and diskAutoresize on, the desired size is the actual one; set,
    // it is diffed against the grown disk (sqlinstance_equality.go, ".settings.dataDiskSizeGb") and
    // sent as an update that would shrink the disk, which Cloud SQL refuses (CRD: "Size of a running
    // instance cannot be reduced").
    test('the disk grows automatically and no fixed size is rendered that would fight the grown disk', () => {
      const st = find(synth(cloudsql()), 'SQLInstance', platformNames(cloudsql()).cloudSql.instance).spec.settings;
      expect(st.diskAutoresize).toBe(true);
      expect(st).not.toHaveProperty('diskSize');
      expect(st.diskAutoresizeLimit).toBe(0);
      const capped = configWith({ database: { mode: 'cloudsql', cloudsql: { diskAutoresizeLimitGb: 500 } } });
      expect(find(synth(capped), 'SQLInstance', platformNames(capped).cloudSql.instance).spec.settings.diskAutoresizeLimit).toBe(500);
    });

    test('a config that still sets diskSizeGb is refused with what to do instead; a limit below 10 GB is refused', () => {
      expect(() => configWith({ database: { cloudsql: { diskSizeGb: 50 } as never } })).toThrow(
        /database\.cloudsql\.diskSizeGb: 50 is no longer a setting: .*shrink.*Remove it.*gcloud sql instances patch INSTANCE --storage-size=GB.*database\.cloudsql\.diskAutoresizeLimitGb/,
      );
      expect(() => configWith({ database: { cloudsql: { diskAutoresizeLimitGb: 5 } } })).toThrow(
        /database\.cloudsql\.diskAutoresizeLimitGb: 5 is not allowed: must be 0 \(no limit\) or a whole number of GB from 10 up/,
      );
      expect(() => configWith({ database: { cloudsql: { diskAutoresizeLimitGb: 0 } } })).not.toThrow();
    });

    test('statefulset mode renders no Cloud SQL objects and no private services access', () => {
      const objects = synth(statefulset());
      for (const kind of ['SQLInstance', 'SQLDatabase', 'SQLUser', 'ServiceNetworkingConnection']) expect(ofKind(objects, kind)).toEqual([]);
    });

    test('a tier that does not match the edition is rejected with the field path', () => {
      expect(rejects({ database: { mode: 'cloudsql', cloudsql: { edition: 'ENTERPRISE_PLUS', tier: 'db-custom-2-7680' } } })).toThrow(
        'database.cloudsql.tier: "db-custom-2-7680" is not allowed: must be a db-perf-optimized-N-* tier while database.cloudsql.edition is ENTERPRISE_PLUS',
      );
      expect(rejects({ database: { mode: 'cloudsql', cloudsql: { edition: 'ENTERPRISE', tier: 'db-perf-optimized-N-4' } } })).toThrow(
        /database\.cloudsql\.tier: "db-perf-optimized-N-4" is not allowed/,
      );
      expect(rejects({ database: { mode: 'statefulset', cloudsql: { edition: 'ENTERPRISE_PLUS' } } })).not.toThrow();
    });
  });

  describe('5. network', () => {
    test('custom-mode VPC, subnet with secondary ranges, private Google access, flow logs, NAT, global IP and SSL policy', () => {
      const config = configWith({ network: { flowLogSampling: 0.25 } });
      const names = platformNames(config);
      const objects = synth(config);
      expect(find(objects, 'ComputeNetwork', 'mlflow-gke-vpc').spec).toEqual({ autoCreateSubnetworks: false, routingMode: 'REGIONAL' });
      const subnet = find(objects, 'ComputeSubnetwork', 'mlflow-gke-nodes').spec;
      expect(subnet).toMatchObject({ region: 'europe-west1', ipCidrRange: '10.10.0.0/20', privateIpGoogleAccess: true, logConfig: { flowSampling: 0.25 } });
      expect(subnet.secondaryIpRange).toEqual([
        { rangeName: 'pods', ipCidrRange: '10.16.0.0/14' },
        { rangeName: 'services', ipCidrRange: '10.20.0.0/20' },
      ]);
      expect(find(objects, 'ComputeRouterNAT', 'mlflow-gke-nat').spec).toMatchObject({
        routerRef: { name: 'mlflow-gke-router' },
        natIpAllocateOption: 'AUTO_ONLY',
      });
      expect(find(objects, 'ComputeAddress', names.globalAddress).spec).toMatchObject({ location: 'global', addressType: 'EXTERNAL' });
      expect(find(objects, 'ComputeSSLPolicy', names.sslPolicy).spec).toMatchObject({ profile: 'MODERN', minTlsVersion: 'TLS_1_2' });
    });

    test('overlapping ranges, a too small private services range and an open control plane are rejected', () => {
      expect(() => configWith({ network: { podsCidr: '10.10.0.0/14' } })).toThrow(/network\.podsCidr: .*must not overlap subnetCidr \(10\.10\.0\.0\/20\)/);
      expect(() => configWith({ network: { privateServicesCidr: '10.30.0.0/25' } })).toThrow(
        /network\.privateServicesCidr: .*must be a range of \/24 or larger/,
      );
      expect(() => configWith({ network: { authorizedNetworks: [{ name: 'all', cidr: '0.0.0.0/0' }] } })).toThrow(
        /network\.authorizedNetworks\[0\]\.cidr: .*must not be 0\.0\.0\.0\/0/,
      );
    });
  });

  describe('6. GKE cluster', () => {
    test('private, Workload Identity, Dataplane V2, shielded, secrets encrypted, hardened cluster', () => {
      const config = configWith({ cluster: { releaseChannel: 'STABLE', maintenanceStartTime: '22:30', maintenanceWindowHours: 6 } });
      const names = platformNames(config);
      const c = find(synth(config), 'ContainerCluster', names.cluster);
      expect(c.metadata.annotations['cnrm.cloud.google.com/remove-default-node-pool']).toBe('true');
      expect(c.spec).toMatchObject({
        location: 'europe-west1',
        privateClusterConfig: { enablePrivateNodes: true, masterIpv4CidrBlock: '172.16.0.0/28' },
        masterAuthorizedNetworksConfig: { gcpPublicCidrsAccessEnabled: false, cidrBlocks: [{ cidrBlock: '203.0.113.0/24', displayName: 'office' }] },
        workloadIdentityConfig: { workloadPool: 'mlflow-gke-example.svc.id.goog' },
        datapathProvider: 'ADVANCED_DATAPATH',
        enableShieldedNodes: true,
        enableLegacyAbac: false,
        masterAuth: { clientCertificateConfig: { issueClientCertificate: false } },
        databaseEncryption: { state: 'ENCRYPTED', keyName: names.kms.keyPath('gkeSecrets') },
        releaseChannel: { channel: 'STABLE' },
        monitoringConfig: { managedPrometheus: { enabled: true } },
        loggingConfig: { enableComponents: ['SYSTEM_COMPONENTS', 'WORKLOADS'] },
        maintenancePolicy: { recurringWindow: { startTime: '2025-01-01T22:30:00Z', endTime: '2025-01-02T04:30:00Z', recurrence: 'FREQ=DAILY' } },
      });
      expect(c.spec.nodeConfig).toBeUndefined();
      expect(c.spec.networkPolicy).toBeUndefined();
    });

    // Basic (standard tier) workload vulnerability scanning is shut down: the GKE v1 API documents
    // VULNERABILITY_BASIC as "Deprecated: Basic vulnerability scanning is no longer supported"
    // (cloud.google.com/kubernetes-engine/docs/deprecations/posture-management-deprecation), and a
    // deprecated tier can no longer be enabled on a cluster
    // (cloud.google.com/kubernetes-engine/docs/deprecations/vulnerability-scanning-gkee). The CRD
    // (Config Connector v1.155.1) offers VULNERABILITY_DISABLED and VULNERABILITY_BASIC.
    test('security posture keeps the configuration audit and states vulnerability scanning as disabled', () => {
      const c = ofKind(synth(cloudsql()), 'ContainerCluster')[0];
      expect(c.spec.securityPostureConfig).toEqual({ mode: 'BASIC', vulnerabilityMode: 'VULNERABILITY_DISABLED' });
    });

    test('without authorized networks the control plane admits no outside network', () => {
      const c = ofKind(synth(configWith({ network: { authorizedNetworks: [] } })), 'ContainerCluster')[0];
      expect(c.spec.masterAuthorizedNetworksConfig).toEqual({ gcpPublicCidrsAccessEnabled: false });
    });

    test('node pools autoscale, self-heal, use the metadata server, a dedicated account and CMEK boot disks', () => {
      const config = configWith({ cluster: { machineType: 'e2-standard-8', minNodes: 2, maxNodes: 4 } });
      const names = platformNames(config);
      const pools = ofKind(synth(config), 'ContainerNodePool');
      expect(pools.map((p) => p.metadata.name)).toEqual([`${names.cluster}-general`, `${names.cluster}-workspaces-gvisor`]);
      for (const pool of pools)
        expect(pool.spec.nodeConfig).toMatchObject({
          serviceAccountRef: { name: names.serviceAccounts.nodes.accountId },
          workloadMetadataConfig: { mode: 'GKE_METADATA' },
          shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
          bootDiskKMSCryptoKeyRef: { name: names.kms.keys.disk },
          imageType: 'COS_CONTAINERD',
        });
      expect(pools[0].spec).toMatchObject({
        clusterRef: { name: names.cluster },
        nodeLocations: ['europe-west1-b', 'europe-west1-c', 'europe-west1-d'],
        autoscaling: { minNodeCount: 2, maxNodeCount: 4 },
        management: { autoRepair: true, autoUpgrade: true },
        nodeConfig: {
          machineType: 'e2-standard-8',
          serviceAccountRef: { name: names.serviceAccounts.nodes.accountId },
          workloadMetadataConfig: { mode: 'GKE_METADATA' },
          shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
          bootDiskKMSCryptoKeyRef: { name: names.kms.keys.disk },
          imageType: 'COS_CONTAINERD',
        },
      });
    });

    test('the GPU pool follows workspaces.gpu, the key that also gives Jupyter its GPU', () => {
      const pools = ofKind(synth(gpu()), 'ContainerNodePool');
      const gpuPool = pools.find((p) => p.spec.nodeConfig.guestAccelerator);
      // The accelerator and the runtime name the pool: both are immutable node settings.
      expect(gpuPool?.metadata.name).toBe('mlflow-gke-workspaces-l4-runc');
      expect(gpuPool?.spec.autoscaling).toMatchObject({ totalMinNodeCount: 0, totalMaxNodeCount: 3 });
      expect(gpuPool?.spec.nodeConfig).toMatchObject({ machineType: 'g2-standard-8', guestAccelerator: [{ type: 'nvidia-l4', count: 1 }] });
      expect(ofKind(synth(cloudsql()), 'ContainerNodePool').some((p) => p.spec.nodeConfig.guestAccelerator)).toBe(false);
    });
  });

  describe('7. IAM', () => {
    test('service accounts with least-privilege roles and Workload Identity for exactly the shared Kubernetes ServiceAccounts', () => {
      const config = configWith({ namePrefix: 'team-', database: { mode: 'cloudsql' } });
      const names = platformNames(config);
      const objects = synth(config);
      expect(ofKind(objects, 'IAMServiceAccount').map((o) => o.metadata.name)).toEqual([
        'team-mlflow-server',
        'team-mlflow-migrate',
        'team-mlflow-sql-backup',
        'team-mlflow-gc',
        'team-mlflow-sql-grant',
        'team-gke-nodes',
      ]);
      // Service-account grants only: the edge's IAP grants (member, not memberFrom) are tested in edge.test.ts.
      const grants = ofKind(objects, 'IAMPolicyMember')
        .filter((m) => m.spec.resourceRef.kind === 'Project' && m.spec.memberFrom)
        .map((m) => `${m.spec.memberFrom.serviceAccountRef.name} ${m.spec.role}`);
      expect(grants.sort()).toEqual([
        'team-gke-nodes roles/container.defaultNodeServiceAccount',
        // The migration and gc log in as their own IAM users, on the instance only, like the server.
        'team-mlflow-gc roles/cloudsql.client',
        'team-mlflow-gc roles/cloudsql.instanceUser',
        'team-mlflow-migrate roles/cloudsql.client',
        'team-mlflow-migrate roles/cloudsql.instanceUser',
        'team-mlflow-server roles/cloudsql.client',
        'team-mlflow-server roles/cloudsql.instanceUser',
        // The pre-migration backup: its custom role, and nothing else (the backup gate's tests below).
        'team-mlflow-sql-backup projects/mlflow-gke-example/roles/team_mlflow_sql_backup',
        // The grant Job's proxy connects; it logs in with a password, so no instanceUser.
        'team-mlflow-sql-grant roles/cloudsql.client',
      ]);
      const wi = ofKind(objects, 'IAMPolicyMember').filter((m) => m.spec.role === 'roles/iam.workloadIdentityUser');
      expect(wi.map((m) => [m.spec.resourceRef, m.spec.member])).toEqual([
        [{ kind: 'IAMServiceAccount', name: 'team-mlflow-server' }, workloadIdentityMember(names, names.serviceAccounts.mlflow.kubernetes!)],
        [
          { kind: 'IAMServiceAccount', name: 'team-mlflow-migrate' },
          workloadIdentityMember(names, { namespace: names.namespaces.platform, name: 'team-mlflow-migrate' }),
        ],
        [
          { kind: 'IAMServiceAccount', name: 'team-mlflow-gc' },
          workloadIdentityMember(names, { namespace: names.namespaces.platform, name: 'team-mlflow-gc' }),
        ],
        [{ kind: 'IAMServiceAccount', name: 'team-mlflow-sql-grant' }, workloadIdentityMember(names, names.serviceAccounts.sqlGrant.kubernetes!)],
      ]);
      const sts = configWith({ database: { mode: 'statefulset' } });
      const stsNames = platformNames(sts);
      expect(
        ofKind(synth(sts), 'IAMPolicyMember')
          .filter((m) => m.spec.role === 'roles/iam.workloadIdentityUser')
          .map((m) => m.spec.member),
      ).toEqual([
        workloadIdentityMember(stsNames, stsNames.serviceAccounts.mlflow.kubernetes!),
        workloadIdentityMember(stsNames, stsNames.serviceAccounts.dbBackup.kubernetes!),
        // The migration Job uploads its backup gate's dump as the backup's account: its only Google identity.
        workloadIdentityMember(stsNames, { namespace: stsNames.namespaces.platform, name: stsNames.mlflowJobServiceAccounts.migrate }),
      ]);
    });

    // Cloud SQL has no instance-level policy: its roles are granted on the project with the condition
    // Google gives for "Allow users to connect to specific instances"
    // (cloud.google.com/sql/docs/postgres/iam-conditions).
    test('every Cloud SQL role is granted on the platform instance only, under a new object name (the condition is immutable)', () => {
      const config = configWith({ namePrefix: 'team-', database: { mode: 'cloudsql' } });
      const sql = ofKind(synth(config), 'IAMPolicyMember').filter((m) => String(m.spec.role).startsWith('roles/cloudsql.'));
      expect(sql.map((m) => m.metadata.name).sort()).toEqual([
        'team-mlflow-gc-client-instance-only',
        'team-mlflow-gc-instanceuser-instance-only',
        'team-mlflow-migrate-client-instance-only',
        'team-mlflow-migrate-instanceuser-instance-only',
        'team-mlflow-server-client-instance-only',
        'team-mlflow-server-instanceuser-instance-only',
        'team-mlflow-sql-grant-client-instance-only',
      ]);
      for (const m of sql)
        expect(m.spec.condition).toEqual({
          title: 'instance-only',
          description: 'Only the Cloud SQL instance team-mlflow-metadata',
          expression: "resource.name == 'projects/mlflow-gke-example/instances/team-mlflow-metadata' && resource.type == 'sqladmin.googleapis.com/Instance'",
        });
      // The grant the condition replaces is gone under its old name: Flux prunes it.
      expect(ofKind(synth(config), 'IAMPolicyMember').map((m) => m.metadata.name)).not.toContain('team-mlflow-server-client');
    });

    describe("the migration's pre-migration backup (cloudsql mode)", () => {
      const config = () => configWith({ namePrefix: 'team-', database: { mode: 'cloudsql' } });

      test('its custom role holds exactly the Admin API permissions the backup gate uses; the bootstrap script makes it, Config Connector only binds it', () => {
        const roles = platformCustomRoles(buildModel(config()));
        expect(roles.map((r) => [r.roleId, r.title])).toEqual([['team_mlflow_sql_backup', 'MLflow pre-migration backup']]);
        // backupRuns.insert, backupRuns.get, backupRuns.list (the fallback), operations.get
        // (cloud.google.com/sql/docs/postgres/project-access-control, .../iam-permissions).
        expect(roles[0].permissions).toEqual(['cloudsql.backupRuns.create', 'cloudsql.backupRuns.get', 'cloudsql.backupRuns.list', 'cloudsql.instances.get']);
        expect(SQL_BACKUP_PERMISSIONS).toEqual(roles[0].permissions);
        // No IAMCustomRole object: Config Connector would need Role Administrator over every custom role.
        expect(synth(config()).filter((o) => o.kind === 'IAMCustomRole')).toEqual([]);
        const grants = ofKind(synth(config()), 'IAMPolicyMember').filter((m) => m.spec.memberFrom?.serviceAccountRef?.name === 'team-mlflow-sql-backup');
        expect(grants.map((m) => m.spec.role)).toEqual(['projects/mlflow-gke-example/roles/team_mlflow_sql_backup']);
      });

      test('the role is bound on the project for the platform instance and what lies below it only', () => {
        const [grant] = ofKind(synth(config()), 'IAMPolicyMember').filter((m) => m.spec.role === 'projects/mlflow-gke-example/roles/team_mlflow_sql_backup');
        expect(grant.metadata.name).toBe('team-mlflow-sql-backup-team-mlflow-sql-backup-instance-and-backups');
        expect(grant.spec.resourceRef).toEqual({ kind: 'Project', external: 'projects/mlflow-gke-example' });
        expect(grant.spec.condition).toEqual({
          title: 'instance-and-backups',
          description: 'Only the Cloud SQL instance team-mlflow-metadata and its backups',
          expression:
            "resource.service == 'sqladmin.googleapis.com' && (resource.name == 'projects/mlflow-gke-example/instances/team-mlflow-metadata' || " +
            "resource.name.startsWith('projects/mlflow-gke-example/instances/team-mlflow-metadata/'))",
        });
      });

      test('only the migration may act as the backup account: a token creator grant on that account alone, and no pod runs as it', () => {
        const objects = synth(config());
        const creators = ofKind(objects, 'IAMPolicyMember').filter((m) => m.spec.role === 'roles/iam.serviceAccountTokenCreator');
        expect(creators.map((m) => [m.metadata.name, m.spec.resourceRef, m.spec.memberFrom, m.spec.member])).toEqual([
          [
            'team-mlflow-sql-backup-token-creator-team-mlflow-migrate',
            { kind: 'IAMServiceAccount', name: 'team-mlflow-sql-backup' },
            { serviceAccountRef: { name: 'team-mlflow-migrate' } },
            undefined,
          ],
        ]);
        const onBackup = ofKind(objects, 'IAMPolicyMember').filter(
          (m) => m.spec.resourceRef.kind === 'IAMServiceAccount' && m.spec.resourceRef.name === 'team-mlflow-sql-backup',
        );
        expect(onBackup).toEqual(creators);
        // The account the Job acts as directly (Workload Identity) is the migration's, never the backup's.
        expect(platformNames(config()).serviceAccounts.mlflowSqlBackup.kubernetes).toBeUndefined();
      });

      test('no backup account, role or token grant in statefulset mode', () => {
        const objects = synth(statefulset());
        expect(platformCustomRoles(buildModel(statefulset()))).toEqual([]);
        expect(ofKind(objects, 'IAMServiceAccount').map((o) => o.metadata.name)).not.toContain('mlflow-sql-backup');
        expect(ofKind(objects, 'IAMPolicyMember').filter((m) => m.spec.role === 'roles/iam.serviceAccountTokenCreator')).toEqual([]);
      });

      test('the token grant names only accounts of the chart', () => {
        const scope = { project: 'p-123456', projectNumber: '1', region: 'europe-west1', namespace: 'gcp' };
        const chart = testChart();
        expect(
          () => new Iam(chart, 'iam', { scope, serviceAccounts: [{ accountId: 'backup', displayName: 'b', description: 'b', tokenCreators: ['elsewhere'] }] }),
        ).toThrow('service account backup: token creator elsewhere is not a service account of this chart');
      });

      test('a custom role IAM or the bootstrap script would refuse stops the render', () => {
        const role = { title: 't', description: 'd', permissions: ['cloudsql.instances.get'] };
        expect(() => checkedCustomRole({ ...role, roleId: 'team-a-role' })).toThrow(
          'custom role id "team-a-role": must be 3 to 64 letters, digits, "_" or "."',
        );
        expect(() => checkedCustomRole({ ...role, roleId: 'ok_id', permissions: [] })).toThrow('custom role ok_id: no permissions');
        expect(() => checkedCustomRole({ ...role, roleId: 'ok_id', description: 'a|b' })).toThrow('custom role ok_id: "a|b" holds "|", "," or a line break');
        expect(checkedCustomRole({ ...role, roleId: 'ok_id', permissions: ['b.c.d', 'a.b.c'] }).permissions).toEqual(['a.b.c', 'b.c.d']);
      });

      test('the Identity and Access Management Credentials API the impersonation calls is enabled', () => {
        // google-auth's impersonated credentials call iamcredentials.googleapis.com generateAccessToken.
        expect(ofKind(synth(config()), 'Service').map((o) => o.metadata.name)).toContain('iamcredentials.googleapis.com');
      });
    });

    test('grants are additive: no authoritative IAMPolicy anywhere', () => {
      for (const config of [cloudsql(), statefulset()])
        expect(synth(config).filter((o) => o.kind === 'IAMPolicy' || o.kind === 'IAMPartialPolicy')).toEqual([]);
    });
  });

  // Cloud SQL audit logs carry the service name cloudsql.googleapis.com, not the API name
  // sqladmin.googleapis.com (cloud.google.com/sql/docs/audit-logging, "Service name"); an audit config
  // for the API name enables nothing.
  test('8. data-access audit logs for Cloud Storage, Cloud SQL, Cloud KMS and IAP, by their audit service names', () => {
    const audits = ofKind(synth(cloudsql()), 'IAMAuditConfig');
    expect(audits.map((a) => a.spec.service).sort()).toEqual([
      'cloudkms.googleapis.com',
      'cloudsql.googleapis.com',
      'iap.googleapis.com',
      'storage.googleapis.com',
    ]);
    expect(audits.map((a) => a.metadata.name).sort()).toEqual(['audit-cloudkms', 'audit-cloudsql', 'audit-iap', 'audit-storage']);
    for (const a of audits) {
      expect(a.spec.resourceRef).toEqual({ kind: 'Project', external: 'projects/mlflow-gke-example' });
      expect(a.spec.auditLogConfigs.map((c: any) => c.logType)).toEqual(expect.arrayContaining(['DATA_READ', 'DATA_WRITE']));
    }
  });

  // IAP writes Data Access audit logs for its ADMIN_READ, DATA_READ and DATA_WRITE methods
  // (cloud.google.com/iap/docs/audit-log-howto, "Methods by permission type"); ADMIN_WRITE is Admin
  // Activity, always logged and not configurable.
  test('IAP data-access audit logs: every configurable log type, on the project, without exempted members', () => {
    const iap = ofKind(synth(cloudsql()), 'IAMAuditConfig').find((a) => a.spec.service === 'iap.googleapis.com')!;
    expect(iap.spec).toEqual({
      resourceRef: { kind: 'Project', external: 'projects/mlflow-gke-example' },
      service: 'iap.googleapis.com',
      auditLogConfigs: [{ logType: 'ADMIN_READ' }, { logType: 'DATA_READ' }, { logType: 'DATA_WRITE' }],
    });
  });

  describe('9. monitoring and logging', () => {
    test('email channel, uptime check on the public host, the alert policies, one dashboard and a log bucket', () => {
      const config = configWith({
        database: { mode: 'cloudsql' },
        edge: { domain: 'ml.corp.example' },
        monitoring: { notificationEmail: 'oncall@corp.example', logRetentionDays: 400, sqlCpuPercent: 70 },
      });
      const objects = synth(config);
      const channel = ofKind(objects, 'MonitoringNotificationChannel');
      expect(channel.map((c) => [c.spec.type, c.spec.labels])).toEqual([['email', { email_address: 'oncall@corp.example' }]]);
      const uptime = ofKind(objects, 'MonitoringUptimeCheckConfig')[0];
      expect(uptime.spec.monitoredResource.filterLabels.host).toBe('mlflow.ml.corp.example');
      expect(uptime.spec.httpCheck).toMatchObject({ path: '/health', useSsl: true, validateSsl: true });
      const alerts = ofKind(objects, 'MonitoringAlertPolicy');
      expect(alerts.map((a) => a.metadata.name).sort()).toEqual([
        'mlflow-availability',
        'mlflow-container-restarts',
        'mlflow-http-5xx',
        'mlflow-pvc-usage',
        'mlflow-sql-connections',
        'mlflow-sql-cpu',
        'mlflow-sql-disk',
      ]);
      for (const a of alerts) expect(a.spec.notificationChannels).toEqual([{ name: channel[0].metadata.name }]);
      expect(find(objects, 'MonitoringAlertPolicy', 'mlflow-sql-cpu').spec.conditions[0].conditionThreshold.thresholdValue).toBe(0.7);
      expect(find(objects, 'MonitoringAlertPolicy', 'mlflow-http-5xx').spec.conditions[0].conditionPrometheusQueryLanguage.query).toContain('status=~"5.."');
      expect(ofKind(objects, 'MonitoringDashboard')).toHaveLength(1);
      expect(ofKind(objects, 'LoggingLogBucket')[0].spec).toMatchObject({ retentionDays: 400, location: 'europe-west1' });
      expect(ofKind(objects, 'LoggingLogSink')[0].spec.destination).toEqual({ loggingLogBucketRef: { name: 'mlflow-platform-logs' } });
    });

    // MLflow registers prometheus_flask_exporter with defaults_prefix="mlflow" (mlflow/mlflow,
    // mlflow/server/prometheus_exporter.py; MLflow's own tests/server/test_prometheus_exporter.py reads
    // "mlflow_http_request_total" with labels method and status), and the exporter names the counter
    // "%shttp_request_total" % prefix (rycus86/prometheus_flask_exporter). flask_http_request_total
    // does not exist on an MLflow server, so an alert on it never fires.
    test('the 5xx alert and the request charts query the counter MLflow exports', () => {
      const objects = synth(cloudsql());
      const query = find(objects, 'MonitoringAlertPolicy', 'mlflow-http-5xx').spec.conditions[0].conditionPrometheusQueryLanguage.query;
      expect(query).toBe(
        'sum(rate(mlflow_http_request_total{namespace="mlflow",status=~"5.."}[5m])) / sum(rate(mlflow_http_request_total{namespace="mlflow"}[5m])) > 0.05',
      );
      const promQueries = ofKind(objects, 'MonitoringDashboard')[0]
        .spec.mosaicLayout.tiles.map((t: any) => t.widget.xyChart.dataSets[0].timeSeriesQuery.prometheusQuery)
        .filter((q: unknown) => q !== undefined);
      expect(promQueries).toHaveLength(2);
      for (const q of promQueries) expect(q).toContain('mlflow_http_request_total{namespace="mlflow"');
      expect(JSON.stringify(objects)).not.toContain('flask_http_request');
    });

    // Data-access audit logs go to the _Default bucket (30 days) unless a sink routes them
    // (cloud.google.com/logging/docs/routing/overview; cloud.google.com/logging/docs/audit/configure-data-access);
    // their log is projects/PROJECT/logs/cloudaudit.googleapis.com%2Fdata_access (cloud.google.com/logging/docs/audit).
    test('the log sink routes the data-access audit logs of the audited services to the platform bucket', () => {
      const sink = ofKind(synth(cloudsql()), 'LoggingLogSink')[0];
      expect(sink.spec.filter).toContain(
        '(logName="projects/mlflow-gke-example/logs/cloudaudit.googleapis.com%2Fdata_access" AND protoPayload.serviceName=("storage.googleapis.com" OR "cloudsql.googleapis.com" OR "cloudkms.googleapis.com" OR "iap.googleapis.com"))',
      );
      expect(sink.spec.filter).toContain('resource.type="k8s_container"');
      expect(sink.spec.filter).not.toContain('sqladmin');
    });

    test('no Cloud SQL alerts in statefulset mode and no uptime check without a public entry', () => {
      const objects = synth(configWith({ database: { mode: 'statefulset' }, edge: { enabled: false } }));
      expect(ofKind(objects, 'MonitoringUptimeCheckConfig')).toEqual([]);
      expect(
        ofKind(objects, 'MonitoringAlertPolicy')
          .map((a) => a.metadata.name)
          .sort(),
      ).toEqual(['mlflow-container-restarts', 'mlflow-http-5xx', 'mlflow-pvc-usage']);
    });
  });

  describe('10. annotations and protection', () => {
    test.each([
      ['cloudsql', cloudsql],
      ['statefulset with gpu', () => configWith({ database: { mode: 'statefulset' }, workspaces: { gpu: { enabled: true } } })],
    ])('every Config Connector object names its project and namespace, stateful ones are abandoned and never pruned (%s)', (_n, config) => {
      const objects = synth(config());
      // The operator's own kinds configure Config Connector; they are no Google resource.
      const all = kcc(objects).filter((o) => !String(o.apiVersion).startsWith('core.cnrm.cloud.google.com/'));
      expect(all.length).toBeGreaterThan(30);
      for (const o of all) {
        const a = o.metadata.annotations;
        expect([o.kind, o.metadata.namespace, a['cnrm.cloud.google.com/project-id'], a['cnrm.cloud.google.com/state-into-spec']]).toEqual([
          o.kind,
          'mlflow-gcp',
          'mlflow-gke-example',
          'absent',
        ]);
        const stateful = STATEFUL_KINDS.includes(o.kind);
        expect([o.kind, o.metadata.name, a['cnrm.cloud.google.com/deletion-policy'], a['kustomize.toolkit.fluxcd.io/prune']]).toEqual([
          o.kind,
          o.metadata.name,
          stateful ? 'abandon' : undefined,
          stateful ? 'disabled' : undefined,
        ]);
        expect(Object.keys(o.metadata.labels ?? {}).filter((l) => l.startsWith('kustomize.toolkit.fluxcd.io/'))).toEqual([]);
      }
    });

    test('the chart holds its own protected Namespace, with the project annotation', () => {
      const ns = ofKind(synth(cloudsql()), 'Namespace');
      expect(ns).toHaveLength(1);
      expect(ns[0].metadata).toMatchObject({
        name: 'mlflow-gcp',
        annotations: { 'cnrm.cloud.google.com/project-id': 'mlflow-gke-example', 'kustomize.toolkit.fluxcd.io/prune': 'disabled' },
      });
      expect(ns[0].metadata.namespace).toBeUndefined();
    });
  });

  describe('11. Config Connector and the Cloud SQL admin', () => {
    // SQLUser CRD (k8s-config-connector v1.155.1): password.valueFrom.secretKeyRef is "a value with the
    // given key in the given Secret in the resource's namespace"; type BUILT_IN is the database's own
    // password login. Users created through Cloud SQL are members of cloudsqlsuperuser with CREATEROLE,
    // CREATEDB and LOGIN (cloud.google.com/sql/docs/postgres/users, "Other PostgreSQL users").
    test('cloudsql: a built-in admin user whose password Config Connector reads from the out-of-band Secret in the gcp namespace', () => {
      const config = configWith({ namePrefix: 'team-', database: { mode: 'cloudsql', cloudsql: { adminSecret: 'sql-admin-pw' } } });
      const names = platformNames(config);
      const objects = synth(config);
      const admin = find(objects, 'SQLUser', 'team-mlflow-admin');
      expect(names.cloudSql.adminUser).toBe('team-mlflow-admin');
      expect(admin.metadata.namespace).toBe(names.namespaces.gcp);
      expect(admin.spec).toEqual({
        instanceRef: { name: names.cloudSql.instance },
        type: 'BUILT_IN',
        password: { valueFrom: { secretKeyRef: { name: 'sql-admin-pw', key: 'password' } } },
      });
      expect(admin.metadata.annotations).toMatchObject({
        'cnrm.cloud.google.com/deletion-policy': 'abandon',
        'policy.mlflow-gke.io/external-secrets': 'sql-admin-pw',
      });
      // The policy gate, and synth's next steps, see the Secret it reads.
      const secrets = outOfBandSecrets(objects.map((manifest, doc) => ({ file: 'gcp.yaml', doc, manifest })));
      expect(secrets).toContainEqual({ namespace: names.namespaces.gcp, name: 'sql-admin-pw', keys: ['password'], readers: ['SQLUser/team-mlflow-admin'] });
      expect(admin.spec.password).not.toHaveProperty('value');
      expect(ofKind(synth(statefulset()), 'SQLUser')).toEqual([]);
    });

    test('the admin Secret name is a DNS name: anything else is refused with the field', () => {
      expect(() => configWith({ database: { cloudsql: { adminSecret: 'Admin_Password' } } })).toThrow(
        /database\.cloudsql\.adminSecret: "Admin_Password" is not allowed/,
      );
    });

    // k8s-config-connector v1.155.1, operator/pkg/apis/core/v1beta1/constants.go: "ConfigConnectorContextAllowedName
    // ... the only recognized name for the ConfigConnectorContext (CCC) object".
    test('the gcp namespace holds the ConfigConnectorContext naming the Config Connector service account', () => {
      const config = configWith({ namePrefix: 'team-', namespaces: { gcp: 'team-gcp' } });
      const names = platformNames(config);
      const contexts = ofKind(synth(config), 'ConfigConnectorContext');
      expect(contexts).toHaveLength(1);
      expect(contexts[0].apiVersion).toBe('core.cnrm.cloud.google.com/v1beta1');
      expect(contexts[0].metadata).toMatchObject({ name: CONTEXT_NAME, namespace: 'team-gcp' });
      expect(CONTEXT_NAME).toBe('configconnectorcontext.core.cnrm.cloud.google.com');
      expect(contexts[0].spec).toEqual({ googleServiceAccount: 'team-config-connector@mlflow-gke-example.iam.gserviceaccount.com', stateIntoSpec: 'Absent' });
      expect(names.serviceAccounts.configConnector.email).toBe(contexts[0].spec.googleServiceAccount);
      // Config Connector cannot create the identity it runs as: the bootstrap script does (bootstrap.test.ts).
      expect(ofKind(synth(config), 'IAMServiceAccount').map((o) => o.metadata.name)).not.toContain('team-config-connector');
    });

    strictTest('the context validates strictly against the operator CRD, which refuses one without an account or with an unknown field', () => {
      const [context] = ofKind(synth(cloudsql()), 'ConfigConnectorContext');
      const validator = new StrictValidator();
      expect(validator.validate([context])).toEqual([]);
      const withoutAccount = { ...context.spec };
      delete withoutAccount.googleServiceAccount;
      expect(validator.validate([{ ...context, spec: withoutAccount }]).join('\n')).toMatch(/googleServiceAccount/);
      expect(validator.validate([{ ...context, spec: { ...context.spec, serviceAccount: 'x' } }]).join('\n')).toMatch(/unknown field "serviceAccount"/);
    });
  });
});
