/** Google Cloud settings of the Config Connector chart: cluster, keys, bucket, monitoring. */
import { z } from 'zod';
import { dnsLabel, email, positiveInt } from './primitives';

/**
 * The kubelet's per-pod PID limit as GKE accepts it: NodeKubeletConfig.podPidsLimit "must be greater
 * than or equal to 1024 and less than 4194304"
 * (https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/NodeKubeletConfig).
 */
export const POD_PIDS_LIMIT = { min: 1024, max: 4194303 } as const;

/** The node pool that runs the workspaces (users' code) and nothing else. */
export const workspacePoolSchema = z
  .strictObject({
    machineType: z
      .string()
      .regex(/^[a-z0-9]+-[a-z0-9-]+$/, 'must be a machine type such as "e2-standard-4"')
      .default('e2-standard-4')
      .describe('Machine type of the workspace node pool (the CPU workspaces; a GPU Jupyter runs on the GPU pool of workspaces.gpu).'),
    minNodes: z
      .number()
      .int('must be a whole number of nodes, 0 or more')
      .min(0, 'must be a whole number of nodes, 0 or more')
      .default(1)
      .describe('Fewest nodes of the workspace pool, over all its zones (0 lets it scale to nothing while no workspace runs).'),
    maxNodes: positiveInt().default(3).describe('Most nodes of the workspace pool, over all its zones.'),
    sandbox: z
      .boolean()
      .default(true)
      .describe(
        'Run the workspace pods in GKE Sandbox (gVisor): the pool is created with sandboxConfig gvisor and the pods with runtimeClassName gvisor. Fixed when the pool is created: changing it makes a new pool (docs/gcp.md).',
      ),
    podPidsLimit: z
      .number()
      .int(`must be a whole number from ${POD_PIDS_LIMIT.min} to ${POD_PIDS_LIMIT.max}`)
      .min(POD_PIDS_LIMIT.min, `must be a whole number from ${POD_PIDS_LIMIT.min} to ${POD_PIDS_LIMIT.max} (GKE's range for the kubelet's podPidsLimit)`)
      .max(POD_PIDS_LIMIT.max, `must be a whole number from ${POD_PIDS_LIMIT.min} to ${POD_PIDS_LIMIT.max} (GKE's range for the kubelet's podPidsLimit)`)
      .default(4096)
      .describe('Most processes (PIDs) one pod may run on the workspace nodes, GPU pool included: a fork bomb in a workspace stops there.'),
  })
  .prefault({})
  .describe('The node pool of the workspaces: tainted so that only workspace pods run there, never a pod that holds a platform secret.');

export const clusterSchema = z
  .strictObject({
    name: dnsLabel(40).default('mlflow-gke').describe('GKE cluster name.'),
    releaseChannel: z.enum(['RAPID', 'REGULAR', 'STABLE']).default('REGULAR').describe('GKE release channel.'),
    machineType: z
      .string()
      .regex(/^[a-z0-9]+-[a-z0-9-]+$/, 'must be a machine type such as "e2-standard-4"')
      .default('e2-standard-4')
      .describe('Machine type of the general node pool.'),
    minNodes: positiveInt().default(1).describe('Minimum nodes per zone.'),
    maxNodes: positiveInt().default(3).describe('Maximum nodes per zone.'),
    diskSizeGb: positiveInt().default(100).describe('Boot disk size of each node in GB.'),
    maintenanceStartTime: z
      .string()
      .regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'must be a UTC time "HH:MM"')
      .default('03:00')
      .describe('Daily maintenance window start (UTC).'),
    maintenanceWindowHours: z
      .number()
      .int('must be a whole number of hours from 4 to 24')
      .min(4, 'must be a whole number of hours from 4 to 24')
      .max(24, 'must be a whole number of hours from 4 to 24')
      .default(4)
      .describe('Length of the daily maintenance window (GKE needs at least 48 hours in 32 days).'),
    diskType: z.enum(['pd-balanced', 'pd-ssd', 'pd-standard']).default('pd-balanced').describe('Boot disk type of the nodes.'),
    workspacePool: workspacePoolSchema,
  })
  .prefault({})
  .superRefine((c, ctx) => {
    if (c.maxNodes < c.minNodes) ctx.addIssue({ code: 'custom', path: ['maxNodes'], input: c.maxNodes, message: `must be at least minNodes (${c.minNodes})` });
    const w = c.workspacePool;
    if (w.maxNodes < w.minNodes)
      ctx.addIssue({
        code: 'custom',
        path: ['workspacePool', 'maxNodes'],
        input: w.maxNodes,
        message: `must be at least workspacePool.minNodes (${w.minNodes})`,
      });
  })
  .describe('GKE cluster.');

