/**
 * dist/DEPLOY.md: the first deployment of this config, every command in order, with the config's own
 * names, derived from the config and from the rendered files themselves (which file goes to which
 * cluster, which Secrets the render reads, which Deployments, Jobs, Certificates and Ingresses exist).
 * docs/first-deployment.md explains the why; this file is the what, for this config.
 *
 * Route: two clusters. Config Connector runs on a management cluster (or Config Controller) and
 * receives the files with Config Connector objects; the workload cluster, which those objects create,
 * receives the rest. Every name the runbook uses is recorded in `refs`, so a test can check that each
 * exists in the render.
 */
import type { PlatformModel } from '../../model';
import { outOfBandSecrets, OutOfBandSecret } from '../../policy/rules/references';
import type { Manifest, RenderedFile } from '../rendered-file';
import { upgradeSection } from './upgrade';

export const RUNBOOK_PATH = 'DEPLOY.md';

/**
 * cert-manager release the platform installs: the newest patch of the 1.21 minor (v1.21.2, released
 * 2026-09-11: https://github.com/cert-manager/cert-manager/issues/9237). examples/flux/cert-manager/
 * helmrelease.yaml and docs/first-deployment.md pin the same (a test keeps them equal). The render is
 * validated against the CRDs of v1.21.1 (schemas/manifest.ts): v1.21.2 changed no CRD, RBAC or chart
 * template, only the image tags (the post-publish chart diff in that issue).
 */
export const CERT_MANAGER_VERSION = 'v1.21.2';

/**
 * trust-manager release the platform installs (the newest tag, v0.24.0 = commit 75590d07c8b5 of
 * cert-manager/trust-manager, 2026-06-27), from the same Helm repository as cert-manager. Its chart
 * installs the Bundle CRD (trust.cert-manager.io/v1alpha1, crds.enabled defaults to true) and gets its
 * webhook certificate from cert-manager, so it comes after cert-manager. docs/first-deployment.md pins
 * the same (a test keeps them equal).
 */
export const TRUST_MANAGER_VERSION = 'v0.24.0';

/**
 * The trust-manager install for the render's Bundle (charts/certificates/ca-bundle.ts), with the
 * values of the chart at TRUST_MANAGER_VERSION (deploy/charts/trust-manager/values.yaml):
 * `app.trust.namespace`, where it reads sources (the CA's Secret, in cert-manager's namespace);
 * `secretTargets.enabled` and `secretTargets.authorizedSecrets`, without which it writes no Secret
 * target (the CA-only Secret the metrics collector reads) and may write no other Secret by name;
 * `app.targetNamespaces`, which confines its Roles (ConfigMaps, and reading Secrets) to the
 * namespaces the Bundle targets plus the trust namespace (templates/rbac-per-namespace.yaml) instead
 * of a ClusterRole over every namespace.
 */
export function trustManagerInstall(bundle: Manifest, trustNamespace: string, kubeContext: string): string {
  const targets: string[] = bundle.spec?.target?.namespaceSelector?.matchExpressions?.[0]?.values ?? [];
  if (targets.length === 0) throw new Error(`runbook: Bundle ${bundle.metadata?.name} names no target namespace`);
  return [
    `helm install trust-manager jetstack/trust-manager --kube-context ${kubeContext} --namespace ${q(trustNamespace)} --version ${TRUST_MANAGER_VERSION}`,
    `--set app.trust.namespace=${q(trustNamespace)} --set secretTargets.enabled=true --set ${q(`secretTargets.authorizedSecrets={${bundle.metadata.name}}`)}`,
    `--set ${q(`app.targetNamespaces={${targets.join(',')}}`)} --wait`,
  ].join(' ');
}

/** A name the runbook uses: an object of the render, or a Secret the render reads and the operator creates. */
export interface RunbookRef {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  /** The rendered file it comes from (undefined for out-of-band Secrets). */
  readonly file?: string;
}

export interface Runbook extends RenderedFile {
  readonly refs: readonly RunbookRef[];
}

type Cluster = 'MGMT' | 'WORK';

interface PlacedSecret extends OutOfBandSecret {
  readonly cluster: Cluster;
}

/** Whether an object is a Config Connector resource: it goes to the Config Connector cluster. */
export const isKcc = (o: Manifest) =>
  String(o.apiVersion ?? '')
    .split('/')[0]
    .endsWith('.cnrm.cloud.google.com');

