/**
 * What synth prints after a render: the Secrets the render reads but cannot hold (created out of band,
 * before the apply) and the commands that come next. Derived from the rendered objects, so the list
 * is the render's own, whatever the config.
 */
import { outOfBandSecrets } from '../policy/rules/references';
import type { RenderedFile } from './render';

function namespacesFile(files: readonly RenderedFile[]): string {
  return files.find((f) => /^\d{4}-namespaces\.yaml$/.test(f.path))?.path ?? '0000-namespaces.yaml';
}

export function nextSteps(files: readonly RenderedFile[], out: string): string[] {
  const objects = files
    .filter((f) => !f.path.includes('/'))
    .flatMap((f) => (f.objects ?? []).map((manifest, doc) => ({ file: f.path, doc, manifest })));
  const secrets = outOfBandSecrets(objects).map((s) => `${s.namespace}/${s.name}${s.keys.length > 0 ? ` (${s.keys.join(', ')})` : ''}`);
  const bootstrap = files.some((f) => f.path === 'bootstrap/gcp.sh');
  return [
    'next steps (docs/first-deployment.md):',
    ...(bootstrap ? [`  bash ${out}bootstrap/gcp.sh        once per project: APIs, service agents, the Config Connector identity`] : []),
    // Secrets live in the render's namespaces: those come first.
    ...(secrets.length > 0 ? [`  kubectl apply -f ${out}${namespacesFile(files)}`, `  create the Secrets the render reads: ${secrets.join('; ')}`] : []),
    `  kubectl apply -f ${out}               then, once MLflow is ready: kubectl apply -f ${out}tests/`,
  ];
}
