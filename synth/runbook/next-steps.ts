/**
 * What synth prints after a render: the outline of dist/DEPLOY.md (synth/runbook/runbook.ts), in the
 * same order and with the same split between the clusters, so the two never disagree: the Config
 * Connector files and their Secrets on the Config Connector cluster first, then, on the workload
 * cluster that those create, the namespaces, the Secrets the workloads read, cert-manager and
 * trust-manager, the rest,
 * and the verification. Secrets come from the rendered objects (policy/rules/references.ts).
 */
import { outOfBandSecrets } from '../../policy/rules/references';
import type { RenderedFile } from '../rendered-file';
import { CERT_MANAGER_VERSION, isKcc, RUNBOOK_PATH, TRUST_MANAGER_VERSION, verificationFiles } from './runbook';

/**
 * The backends whose IAP audience the render does not pin yet (`namespace/Service`): MLflow while
 * mlflow.auth.iapBackendServiceId is unset, each workspace while edge.backendServiceIds has no entry
 * for it. Each accepts a token IAP made for any backend service of the project until then.
 */
export function unpinnedAudiences(files: readonly RenderedFile[]): string[] {
  const unpinned: string[] = [];
  for (const o of files.flatMap((f) => f.objects ?? [])) {
    const spec = o.kind === 'Deployment' || o.kind === 'StatefulSet' ? o.spec?.template?.spec : undefined;
    if (!spec) continue;
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      const env = new Map<string, string | undefined>((c.env ?? []).map((e: { name: string; value?: string }) => [e.name, e.value]));
      const checks = c.name === 'iap-proxy' || env.get('IAP_ENABLED') === 'true';
      if (checks && !env.get('IAP_BACKEND_SERVICE_ID')) unpinned.push(`${o.metadata.namespace}/${o.metadata.name}`);
    }
  }
  return [...new Set(unpinned)].sort();
}

export function nextSteps(files: readonly RenderedFile[], out: string): string[] {
  const manifests = files.filter((f) => !f.path.includes('/') && f.path.endsWith('.yaml'));
  const kcc = manifests.filter((f) => (f.objects ?? []).some(isKcc));
  const work = manifests.filter((f) => !kcc.includes(f));
  const namespaces = work.filter((f) => (f.objects ?? []).some((o) => o.kind === 'Namespace'));
  const rest = work.filter((f) => !namespaces.includes(f));
  const secrets = (list: readonly RenderedFile[]) =>
    outOfBandSecrets(list.flatMap((f) => (f.objects ?? []).map((manifest, doc) => ({ file: f.path, doc, manifest })))).map(
      (s) => `${s.namespace}/${s.name}${s.keys.length > 0 ? ` (${s.keys.join(', ')})` : ''}`,
    );
  const apply = (list: readonly RenderedFile[]) => `kubectl apply ${list.map((f) => `-f ${out}${f.path}`).join(' ')}`;
  const kccSecrets = secrets(kcc);
  const workSecrets = secrets(work);
  const bootstrap = files.some((f) => f.path === 'bootstrap/gcp.sh');
  const runbook = files.some((f) => f.path === RUNBOOK_PATH);
  return [
    runbook
      ? `next steps: every command for this config, in order, is in ${out}${RUNBOOK_PATH} (docs/first-deployment.md explains them); in short:`
      : 'next steps (docs/first-deployment.md):',
    ...(bootstrap ? [`  bash ${out}bootstrap/gcp.sh        once per project: APIs, service agents, the Config Connector identity`] : []),
    ...(kcc.length > 0 ? [`  on the Config Connector cluster: ${apply(kcc)}`] : []),
    ...(kccSecrets.length > 0 ? [`  create the Secrets there: ${kccSecrets.join('; ')}`] : []),
    ...(namespaces.length > 0 ? [`  on the workload cluster${kcc.length > 0 ? ', once it is Ready' : ''}: ${apply(namespaces)}`] : []),
    ...(workSecrets.length > 0 ? [`  create the Secrets there: ${workSecrets.join('; ')}`] : []),
    `  install cert-manager ${CERT_MANAGER_VERSION} and trust-manager ${TRUST_MANAGER_VERSION} (${RUNBOOK_PATH} has the values), then: ${apply(rest)}`,
    `  once MLflow is ready: ${apply(verificationFiles(files))}`,
    ...unpinnedWarning(files, runbook ? `${out}${RUNBOOK_PATH}` : 'docs/first-deployment.md'),
  ];
}

function unpinnedWarning(files: readonly RenderedFile[], where: string): string[] {
  const unpinned = unpinnedAudiences(files);
  if (unpinned.length === 0) return [];
  return [
    `warning: the IAP audience is not pinned for ${unpinned.join(', ')}: each accepts a token made for any backend service of the project until its backend service id is in the config (${where}, "Pin the IAP audience")`,
  ];
}
