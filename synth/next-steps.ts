/**
 * What synth prints after a render: the Secrets the render reads but cannot hold (created out of band)
 * and the commands that come next, in an order that works: a Secret can be created only once its
 * namespace exists, so each group of Secrets follows the file that creates its namespace. Derived
 * from the rendered objects, so the list is the render's own, whatever the config.
 */
import { outOfBandSecrets } from '../policy/rules/references';
import type { RenderedFile } from './rendered-file';

export function nextSteps(files: readonly RenderedFile[], out: string): string[] {
  const manifests = files.filter((f) => !f.path.includes('/'));
  const objects = manifests.flatMap((f) => (f.objects ?? []).map((manifest, doc) => ({ file: f.path, doc, manifest })));
  const namespaceFile = new Map(objects.filter((o) => o.manifest.kind === 'Namespace').map((o) => [o.manifest.metadata?.name as string, o.file]));
  const groups = new Map<string | undefined, string[]>();
  for (const s of outOfBandSecrets(objects)) {
    const file = namespaceFile.get(s.namespace);
    groups.set(file, [...(groups.get(file) ?? []), `${s.namespace}/${s.name}${s.keys.length > 0 ? ` (${s.keys.join(', ')})` : ''}`]);
  }
  const secretSteps = [...groups.entries()]
    // Namespaces the render does not create exist already: their Secrets come first; then file order.
    .sort(([a], [b]) => (a === b ? 0 : a === undefined ? -1 : b === undefined ? 1 : a < b ? -1 : 1))
    .flatMap(([file, secrets]) => [...(file ? [`  kubectl apply -f ${out}${file}`] : []), `  create the Secrets: ${secrets.join('; ')}`]);
  const bootstrap = files.some((f) => f.path === 'bootstrap/gcp.sh');
  return [
    'next steps (docs/first-deployment.md):',
    ...(bootstrap ? [`  bash ${out}bootstrap/gcp.sh        once per project: APIs, service agents, the Config Connector identity`] : []),
    ...secretSteps,
    `  kubectl apply -f ${out}               then, once MLflow is ready: kubectl apply -f ${out}tests/`,
  ];
}
