/** Where the platform lives: the GCP project, names and namespaces. */
import { z } from 'zod';
import { dnsLabel, projectId, projectNumber, region, zone } from './primitives';

export const projectSchema = z
  .strictObject({
    id: projectId.describe('GCP project id that holds every Google Cloud resource.'),
    number: projectNumber.describe(
      "GCP project number; service agents (KMS grants) are derived from it. Find it with gcloud projects describe PROJECT_ID --format='value(projectNumber)'.",
    ),
    region: region.describe('Region of the cluster, the database, the bucket and the KMS key ring.'),
    zones: z.array(zone).min(1, 'must list at least one zone').describe('Zones of the region used by the node pools and topology spread.'),
  })
  .superRefine((p, ctx) => {
    p.zones.forEach((z, i) => {
      if (!z.startsWith(`${p.region}-`))
        ctx.addIssue({ code: 'custom', path: ['zones', i], input: z, message: `must be a zone of region "${p.region}" such as "${p.region}-b"` });
    });
    if (new Set(p.zones).size !== p.zones.length) ctx.addIssue({ code: 'custom', path: ['zones'], input: p.zones, message: 'must not list a zone twice' });
  })
  .describe('The Google Cloud project.');

export const namespacesSchema = z
  .strictObject({
    platform: dnsLabel().default('mlflow').describe('Namespace of the MLflow server and the in-cluster database.'),
    workspaces: dnsLabel().default('ml-workspaces').describe('Namespace of the Jupyter and VS Code workspaces.'),
    gcp: dnsLabel().default('mlflow-gcp').describe('Namespace of the Config Connector objects (on the Config Connector cluster).'),
    external: z
      .array(dnsLabel())
      .default([])
      .describe('Namespaces that exist outside this render and that rendered objects may name (for example a shared monitoring namespace).'),
  })
  .prefault({})
  .superRefine((n, ctx) => {
    const own = [n.platform, n.workspaces, n.gcp];
    if (new Set(own).size !== own.length)
      ctx.addIssue({ code: 'custom', path: ['workspaces'], input: n.workspaces, message: 'platform, workspaces and gcp namespaces must all differ' });
  })
  .describe('Kubernetes namespaces.');