/** A shell word: bare when safe, else single-quoted. */
function q(value: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** How a key's value is made when nothing else fixes it. */
function generator(key: string): string {
  if (key === 'secret-key') return "openssl rand -hex 32 | tr -d '\\n'";
  if (key === 'passphrase') return "openssl rand -base64 48 | tr -d '\\n'";
  return "openssl rand -base64 32 | tr -d '\\n'";
}

/** An environment variable for a value only the operator knows (an OAuth client's id and secret). */
const ENV_KEYS: Record<string, string> = { client_id: 'IAP_CLIENT_ID', client_secret: 'IAP_CLIENT_SECRET' };

/**
 * The files of dist/tests/ that check a deployment. The restore template lives there too (its Job is
 * of component `restore`), but it replaces the database's contents with a backup: an operator runs it
 * on purpose (docs/postgres.md, "Restore"), never as a check.
 */
export function verificationFiles(files: readonly RenderedFile[]): RenderedFile[] {
  return files.filter(
    (f) =>
      f.path.startsWith('tests/') &&
      f.path.endsWith('.yaml') &&
      !(f.objects ?? []).some((o) => o.metadata?.labels?.['app.kubernetes.io/component'] === 'restore'),
  );
}

export function runbook(model: PlatformModel, files: readonly RenderedFile[]): Runbook {
  const { config, names } = model;
  const refs: RunbookRef[] = [];
  const manifests = files.filter((f) => f.path.endsWith('.yaml') && !f.path.includes('/'));
  const tests = verificationFiles(files);
  const procedures = files.filter((f) => f.path.startsWith('tests/') && f.path.endsWith('.yaml') && !tests.includes(f));
  const clusterOf = (f: RenderedFile): Cluster => ((f.objects ?? []).some(isKcc) ? 'MGMT' : 'WORK');
  const mgmtFiles = manifests.filter((f) => clusterOf(f) === 'MGMT');
  const workFiles = manifests.filter((f) => clusterOf(f) === 'WORK');
  const all = (list: readonly RenderedFile[]) => list.flatMap((f) => (f.objects ?? []).map((o) => ({ file: f.path, o })));
  const find = (list: readonly RenderedFile[], kind: string) => all(list).filter(({ o }) => o.kind === kind);
  const use = (file: string, o: Manifest): string => {
    refs.push({ kind: o.kind, namespace: o.metadata?.namespace, name: o.metadata.name, file });
    return o.metadata.name;
  };
  const nsOf = (o: Manifest) => o.metadata?.namespace as string;

  const clusters = find(mgmtFiles, 'ContainerCluster');
  if (clusters.length !== 1) throw new Error(`runbook: expected one ContainerCluster in the Config Connector files, found ${clusters.length}`);
  const cluster = clusters[0];
  const clusterName = use(cluster.file, cluster.o);
  const location = String(cluster.o.spec?.location ?? config.project.region);
  const nodePools = find(mgmtFiles, 'ContainerNodePool');

  const lines: string[] = [];
  const p = (...text: string[]) => lines.push(...text);
  const sh = (...commands: string[]) => p('```sh', ...commands, '```', '');

  p(
    `# Deploying ${config.project.id}: the runbook of this config`,
    '',
    'Rendered by `npm run synth` from the config, with its own names; the why of each step is in the',
    "project's docs/first-deployment.md. Commands run from the project folder, where `dist/` is this",
    'render. Nothing here holds a secret value.',
    '',
    '**Topology.** Config Connector runs on a management cluster (`$MGMT`, in project `$KCC_PROJECT`) and',
    `creates the workload cluster \`${clusterName}\` (\`$WORK\`) in \`${config.project.id}\`. Which file goes where:`,
    '',
    '| file | cluster |',
    '| --- | --- |',
    ...manifests.map((f) => `| \`dist/${f.path}\` | ${clusterOf(f) === 'MGMT' ? 'Config Connector (`$MGMT`)' : `workload (\`$WORK\`, \`${clusterName}\`)`} |`),
    ...tests.map((f) => `| \`dist/${f.path}\` | workload, after the deploy (verification) |`),
    ...procedures.map((f) => `| \`dist/${f.path}\` | workload, only to restore a backup, on purpose (docs/postgres.md) |`),
    '| `dist/bootstrap/gcp.sh` | none: run once with gcloud |',
    '',
    '## 0. Names',
    '',
  );
  sh(
    `PROJECT=${q(config.project.id)}`,
    `REGION=${q(config.project.region)}`,
    'KCC_PROJECT="$PROJECT"            # the project of the Config Connector cluster, when it is another',
    'MGMT="gke_${KCC_PROJECT}_${REGION}_config-connector"   # its kubectl context',
    `WORK="gke_\${PROJECT}_${location}_${clusterName}"`,
  );

  p(
    '## 1. A cluster that runs Config Connector',
    '',
    'Skip with Config Controller or a cluster that already runs Config Connector (then set `MGMT` to its context).',
    '',
  );
  sh(
    'gcloud services enable container.googleapis.com --project="$KCC_PROJECT"',
    'gcloud container clusters create-auto config-connector --region="$REGION" --project="$KCC_PROJECT"',
    'gcloud container clusters get-credentials config-connector --region="$REGION" --project="$KCC_PROJECT"',
  );

  p(
    '## 2. Bootstrap the project',
    '',
    'Billing, APIs (the IAM Service Account Credentials API in both projects), service agents, the Config Connector identity:',
    '',
  );
  sh('less dist/bootstrap/gcp.sh', 'KCC_CLUSTER_PROJECT="$KCC_PROJECT" bash dist/bootstrap/gcp.sh');

  p('## 3. Install Config Connector in namespaced mode', '');
  sh(
    'gcloud storage cp gs://configconnector-operator/latest/release-bundle.tar.gz release-bundle.tar.gz',
    'tar zxvf release-bundle.tar.gz',
    'kubectl --context "$MGMT" apply -f operator-system/autopilot-configconnector-operator.yaml',
    'kubectl --context "$MGMT" apply -f - <<\'EOF\'',
    'apiVersion: core.cnrm.cloud.google.com/v1beta1',
    'kind: ConfigConnector',
    'metadata:',
    '  name: configconnector.core.cnrm.cloud.google.com',
    'spec:',
    '  mode: namespaced',
    '  stateIntoSpec: Absent',
    'EOF',
    'kubectl --context "$MGMT" -n configconnector-operator-system wait --for=condition=Ready pod --all --timeout=10m',
  );

  // Secrets: where each goes, and which must hold the same value.
  const placed: PlacedSecret[] = [
    ...outOfBandSecrets(all(mgmtFiles).map(({ file, o }, doc) => ({ file, doc, manifest: o }))).map((s) => ({ ...s, cluster: 'MGMT' as const })),
    ...outOfBandSecrets(all(workFiles).map(({ file, o }, doc) => ({ file, doc, manifest: o }))).map((s) => ({ ...s, cluster: 'WORK' as const })),
  ];
  const copies = new Map<string, PlacedSecret[]>();
  for (const s of placed) copies.set(s.name, [...(copies.get(s.name) ?? []), s]);
  const context = (c: Cluster) => (c === 'MGMT' ? '"$MGMT"' : '"$WORK"');
  const createCommands = (s: PlacedSecret): string[] => {
    refs.push({ kind: 'Secret', namespace: s.namespace, name: s.name });
    const group = copies.get(s.name)!;
    const first = group[0];
    const acrossClusters = new Set(group.map((g) => g.cluster)).size > 1;
    const head = `kubectl --context ${context(s.cluster)} -n ${q(s.namespace)} create secret generic ${q(s.name)}`;
    const keys = s.keys.length > 0 ? s.keys : ['value'];
    if (keys.every((k) => ENV_KEYS[k])) return [`${head} ${keys.map((k) => `--from-literal=${k}="$${ENV_KEYS[k]}"`).join(' ')}`];
    if (acrossClusters && keys.length === 1) {
      // One value on two clusters: kept in Secret Manager, each copy made from it.
      const make =
        s === first
          ? [
              'gcloud services enable secretmanager.googleapis.com --project="$PROJECT"',
              `${generator(keys[0])} | gcloud secrets create ${q(s.name)} --project="$PROJECT" --replication-policy=automatic --data-file=-`,
            ]
          : [];
      return [...make, `${head} --from-file=${keys[0]}=<(gcloud secrets versions access latest --secret=${q(s.name)} --project="$PROJECT")`];
    }
    if (s !== first) {
      const from = (k: string) =>
        `<(kubectl --context ${context(first.cluster)} -n ${q(first.namespace)} get secret ${q(first.name)} -o jsonpath='{.data.${k}}' | base64 -d)`;
      return [`${head} ${keys.map((k) => `--from-file=${k}=${from(k)}`).join(' ')}`];
    }
    return [`${head} ${keys.map((k) => `--from-file=${k}=<(${generator(k)})`).join(' ')}`];
  };
  const same = [...copies.values()].filter((g) => g.length > 1);

  p('## 4. The Google Cloud layer, on the Config Connector cluster', '');
  const contexts = find(mgmtFiles, 'ConfigConnectorContext');
  sh(
    ...mgmtFiles.map((f) => `kubectl --context "$MGMT" apply -f dist/${f.path}`),
    ...contexts.map(
      ({ file, o }) =>
        `kubectl --context "$MGMT" -n ${q(nsOf(o))} wait --for=jsonpath='{.status.healthy}'=true configconnectorcontext/${use(file, o)} --timeout=10m`,
    ),
  );
  const mgmtSecrets = placed.filter((s) => s.cluster === 'MGMT');
  if (mgmtSecrets.length > 0) {
    p('The Secrets the Config Connector objects read:', '');
    sh(...mgmtSecrets.flatMap(createCommands));
  }
  p(`Then wait for the workload cluster and its node pools (15 to 30 minutes):`, '');
  sh(
    `kubectl --context "$MGMT" -n ${q(nsOf(cluster.o))} wait --for=condition=Ready containercluster/${clusterName} ${nodePools
      .map(({ file, o }) => `containernodepool/${use(file, o)}`)
      .join(' ')} --timeout=45m`,
  );

  p('## 5. Namespaces, then the Secrets the workloads read', '');
  const namespaceFiles = workFiles.filter((f) => (f.objects ?? []).some((o) => o.kind === 'Namespace'));
  sh(
    `gcloud container clusters get-credentials ${q(clusterName)} --location=${q(location)} --project="$PROJECT"`,
    ...namespaceFiles.map((f) => `kubectl --context "$WORK" apply -f dist/${f.path}`),
  );
  const workSecrets = placed.filter((s) => s.cluster === 'WORK');
  if (workSecrets.some((s) => s.keys.some((k) => ENV_KEYS[k])))
    p('The OAuth client of IAP (docs/edge.md): set `IAP_CLIENT_ID` and `IAP_CLIENT_SECRET` first.', '');
  sh(...workSecrets.flatMap(createCommands));
  p('Every Secret, and which must hold the same value:', '', '| cluster | namespace | name | keys | same value as |', '| --- | --- | --- | --- | --- |');
  for (const s of placed) {
    const others = copies
      .get(s.name)!
      .filter((o) => o !== s)
      .map((o) => `${o.cluster === 'MGMT' ? 'Config Connector' : 'workload'} \`${o.namespace}/${o.name}\``);
    p(
      `| ${s.cluster === 'MGMT' ? 'Config Connector' : 'workload'} | \`${s.namespace}\` | \`${s.name}\` | ${s.keys.map((k) => `\`${k}\``).join(', ')} | ${others.join(', ') || '-'} |`,
    );
  }
  p('');
  if (same.length > 0) p(`The copies of ${same.map((g) => `\`${g[0].name}\``).join(', ')} must hold the same value: the commands above make them so.`, '');

  p('## 6. cert-manager and trust-manager, then the workloads', '');
  const certificates = find(workFiles, 'Certificate');
  const bundles = find(workFiles, 'Bundle');
  sh(
    'helm repo add jetstack https://charts.jetstack.io --force-update',
    `helm install cert-manager jetstack/cert-manager --kube-context "$WORK" --namespace ${q(names.tls.certManagerNamespace)} --create-namespace --version ${CERT_MANAGER_VERSION} --set crds.enabled=true --wait`,
    // After cert-manager: its chart asks cert-manager for its webhook certificate.
    ...bundles.map(({ o }) => trustManagerInstall(o, names.tls.certManagerNamespace, '"$WORK"')),
    ...workFiles.filter((f) => !namespaceFiles.includes(f)).map((f) => `kubectl --context "$WORK" apply -f dist/${f.path}`),
    ...certificates.map(({ file, o }) => `kubectl --context "$WORK" -n ${q(nsOf(o))} wait --for=condition=Ready certificate/${use(file, o)} --timeout=5m`),
    // The Bundle's status condition Synced (trust-manager v0.24.0 types_bundle.go printcolumn): the CA is in every target namespace.
    ...bundles.map(({ file, o }) => `kubectl --context "$WORK" wait --for=condition=Synced bundle/${use(file, o)} --timeout=5m`),
  );
  // The grant before the migration it unblocks, the migration before the rest (docs/first-deployment.md, step 8).
  const jobRank = (o: Manifest) => ['sql-grant', 'migrate'].indexOf(o.metadata?.labels?.['app.kubernetes.io/component']) >>> 0;
  const jobs = find(workFiles, 'Job').sort((a, b) => jobRank(a.o) - jobRank(b.o));
  const deployments = find(workFiles, 'Deployment');
  sh(
    ...jobs.map(({ file, o }) => `kubectl --context "$WORK" -n ${q(nsOf(o))} wait --for=condition=complete job/${use(file, o)} --timeout=60m`),
    ...deployments.map(({ file, o }) => `kubectl --context "$WORK" -n ${q(nsOf(o))} rollout status deployment/${use(file, o)} --timeout=20m`),
  );

  const ingresses = find(workFiles, 'Ingress');
  if (ingresses.length > 0) {
    const records = ingresses.flatMap(({ o }) => (o.spec?.rules ?? []).map((r: Manifest) => r.host as string)).filter(Boolean);
    p('## 7. DNS records and certificates', '', `${records.length} A records, one per host name, to the address of its load balancer:`, '');
    const addresses = find(mgmtFiles, 'ComputeAddress');
    const commands: string[] = [];
    for (const { file, o } of ingresses) {
      use(file, o);
      const address = o.metadata?.annotations?.['kubernetes.io/ingress.global-static-ip-name'] as string | undefined;
      const hosts = (o.spec?.rules ?? []).map((r: Manifest) => r.host as string).filter(Boolean);
      if (!address) continue;
      const resource = addresses.find(({ o: a }) => (a.spec?.resourceID ?? a.metadata.name) === address);
      if (resource) use(resource.file, resource.o);
      commands.push(`gcloud compute addresses describe ${q(address)} --global --project="$PROJECT" --format='value(address)'   # ${hosts.join(' ')}`);
    }
    sh(...commands);
    p('| host name | A record to the address of |', '| --- | --- |');
    for (const { o } of ingresses)
      for (const r of o.spec?.rules ?? []) if (r.host) p(`| \`${r.host}\` | \`${o.metadata?.annotations?.['kubernetes.io/ingress.global-static-ip-name']}\` |`);
    p('');
    const certs = find(workFiles, 'ManagedCertificate');
    sh(
      ...certs.map(
        ({ file, o }) => `kubectl --context "$WORK" -n ${q(nsOf(o))} get managedcertificate/${use(file, o)} -o jsonpath='{.status.certificateStatus}{"\\n"}'`,
      ),
    );
  }

  p('## 8. Verify', '');
  for (const f of tests) {
    for (const { o } of find([f], 'Job'))
      sh(
        `kubectl --context "$WORK" apply -f dist/${f.path}`,
        `kubectl --context "$WORK" -n ${q(nsOf(o))} wait --for=condition=complete job/${use(f.path, o)} --timeout=10m`,
        `kubectl --context "$WORK" -n ${q(nsOf(o))} logs job/${o.metadata.name}`,
      );
  }

  if (ingresses.length > 0) {
    const service = `${names.namespaces.platform}/${names.mlflow}`;
    refs.push({ kind: 'Service', namespace: names.namespaces.platform, name: names.mlflow });
    p(
      '## 9. Pin the IAP audience',
      '',
      `Find the id of the backend service of \`${service}\`, put it in the config as \`mlflow.auth.iapBackendServiceId\`,`,
      'render and apply the MLflow file again. Until then MLflow accepts an IAP token for any backend of the project.',
      '',
    );
    sh(`gcloud compute backend-services list --global --project="$PROJECT" --format='table[no-heading](id,description)' | grep '"${service}"'`);
    // The workspaces' verifying proxies (charts/workspaces/iap_proxy.py) pin theirs the same way.
    const workspaces = model.edgeSites.filter((s) => s.app !== 'mlflow');
    if (workspaces.length > 0) {
      for (const s of workspaces) refs.push({ kind: 'Service', namespace: s.namespace, name: s.service });
      p(
        "Then each workspace's: the id of the backend service of each Service below goes in the config as `edge.backendServiceIds.<Service>`",
        `(${workspaces.map((s) => `\`${s.service}\``).join(', ')}); render and apply the workspaces' files again. Until then a`,
        "workspace's proxy accepts an IAP token made for any backend of the project (it checks the user's email all the same).",
        '',
      );
      const namespace = workspaces[0].namespace;
      sh(
        `gcloud compute backend-services list --global --project="$PROJECT" --format='table[no-heading](id,description)' | grep -E '"${namespace}/(${workspaces.map((s) => s.service).join('|')})"'`,
      );
    }
  }

  p(...upgradeSection({ model, workFiles, procedures, use, q }));

  return { path: RUNBOOK_PATH, content: `${lines.join('\n').trimEnd()}\n`, refs };
}
