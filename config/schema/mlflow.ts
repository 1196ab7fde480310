/** The MLflow tracking server and its Cloud SQL Auth Proxy sidecar. */
import { z } from 'zod';
import { cronSchedule, duration, dnsName, image, positiveInt, resources } from './primitives';

export const mlflowSchema = z
  .strictObject({
    image: image.default('ghcr.io/mlflow/mlflow:v3.9.0-full').describe('MLflow image; a -full tag (3.9+) carries the PostgreSQL, GCS and metrics extras.'),
    replicas: positiveInt().default(2).describe('Minimum number of server replicas.'),
    maxReplicas: positiveInt().default(4).describe('Maximum replicas the CPU autoscaler may reach.'),
    workers: positiveInt().default(2).describe('Server worker processes per replica.'),
    resources: resources({ requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } }).describe('MLflow container resources.'),
    extraAllowedHosts: z.array(dnsName).default([]).describe('Extra Host headers the server accepts besides the configured host and its Service names.'),
    gcSchedule: cronSchedule.default('30 3 * * 0').describe('Cron schedule of `mlflow gc`.'),
    gcOlderThan: duration.default('30d').describe('Deleted runs older than this are removed for good by `mlflow gc`.'),
    cloudSqlProxy: z
      .strictObject({
        image: image.default('gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.1.0').describe('Cloud SQL Auth Proxy image; flags follow its version.'),
        resources: resources({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } }).describe('Proxy container resources.'),
      })
      .prefault({})
      .describe('The Cloud SQL Auth Proxy sidecar (database mode cloudsql).'),
  })
  .prefault({})
  .superRefine((m, ctx) => {
    if (m.maxReplicas < m.replicas)
      ctx.addIssue({ code: 'custom', path: ['maxReplicas'], input: m.maxReplicas, message: `must be at least replicas (${m.replicas})` });
  })
  .describe('MLflow tracking server.');
