import { Testing } from 'cdk8s';
import * as fs from 'fs';
import { buildModel } from '../model';
import * as path from 'path';
import { checkImage, MONITORING_ROLE, PostgresChart, postgresChartProps, SCRIPT_FILES, SUPERUSER } from '../charts/postgres';
import { PostgresRestoreChart, postgresRestoreChartProps } from '../charts/postgres-restore';
import { platformNames } from '../model/names';
import { selectorLabels } from '../charts/lib/labels';
import type { Config } from '../config/schema';
import { parseConfig } from '../model/load';
import { DEFAULT_CONFIG } from '../config/default';
import { configsUnderTest, configWith, find, Manifest, PROJECT_ROOT, render } from './support/render';
import { StrictValidator } from './support/schemas';
import { strictTest } from './support/strict-tests';
import { testApp } from './support/app';

const statefulset = () => configWith({ database: { mode: 'statefulset' } });

function synth(config: Config = statefulset()): Manifest[] {
  return Testing.synth(new PostgresChart(testApp(), 'postgres', postgresChartProps(buildModel(config))));
}

function synthRestore(config: Config = statefulset()): Manifest[] {
  return Testing.synth(new PostgresRestoreChart(testApp(), 'postgres-restore', postgresRestoreChartProps(buildModel(config))));
}

/** Whether a NetworkPolicy peer's podSelector selects pods with these labels. */
function selects(selector: any, labels: Record<string, string>): boolean {
  const matchLabels = Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const expressions = (selector?.matchExpressions ?? []).every((e: any) => {
    if (e.operator === 'In') return e.values.includes(labels[e.key]);
    if (e.operator === 'Exists') return e.key in labels;
    throw new Error(`operator ${e.operator} not handled by the test`);
  });
  return matchLabels && expressions;
}

/** The pod spec of a StatefulSet, Job or CronJob. */
function podSpecOf(o: Manifest): Manifest | undefined {
  return o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : ['StatefulSet', 'Job'].includes(o.kind) ? o.spec.template.spec : undefined;
}

const containersOf = (spec: Manifest): Manifest[] => [...(spec.initContainers ?? []), ...spec.containers];

function podSpecs(objects: Manifest[]): Manifest[] {
  return objects.map((o) => podSpecOf(o)).filter((s): s is Manifest => !!s);
}

const mainContainer = (objects: Manifest[]) => find(objects, 'StatefulSet', 'mlflow-db').spec.template.spec.containers.find((c: any) => c.name === 'postgres');
const cronJob = (objects: Manifest[]) => find(objects, 'CronJob', 'mlflow-db-backup');
const envValue = (container: any, name: string) => container.env.find((e: any) => e.name === name);

