/**
 * Facts an operator needs on the first deploy that no schema can enforce: each test checks that the
 * render still depends on the fact, and that the page an operator follows at that step states it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { configWith, find, Manifest, PROJECT_ROOT, render } from './support/render';
import { platformNames } from '../model/names';

const doc = (name: string) => fs.readFileSync(path.join(PROJECT_ROOT, 'docs', name), 'utf8');

/** The text of a markdown section: from its heading to the next heading of the same or a higher level. */
function section(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  // Heading level per line, 0 for other lines and for comments inside fenced code.
  let fenced = false;
  const levels = lines.map((l) => {
    if (l.startsWith('```')) fenced = !fenced;
    const m = /^(#+)\s/.exec(l);
    return !fenced && m ? m[1].length : 0;
  });
  const start = lines.findIndex((l, i) => levels[i] > 0 && l.replace(/^#+\s*/, '') === heading);
  if (start < 0) throw new Error(`no section "${heading}"`);
  const end = levels.findIndex((level, i) => i > start && level > 0 && level <= levels[start]);
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

describe('bootstrap facts in the docs', () => {
  // `gcloud storage service-agent` "displays the Cloud Storage service agent ... If the project does
  // not yet have a service agent, gcloud storage service-agent creates one"
  // (cloud.google.com/sdk/gcloud/reference/storage/service-agent). The bucket's key grant names that agent.
  test('the Cloud Storage service agent: the key grant names it, and the deploy steps create it first', () => {
    const config = configWith({});
    const names = platformNames(config);
    const objects: Manifest[] = render(config).objects;
    const agent = `serviceAccount:service-${config.project.number}@gs-project-accounts.iam.gserviceaccount.com`;
    const grants = objects.filter((o) => o.kind === 'IAMPolicyMember' && o.spec.member === agent);
    expect(grants.map((g) => g.spec.resourceRef.name)).toEqual([names.kms.keys.gcs]);
    expect(find(objects, 'StorageBucket', names.bucket).spec.encryption.kmsKeyRef.name).toBe(names.kms.keys.gcs);

    const gitops = section(doc('gitops.md'), 'Before the first apply, once per project');
    expect(gitops).toContain('gcloud storage service-agent --project=<project.id>');
    expect(doc('gitops.md').indexOf('Before the first apply')).toBeLessThan(doc('gitops.md').indexOf('## 1. kubectl'));
    expect(section(doc('gcp.md'), 'A fresh project: the Cloud Storage service agent')).toContain('gcloud storage service-agent --project=<project.id>');
  });

  // ContainerCluster (Config Connector v1.155.1 CRD): masterAuthorizedNetworksConfig admits the listed
  // cidrBlocks "(except the cluster node IPs, which GKE automatically whitelists)";
  // gcpPublicCidrsAccessEnabled: "Whether master is accessible via Google Compute Engine Public IP addresses."
  test('two clusters: the control plane admits only network.authorizedNetworks, and both two-cluster paths say so', () => {
    const cluster = render(configWith({})).objects.find((o) => o.kind === 'ContainerCluster')!;
    expect(cluster.spec.masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled).toBe(false);
    const gitops = doc('gitops.md');
    expect(section(gitops, 'Two clusters: Config Connector management cluster + workload cluster')).toContain('`network.authorizedNetworks`');
    const flux = section(gitops, 'Step by step, management cluster + workload cluster');
    expect(flux).toContain("the management cluster's egress address");
    expect(flux).toContain('`network.authorizedNetworks`');
    expect(flux).toContain('run the apps layer on the workload cluster itself');
    expect(section(doc('gcp.md'), 'Applying: one cluster or two')).toContain('`network.authorizedNetworks`');
  });

  // kubernetes/ingress-gce pkg/backends/features/iap.go (since v1.28.0, unchanged at the newest
  // commit): switchingToDefault() returns "Cannot switch to default OAuth once IAP credentials have
  // been set" when a BackendConfig drops oauthclientCredentials from a backend that has them.
  test('IAP: a custom OAuth client reaches every BackendConfig, and the edge docs say there is no way back in place', () => {
    const config = configWith({ edge: { oauthClientSecret: 'iap-oauth-client' } });
    const backendConfigs = render(config).objects.filter((o) => o.kind === 'BackendConfig' && o.spec.iap?.enabled);
    expect(backendConfigs.length).toBeGreaterThan(0);
    for (const b of backendConfigs) expect(b.spec.iap.oauthclientCredentials).toEqual({ secretName: 'iap-oauth-client' });
    const login = section(doc('edge.md'), 'IAP: login and who may enter');
    expect(login).toContain('Cannot switch to default OAuth once IAP credentials have been set');
    expect(login).toContain('kubectl -n mlflow delete ingress mlflow');
  });
});