export const kmsSchema = z
  .strictObject({
    rotationPeriodDays: z
      .number()
      .int('must be a whole number of days from 2 to 90')
      .min(2, 'must be a whole number of days from 2 to 90')
      .max(90, 'must be a whole number of days from 2 to 90')
      .default(90)
      .describe('Automatic rotation period of every key (Cloud KMS needs more than one day; CIS asks for at most 90).'),
    destroyScheduledDays: z
      .number()
      .int('must be a whole number of days from 1 to 120')
      .min(1, 'must be a whole number of days from 1 to 120')
      .max(120, 'must be a whole number of days from 1 to 120')
      .default(30)
      .describe('Days a destroyed key version stays recoverable.'),
    protectionLevel: z
      .enum(['SOFTWARE', 'HSM'])
      .default('SOFTWARE')
      .describe('Where key material lives; fixed when a key is created (changing it means new keys).'),
  })
  .prefault({})
  .describe('Cloud KMS keys (CMEK).');

export const storageSchema = z
  .strictObject({
    bucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, 'must be a bucket name: 3-63 lower-case letters, digits or "-" (it is also the name of a Kubernetes object)')
      .optional()
      .describe('Artifact bucket name. Default: <project id>-mlflow-artifacts.'),
    noncurrentVersionDays: positiveInt().default(30).describe('Days before noncurrent object versions are deleted.'),
    softDeleteDays: z
      .number()
      .int()
      .min(7, 'must be 0 or 7 to 90 days')
      .max(90, 'must be 0 or 7 to 90 days')
      .default(7)
      .describe('Soft-delete retention in days.'),
    abortIncompleteUploadDays: positiveInt().default(1).describe('Days before incomplete multipart uploads are aborted.'),
    ageRules: z
      .array(
        z.strictObject({
          prefix: z.string().min(1, 'must not be empty').describe('Object name prefix, e.g. "tmp/".'),
          days: positiveInt().describe('Age in days after which matching objects are deleted.'),
        }),
      )
      .default([])
      .describe('Extra delete-after-age rules.'),
  })
  .prefault({})
  .describe('GCS artifact bucket.');

export const monitoringSchema = z
  .strictObject({
    notificationEmail: email.default('ml-platform-alerts@example.com').describe('Email address that receives alerts.'),
    logRetentionDays: z
      .number()
      .int()
      .min(1, 'must be 1 to 3650 days')
      .max(3650, 'must be 1 to 3650 days')
      .default(30)
      .describe('Retention of the platform log bucket.'),
    pvcUsageThresholdPercent: z
      .number()
      .int()
      .min(1, 'must be a percentage from 1 to 99')
      .max(99, 'must be a percentage from 1 to 99')
      .default(85)
      .describe('PVC usage that raises an alert.'),
    http5xxPercent: z
      .number()
      .min(0.1, 'must be a percentage from 0.1 to 100')
      .max(100, 'must be a percentage from 0.1 to 100')
      .default(5)
      .describe('Share of MLflow responses with a 5xx status, over 5 minutes, that raises an alert.'),
    containerRestarts: positiveInt().default(3).describe('Restarts of one container within 30 minutes that raise an alert.'),
    sqlCpuPercent: z
      .number()
      .int()
      .min(1, 'must be a percentage from 1 to 99')
      .max(99, 'must be a percentage from 1 to 99')
      .default(80)
      .describe('Cloud SQL CPU use that raises an alert.'),
    sqlDiskPercent: z
      .number()
      .int()
      .min(1, 'must be a percentage from 1 to 99')
      .max(99, 'must be a percentage from 1 to 99')
      .default(85)
      .describe('Cloud SQL disk use that raises an alert.'),
    sqlConnections: positiveInt().default(200).describe('Open Cloud SQL connections (backends) that raise an alert.'),
  })
  .prefault({})
  .describe('Alerts, dashboard and logs.');