describe('postgres chart', () => {
  const statefulsetConfigs = [
    { name: 'default (statefulset mode)', config: statefulset() },
    ...configsUnderTest().filter((c) => c.config.database.mode === 'statefulset'),
  ];

  test.each(statefulsetConfigs)('renders the same objects as the snapshot: $name', ({ config }) => {
    expect(synth(config)).toMatchSnapshot();
    expect(synthRestore(config)).toMatchSnapshot();
  });

  strictTest('every object, restore Job included, passes strict schema validation', () => {
    const validator = new StrictValidator();
    expect(validator.validate([...synth(), ...synthRestore()])).toEqual([]);
  });

  describe('1. StatefulSet, storage and layout', () => {
    test('the StorageClass encrypts Persistent Disks with the disk CMEK key, keeps them and lets them grow', () => {
      const config = statefulset();
      const sc = find(synth(config), 'StorageClass', 'mlflow-db-cmek');
      expect(sc.provisioner).toBe('pd.csi.storage.gke.io');
      expect(sc.parameters['disk-encryption-kms-key']).toBe(platformNames(config).kms.keyPath('disk'));
      expect(sc.parameters['disk-encryption-kms-key']).toBe('projects/mlflow-gke-example/locations/europe-west1/keyRings/mlflow-gke/cryptoKeys/mlflow-disk');
      expect(sc.parameters.type).toBe('pd-balanced');
      expect(sc.parameters['replication-type']).toBeUndefined();
      expect(sc.reclaimPolicy).toBe('Retain');
      expect(sc.allowVolumeExpansion).toBe(true);
      expect(sc.volumeBindingMode).toBe('WaitForFirstConsumer');
    });

    test('the StorageClass is cluster-scoped: it carries no namespace, every other object does', () => {
      for (const o of synth()) {
        if (o.kind === 'StorageClass') expect(o.metadata.namespace).toBeUndefined();
        else expect(o.metadata.namespace).toBe('mlflow');
      }
    });

    test('disk type and regional replication come from the config', () => {
      const sc = find(
        synth(configWith({ database: { mode: 'statefulset', statefulset: { diskType: 'pd-ssd', regionalDisk: true } } })),
        'StorageClass',
        'mlflow-db-cmek',
      );
      expect(sc.parameters.type).toBe('pd-ssd');
      expect(sc.parameters['replication-type']).toBe('regional-pd');
    });

    test('the claims are retained when the StatefulSet is deleted or scaled down', () => {
      const sts = find(synth(), 'StatefulSet', 'mlflow-db');
      expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    });

    test('the claim template uses the CMEK StorageClass and the configured size, and is mounted with PGDATA in a subdirectory', () => {
      const objects = synth(configWith({ database: { mode: 'statefulset', statefulset: { storageSize: '50Gi' } } }));
      const sts = find(objects, 'StatefulSet', 'mlflow-db');
      const [claim] = sts.spec.volumeClaimTemplates;
      expect(claim.spec.storageClassName).toBe('mlflow-db-cmek');
      expect(claim.spec.resources.requests.storage).toBe('50Gi');
      const container = mainContainer(objects);
      const mount = container.volumeMounts.find((m: any) => m.name === claim.metadata.name);
      expect(mount).toBeDefined();
      const pgdata = envValue(container, 'PGDATA').value;
      expect(pgdata.startsWith(`${mount.mountPath}/`)).toBe(true);
      expect(pgdata.length).toBeGreaterThan(mount.mountPath.length + 1);
    });

    test('a headless Service governs the StatefulSet and a client Service serves port 5432 to the database pods only', () => {
      const objects = synth();
      const sts = find(objects, 'StatefulSet', 'mlflow-db');
      const headless = find(objects, 'Service', sts.spec.serviceName);
      expect(headless.spec.clusterIP).toBe('None');
      const client = find(objects, 'Service', 'mlflow-db');
      expect(client.spec.clusterIP).toBeUndefined();
      for (const svc of [headless, client]) {
        expect(svc.spec.selector).toEqual(sts.spec.selector.matchLabels);
        expect(svc.spec.ports.map((p: any) => p.port)).toEqual([5432]);
      }
      expect(sts.spec.selector.matchLabels).toEqual(selectorLabels({ name: 'mlflow-db', instance: 'default', component: 'database' }));
    });

    test('fsGroup with OnRootMismatch, a read-only root with emptyDirs for the socket directory and /tmp, and a long grace period', () => {
      const sts = find(synth(), 'StatefulSet', 'mlflow-db');
      const pod = sts.spec.template.spec;
      expect(pod.securityContext.fsGroup).toBe(999);
      expect(pod.securityContext.fsGroupChangePolicy).toBe('OnRootMismatch');
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60);
      const container = mainContainer(synth());
      expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
      const emptyDirs = new Set(pod.volumes.filter((v: any) => v.emptyDir).map((v: any) => v.name));
      for (const path of ['/var/run/postgresql', '/tmp']) {
        const mount = container.volumeMounts.find((m: any) => m.mountPath === path);
        expect(emptyDirs.has(mount?.name)).toBe(true);
      }
      expect(emptyDirs.has(sts.spec.volumeClaimTemplates[0].metadata.name)).toBe(false);
    });

    test('the image is the configured postgres image pinned to major and minor', () => {
      const container = mainContainer(synth(configWith({ database: { mode: 'statefulset', statefulset: { image: 'postgres:17.6-bookworm' } } })));
      expect(container.image).toBe('postgres:17.6-bookworm');
    });

    test.each([
      ['postgres:16-bookworm', /database\.statefulset\.image: "postgres:16-bookworm" is not allowed: must be pinned to a PostgreSQL major and minor version/],
      ['postgres:bookworm', /database\.statefulset\.image: "postgres:bookworm" is not allowed: must be pinned to a PostgreSQL major and minor version/],
      ['postgres:18.1', /database\.statefulset\.image: "postgres:18\.1" is not allowed: must be PostgreSQL 16 or 17/],
      ['postgres:15.8', /database\.statefulset\.image: "postgres:15\.8" is not allowed: must be PostgreSQL 16 or 17/],
    ])('the image %s is rejected by the schema, with the other problems', (image, message) => {
      expect(() => configWith({ database: { mode: 'statefulset', statefulset: { image } } })).toThrow(message);
    });

    test('accepted image tags report their major', () => {
      expect(checkImage('postgres:16.13-bookworm')).toBe(16);
      expect(checkImage('europe-docker.pkg.dev/p/mirror/postgres:17.6')).toBe(17);
    });

    test('a regional disk with a single zone is rejected', () => {
      expect(() => configWith({ project: { zones: ['europe-west1-b'] }, database: { mode: 'statefulset', statefulset: { regionalDisk: true } } })).toThrow(
        /database\.statefulset\.regionalDisk: true is not allowed: needs at least two zones in project\.zones \(it lists 1\)/,
      );
    });
  });

  describe('2. Health', () => {
    test('startup, readiness and liveness probes run pg_isready; liveness differs from readiness', () => {
      const c = mainContainer(synth());
      for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) expect(probe.exec.command[0]).toBe('pg_isready');
      expect(c.livenessProbe).not.toEqual(c.readinessProbe);
      expect(c.livenessProbe.failureThreshold * c.livenessProbe.periodSeconds).toBeGreaterThan(
        c.readinessProbe.failureThreshold * c.readinessProbe.periodSeconds,
      );
      // Crash recovery may take minutes before the server accepts connections.
      expect(c.startupProbe.failureThreshold * c.startupProbe.periodSeconds).toBeGreaterThanOrEqual(300);
      for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) expect(probe.timeoutSeconds).toBeGreaterThan(0);
    });

    test('an exporter sidecar serves metrics that a PodMonitoring scrapes from the database pods', () => {
      const objects = synth();
      const sts = find(objects, 'StatefulSet', 'mlflow-db');
      const exporter = sts.spec.template.spec.containers.find((c: any) => c.name === 'exporter');
      expect(exporter.image).toBe('quay.io/prometheuscommunity/postgres-exporter:v0.19.1');
      expect(exporter.readinessProbe.httpGet).toBeDefined();
      expect(exporter.livenessProbe.httpGet).toBeDefined();
      const monitoring = find(objects, 'PodMonitoring', 'mlflow-db');
      expect(monitoring.apiVersion).toBe('monitoring.googleapis.com/v1');
      expect(selects(monitoring.spec.selector, sts.spec.template.metadata.labels)).toBe(true);
      const portNames = exporter.ports.map((p: any) => p.name);
      for (const endpoint of monitoring.spec.endpoints) expect(portNames).toContain(endpoint.port);
    });
  });

  describe('3. Automatic backups', () => {
    test('the CronJob runs on the configured schedule, never overlaps, keeps history and has a deadline', () => {
      const job = cronJob(synth(configWith({ database: { mode: 'statefulset', statefulset: { backupSchedule: '15 4 * * *', backup: { deadline: '90m' } } } })));
      expect(job.spec.schedule).toBe('15 4 * * *');
      expect(job.spec.concurrencyPolicy).toBe('Forbid');
      expect(job.spec.successfulJobsHistoryLimit).toBeGreaterThan(0);
      expect(job.spec.failedJobsHistoryLimit).toBeGreaterThan(0);
      expect(job.spec.startingDeadlineSeconds).toBeGreaterThan(0);
      expect(job.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(5400);
    });

    test('a failed step fails the pod and the Job: no restarts in place, a bounded retry count', () => {
      const spec = cronJob(synth()).spec.jobTemplate.spec;
      expect(spec.template.spec.restartPolicy).toBe('Never');
      expect(spec.backoffLimit).toBe(2);
      for (const c of containersOf(spec.template.spec)) {
        expect(c.command).toEqual(['bash', '-c']);
        // Set by the script itself, so shellcheck and the live tests see the same shell options.
        expect(c.args[0].split('\n')).toContain('set -euo pipefail');
      }
    });

    test('pg_dump writes a custom-format dump that the upload step copies under backups/ in the backup bucket, never the artifact bucket', () => {
      const config = statefulset();
      const pod = cronJob(synth(config)).spec.jobTemplate.spec.template.spec;
      const dump = pod.initContainers.find((c: any) => c.name === 'dump');
      expect(dump.image).toBe(config.database.statefulset.image);
      expect(dump.args[0]).toMatch(/^pg_dump --format=custom /m);
      const upload = pod.containers.find((c: any) => c.name === 'upload');
      expect(upload.image).toBe(config.database.statefulset.backup.uploaderImage);
      expect(upload.args.slice(1)).toEqual(['storage.sh', 'upload']);
      expect(upload.args[0]).toMatch(/gcloud storage cp --no-clobber "\$1" "\$BACKUP_PREFIX\/\$2"/);
      expect(envValue(upload, 'BACKUP_PREFIX').value).toBe('gs://mlflow-gke-example-mlflow-db-backups/backups/mlflow-db/mlflow');
      expect(platformNames(config).backupBucket).not.toBe(platformNames(config).bucket);
      // The upload sends the file the dump wrote, through the scratch volume both mount.
      const file = envValue(dump, 'DUMP_FILE').value;
      expect(envValue(upload, 'DUMP_FILE').value).toBe(file);
      const scratch = (c: any) => c.volumeMounts.find((m: any) => file.startsWith(`${m.mountPath}/`));
      expect(scratch(dump).name).toBe(scratch(upload).name);
      expect(pod.volumes.find((v: any) => v.name === scratch(dump).name).emptyDir).toBeDefined();
    });

    test('every script a backup, restore or first-start pod runs is a file under charts/postgres/, inlined verbatim', () => {
      const objects = [...synth(), ...synthRestore()];
      const file = (name: string) => fs.readFileSync(path.join(PROJECT_ROOT, SCRIPT_FILES[name as keyof typeof SCRIPT_FILES]), 'utf8');
      expect(find(objects, 'ConfigMap', 'mlflow-db-init').data['10-mlflow-role.sh']).toBe(file('init'));
      const scripts = new Map<string, string>();
      for (const spec of podSpecs(objects)) for (const c of containersOf(spec)) if (c.command?.[0] === 'bash') scripts.set(c.name, c.args[0]);
      expect(Object.fromEntries(scripts)).toEqual({
        'tls-reload': file('reloadTls'),
        dump: file('dump'),
        upload: file('storage'),
        download: file('storage'),
        restore: file('restore'),
      });
      expect(find(objects, 'ConfigMap', 'mlflow-db-config').data['pg_hba.conf']).toBe(file('hba'));
    });

    test('the backup runs as its own Kubernetes service account bound to the backup Google service account', () => {
      const config = statefulset();
      const names = platformNames(config);
      const objects = synth(config);
      const pod = cronJob(objects).spec.jobTemplate.spec.template.spec;
      expect(pod.serviceAccountName).toBe(names.serviceAccounts.dbBackup.kubernetes!.name);
      const sa = find(objects, 'ServiceAccount', pod.serviceAccountName);
      expect(sa.metadata.namespace).toBe(names.serviceAccounts.dbBackup.kubernetes!.namespace);
      expect(sa.metadata.annotations['iam.gke.io/gcp-service-account']).toBe(names.serviceAccounts.dbBackup.email);
    });

    test('the restore Job downloads the newest (or a chosen) dump and restores it in one transaction with the backup identity', () => {
      const [job] = synthRestore();
      expect(job.kind).toBe('Job');
      expect(job.metadata.name).toMatch(/^mlflow-db-restore-[0-9a-f]{8}$/);
      const pod = job.spec.template.spec;
      expect(pod.serviceAccountName).toBe('mlflow-db-backup');
      const download = pod.initContainers[0];
      expect(envValue(download, 'BACKUP_OBJECT').value).toBe('latest');
      expect(download.args[0]).toMatch(/gcloud storage ls "\$BACKUP_PREFIX\/\*\.dump"/);
      const restore = pod.containers[0];
      expect(restore.args[0]).toMatch(/pg_restore --clean --if-exists .*--single-transaction --exit-on-error/);
      expect(job.spec.backoffLimit).toBe(0);
    });

    test('the restore Job is rendered into dist/tests only in statefulset mode, never into the applied files', () => {
      const files = render(statefulset()).files.map((f) => f.path);
      expect(files).toContain('tests/postgres-restore.yaml');
      expect(files.filter((f) => !f.includes('/') && /restore/.test(f))).toEqual([]);
      expect(render(configWith({ database: { mode: 'cloudsql' } })).files.map((f) => f.path)).not.toContain('tests/postgres-restore.yaml');
    });
  });

  describe('4. Credentials', () => {
    test('passwords come only from the Secret named in config; no Secret is rendered', () => {
      const config = configWith({ database: { mode: 'statefulset', statefulset: { credentialsSecret: 'pg-creds' } } });
      const objects = [...synth(config), ...synthRestore(config)];
      const refs = podSpecs(objects).flatMap((spec) => containersOf(spec).flatMap((c) => (c.env ?? []).filter((e: any) => e.valueFrom?.secretKeyRef)));
      expect(refs.length).toBeGreaterThan(0);
      for (const ref of refs) {
        expect(ref.valueFrom.secretKeyRef.name).toBe('pg-creds');
        expect(['postgres-password', 'mlflow-password', 'monitoring-password']).toContain(ref.valueFrom.secretKeyRef.key);
      }
      for (const spec of podSpecs(objects))
        for (const c of containersOf(spec)) for (const e of c.env ?? []) if (/PASS/.test(e.name)) expect(e.value).toBeUndefined();
    });

    test('scram-sha-256 guards remote, localhost and socket connections and stores the passwords', () => {
      const c = mainContainer(synth());
      expect(envValue(c, 'POSTGRES_HOST_AUTH_METHOD').value).toBe('scram-sha-256');
      expect(envValue(c, 'POSTGRES_INITDB_ARGS').value).toMatch(/--auth-local=scram-sha-256/);
      expect(envValue(c, 'POSTGRES_INITDB_ARGS').value).toMatch(/--auth-host=scram-sha-256/);
      expect(c.args).toEqual(expect.arrayContaining(['password_encryption=scram-sha-256']));
      expect(envValue(c, 'POSTGRES_HOST_AUTH_METHOD').value).not.toBe('trust');
    });

    test('the first start creates the configured MLflow role and database from the Secret', () => {
      const config = configWith({ database: { mode: 'statefulset', name: 'tracking', statefulset: { user: 'tracker' } } });
      const objects = synth(config);
      const c = mainContainer(objects);
      expect(envValue(c, 'MLFLOW_DB_USER').value).toBe('tracker');
      expect(envValue(c, 'MLFLOW_DB_NAME').value).toBe('tracking');
      expect(envValue(c, 'MLFLOW_DB_PASSWORD').valueFrom.secretKeyRef.key).toBe('mlflow-password');
      const script = find(objects, 'ConfigMap', 'mlflow-db-init').data['10-mlflow-role.sh'];
      expect(script).toMatch(/CREATE ROLE :"role" LOGIN PASSWORD :'password';/);
      expect(script).toMatch(/CREATE DATABASE :"db" OWNER :"role";/);
      expect(c.volumeMounts.find((m: any) => m.mountPath === '/docker-entrypoint-initdb.d')).toBeDefined();
    });

    test('an MLflow role name that PostgreSQL would need quoted is rejected', () => {
      expect(() => parseConfig({ ...DEFAULT_CONFIG, database: { mode: 'statefulset', statefulset: { user: 'MLflow-User' } } }, 'test config')).toThrow(
        /database\.statefulset\.user: .*must be a PostgreSQL role name/,
      );
    });
  });

  describe('5. NetworkPolicies', () => {
    const config = statefulset();
    const names = platformNames(config);
    const objects = synth(config);
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    const ingress = find(objects, 'NetworkPolicy', 'mlflow-db-ingress');
    const dbPodLabels = find(objects, 'StatefulSet', 'mlflow-db').spec.template.metadata.labels;
    const backupPodLabels = cronJob(objects).spec.jobTemplate.spec.template.metadata.labels;
    const restorePodLabels = synthRestore(config)[0].spec.template.metadata.labels;
    const peersOnPort = (port: number) => ingress.spec.ingress.filter((r: any) => r.ports.some((p: any) => p.port === port)).flatMap((r: any) => r.from);
    const admitted = (port: number, labels: Record<string, string>) =>
      peersOnPort(port).some((peer: any) => !peer.namespaceSelector && selects(peer.podSelector, labels));

    test('port 5432 admits the MLflow server, migration and gc pods, the backup and the restore', () => {
      expect(selects(ingress.spec.podSelector, dbPodLabels)).toBe(true);
      for (const component of ['server', 'migrate', 'gc'])
        expect(admitted(5432, selectorLabels({ name: names.mlflow, instance: config.environment, component }))).toBe(true);
      expect(admitted(5432, backupPodLabels)).toBe(true);
      expect(admitted(5432, restorePodLabels)).toBe(true);
    });

    test('port 5432 admits nobody else: not workspaces, not the database pods themselves, nothing from other namespaces', () => {
      expect(admitted(5432, selectorLabels({ name: 'jupyter', instance: config.environment, component: 'workspace' }))).toBe(false);
      expect(admitted(5432, dbPodLabels)).toBe(false);
      expect(peersOnPort(5432).every((p: any) => !p.namespaceSelector && !p.ipBlock)).toBe(true);
      expect(ingress.spec.ingress.map((r: any) => r.ports.map((p: any) => p.port))).toEqual([[5432], [9187]]);
    });

    test('metrics are admitted only from the managed Prometheus collectors', () => {
      expect(peersOnPort(9187)).toEqual([
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'gmp-system' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'collector' } },
        },
      ]);
    });

    test('the database pods get no egress beyond the namespace-wide DNS rule', () => {
      const egressToDb = policies.filter((p) => p.spec.policyTypes.includes('Egress') && selects(p.spec.podSelector, dbPodLabels));
      expect(egressToDb).toEqual([]);
    });

    test('backup and restore pods may reach only the database, the GKE metadata server and HTTPS outside private ranges', () => {
      const egress = find(objects, 'NetworkPolicy', 'mlflow-db-backup-egress');
      expect(selects(egress.spec.podSelector, backupPodLabels)).toBe(true);
      expect(selects(egress.spec.podSelector, restorePodLabels)).toBe(true);
      expect(selects(egress.spec.podSelector, dbPodLabels)).toBe(false);
      const rules = egress.spec.egress.map((r: any) => ({ to: r.to, ports: r.ports.map((p: any) => `${p.protocol}/${p.port}`) }));
      expect(rules[0].ports).toEqual(['TCP/5432']);
      expect(selects(rules[0].to[0].podSelector, dbPodLabels)).toBe(true);
      expect(rules.slice(1).map((r: any) => `${r.to[0].ipBlock.cidr} ${r.ports.join(',')}`)).toEqual([
        '169.254.169.254/32 TCP/80',
        '169.254.169.252/32 TCP/988',
        '0.0.0.0/0 TCP/443',
      ]);
      expect(rules[3].to[0].ipBlock.except).toEqual(expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']));
    });
  });

  test('6. no PodDisruptionBudget blocks node drains at one replica', () => {
    const objects = synth();
    expect(objects.filter((o) => o.kind === 'PodDisruptionBudget')).toEqual([]);
    expect(find(objects, 'StatefulSet', 'mlflow-db').spec.replicas).toBe(1);
  });

  describe('7. Security baseline and protection', () => {
    const objects = [...synth(), ...synthRestore()];

    test('every container is restricted, read-only, non-root with a numeric uid, with requests and limits', () => {
      const specs = podSpecs(objects);
      expect(specs).toHaveLength(3);
      for (const spec of specs) {
        expect(spec.automountServiceAccountToken).toBe(false);
        expect(spec.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
        for (const c of containersOf(spec)) {
          const sc = c.securityContext;
          expect(sc).toMatchObject({ allowPrivilegeEscalation: false, runAsNonRoot: true, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
          expect(Number.isInteger(sc.runAsUser ?? spec.securityContext.runAsUser)).toBe(true);
          expect((sc.runAsUser ?? spec.securityContext.runAsUser) > 0).toBe(true);
          for (const kind of ['requests', 'limits']) {
            expect(c.resources[kind].cpu).toBeDefined();
            expect(c.resources[kind].memory).toBeDefined();
          }
          expect(c.image).toMatch(/:[0-9v][^:@]*$/);
        }
      }
    });

    test('long-running containers have probes', () => {
      for (const c of find(objects, 'StatefulSet', 'mlflow-db').spec.template.spec.containers) {
        expect(c.readinessProbe).toBeDefined();
        expect(c.livenessProbe).toBeDefined();
      }
    });

    test('the claim template and the StorageClass are never pruned by Flux, and no Flux label is set', () => {
      const sts = find(objects, 'StatefulSet', 'mlflow-db');
      expect(sts.spec.volumeClaimTemplates[0].metadata.annotations['kustomize.toolkit.fluxcd.io/prune']).toBe('disabled');
      expect(find(objects, 'StorageClass', 'mlflow-db-cmek').metadata.annotations['kustomize.toolkit.fluxcd.io/prune']).toBe('disabled');
      const text = JSON.stringify(objects.map((o) => [o.metadata.labels, o.spec?.template?.metadata?.labels]));
      expect(text).not.toMatch(/kustomize\.toolkit\.fluxcd\.io/);
    });

    test('the claim template carries only the stable selector labels (templates are immutable)', () => {
      const sts = find(objects, 'StatefulSet', 'mlflow-db');
      expect(sts.spec.volumeClaimTemplates[0].metadata.labels).toEqual(sts.spec.selector.matchLabels);
    });
  });

  test('8. the StatefulSet, its Service and its claim are called mlflow-db, prefixed only by namePrefix', () => {
    const plain = find(synth(), 'StatefulSet', 'mlflow-db');
    expect(plain.spec.volumeClaimTemplates[0].metadata.name).toBe('mlflow-db');
    const objects = synth(configWith({ namePrefix: 'team-a-', database: { mode: 'statefulset' } }));
    const sts = find(objects, 'StatefulSet', 'team-a-mlflow-db');
    expect(sts.spec.volumeClaimTemplates[0].metadata.name).toBe('team-a-mlflow-db');
    find(objects, 'Service', 'team-a-mlflow-db');
    find(objects, 'StorageClass', 'team-a-mlflow-db-cmek');
    expect(objects.filter((o) => o.kind !== 'StorageClass').every((o) => o.metadata.name.startsWith('team-a-'))).toBe(true);
  });

  describe('9. rendered only in database mode statefulset', () => {
    test('statefulset mode renders the postgres file after mlflow (or namespaces) and before the workspaces', () => {
      const files = render(statefulset())
        .files.map((f) => f.path)
        .filter((f) => !f.includes('/') && f.endsWith('.yaml'));
      const ids = files.map((f) => f.replace(/^\d{4}-|\.yaml$/g, ''));
      const at = ids.indexOf('postgres');
      expect(at).toBeGreaterThan(0);
      const before = ids.slice(0, at);
      expect(before).toContain('namespaces');
      for (const later of ['jupyter', 'vscode', 'edge']) if (ids.includes(later)) expect(ids.indexOf(later)).toBeGreaterThan(at);
      for (const earlier of ['gcp', 'mlflow']) if (ids.includes(earlier)) expect(ids.indexOf(earlier)).toBeLessThan(at);
    });

    test('cloudsql mode renders no PostgreSQL object at all', () => {
      const { files, objects } = render(configWith({ database: { mode: 'cloudsql' } }));
      expect(files.some((f) => /postgres/.test(f.path))).toBe(false);
      expect(objects.filter((o) => o.metadata?.labels?.['app.kubernetes.io/name'] === 'mlflow-db')).toEqual([]);
      expect(objects.filter((o) => o.kind === 'StatefulSet' && o.metadata.name === 'mlflow-db')).toEqual([]);
    });
  });

  describe('10. TLS', () => {
    test('the server speaks TLS with the certificate cert-manager fills, from the first start on, and reads the rendered pg_hba.conf', () => {
      const args: string[] = mainContainer(synth()).args;
      // docker-library/postgres 6edb0a8 docker-entrypoint.sh docker_temp_server_start passes these to the first-start server too.
      for (const setting of [
        'ssl=on',
        'ssl_cert_file=/etc/postgres/tls/tls.crt',
        'ssl_key_file=/etc/postgres/tls/tls.key',
        'hba_file=/etc/postgres/config/pg_hba.conf',
      ])
        expect(args[args.indexOf(setting) - 1]).toBe('-c');
      expect(mainContainer(synth()).volumeMounts).toEqual(
        expect.arrayContaining([
          { name: 'tls', mountPath: '/etc/postgres/tls', readOnly: true },
          { name: 'config', mountPath: '/etc/postgres/config', readOnly: true },
        ]),
      );
    });

    // postgres src/backend/libpq/be-secure-common.c check_ssl_key_file_permissions: a key owned by root
    // may have at most u=rw,g=r; kubernetes pkg/volume/volume_linux.go changeFilePermission makes Secret
    // files root:fsGroup and ORs in 0440 (read-only volumes).
    test('the key file ends up root-owned, group postgres, 0440: what PostgreSQL accepts from root', () => {
      const config = statefulset();
      const objects = synth(config);
      const spec = find(objects, 'StatefulSet', 'mlflow-db').spec.template.spec;
      const tls = spec.volumes.find((v: Manifest) => v.name === 'tls');
      expect(tls.secret).toEqual({
        secretName: platformNames(config).tls.db,
        items: [
          { key: 'tls.crt', path: 'tls.crt' },
          { key: 'tls.key', path: 'tls.key' },
        ],
        defaultMode: 0o440,
      });
      const mode = tls.secret.defaultMode | 0o440;
      // Neither write nor execute for the group, nothing for others.
      expect(mode & 0o037).toBe(0);
      expect(spec.securityContext.fsGroup).toBe(999);
      expect(mainContainer(objects).securityContext.runAsUser).toBe(999);
    });

    test('pg_hba.conf: the superuser on the socket only, the monitoring role on loopback only, every other TCP connection only over TLS', () => {
      const lines = fs
        .readFileSync(path.join(PROJECT_ROOT, SCRIPT_FILES.hba), 'utf8')
        .split('\n')
        .filter((l) => l.trim() && !l.startsWith('#'))
        .map((l) => l.split(/\s+/));
      expect(lines).toEqual([
        ['local', 'all', 'all', 'scram-sha-256'],
        // `host` matches TCP with and without TLS: the superuser is refused on every address.
        ['host', 'all', SUPERUSER, 'all', 'reject'],
        ['host', SUPERUSER, MONITORING_ROLE, '127.0.0.1/32', 'scram-sha-256'],
        ['host', 'all', MONITORING_ROLE, 'all', 'reject'],
        ['hostssl', 'all', 'all', 'all', 'scram-sha-256'],
      ]);
      expect([SUPERUSER, MONITORING_ROLE]).toEqual(['postgres', 'monitoring']);
      // The exporter is the one TCP client without TLS: the monitoring role over the pod's loopback, to the postgres database.
      const exporter = find(synth(), 'StatefulSet', 'mlflow-db').spec.template.spec.containers.find((c: Manifest) => c.name === 'exporter');
      expect(envValue(exporter, 'DATA_SOURCE_URI').value).toBe('127.0.0.1:5432/postgres?sslmode=disable');
      expect(envValue(exporter, 'DATA_SOURCE_USER').value).toBe(MONITORING_ROLE);
      expect(envValue(exporter, 'DATA_SOURCE_PASS').valueFrom.secretKeyRef.key).toBe('monitoring-password');
    });

    test('no container outside the database pod logs in as the superuser, and inside it only the socket clients do', () => {
      const config = statefulset();
      const objects = [...synth(config), ...synthRestore(config)];
      for (const spec of podSpecs(objects))
        for (const c of containersOf(spec)) {
          const user = (c.env ?? []).find((e: Manifest) => ['PGUSER', 'DATA_SOURCE_USER'].includes(e.name))?.value;
          if (user !== SUPERUSER) continue;
          // The tls-reload sidecar: psql over the socket directory.
          expect(c.name).toBe('tls-reload');
          expect(envValue(c, 'PGHOST').value).toBe('/var/run/postgresql');
        }
    });

    test('the first start also creates the monitoring role from the Secret, after the MLflow role', () => {
      const objects = synth(statefulset());
      const c = mainContainer(objects);
      expect(envValue(c, 'MONITORING_DB_USER').value).toBe(MONITORING_ROLE);
      expect(envValue(c, 'MONITORING_DB_PASSWORD').valueFrom.secretKeyRef.key).toBe('monitoring-password');
      const init = find(objects, 'ConfigMap', 'mlflow-db-init').data;
      expect(Object.keys(init).sort()).toEqual(['10-mlflow-role.sh', '20-monitoring-role.sh']);
      expect(init['20-monitoring-role.sh']).toBe(fs.readFileSync(path.join(PROJECT_ROOT, SCRIPT_FILES.initMonitoring), 'utf8'));
      expect(init['20-monitoring-role.sh']).toMatch(/^GRANT pg_monitor TO :"role";$/m);
    });

    test.each(['postgres', 'monitoring', 'pg_monitor'])('the MLflow role may not be named %s', (user) => {
      expect(() => parseConfig({ ...DEFAULT_CONFIG, database: { mode: 'statefulset', statefulset: { user } } }, 'test config')).toThrow(
        /database\.statefulset\.user: .*must not be "postgres" or "monitoring" \(the superuser and the exporter's role\) nor start with "pg_"/,
      );
    });

    test('a native sidecar reloads the configuration over the socket when the certificate changes', () => {
      const spec = find(synth(), 'StatefulSet', 'mlflow-db').spec.template.spec;
      const [reload] = spec.initContainers;
      expect([reload.name, reload.restartPolicy]).toEqual(['tls-reload', 'Always']);
      expect(envValue(reload, 'TLS_CERT_FILE').value).toBe('/etc/postgres/tls/tls.crt');
      expect(envValue(reload, 'PGHOST').value).toBe('/var/run/postgresql');
      expect(reload.volumeMounts).toEqual([
        { name: 'run', mountPath: '/var/run/postgresql' },
        { name: 'tls', mountPath: '/etc/postgres/tls', readOnly: true },
      ]);
    });

    test('backup and restore connect with sslmode=verify-full to a host on the server certificate, against the mounted CA', () => {
      const config = statefulset();
      const names = platformNames(config);
      const cert = find(render(config).objects, 'Certificate', names.tls.db);
      for (const [pod, container] of [
        [cronJob(synth(config)).spec.jobTemplate.spec.template.spec, 'dump'],
        [synthRestore(config)[0].spec.template.spec, 'restore'],
      ] as const) {
        const c = containersOf(pod).find((x) => x.name === container)!;
        expect(envValue(c, 'PGSSLMODE').value).toBe('verify-full');
        expect(envValue(c, 'PGSSLROOTCERT').value).toBe('/etc/platform-ca/ca.crt');
        expect(cert.spec.dnsNames).toContain(envValue(c, 'PGHOST').value);
        expect(c.volumeMounts).toContainEqual({ name: 'platform-ca', mountPath: '/etc/platform-ca', readOnly: true });
        expect(pod.volumes).toContainEqual({
          name: 'platform-ca',
          configMap: { name: names.tls.caBundle, items: [{ key: 'ca.crt', path: 'ca.crt' }], defaultMode: 0o444 },
        });
      }
    });
  });
});
