/** Jupyter and VS Code workspaces, shared or one per user. */
import { z } from 'zod';
import { dnsLabel, email, image, positiveInt, resources, size } from './primitives';

export const gpuSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Give Jupyter a GPU and create the matching GPU node pool.'),
    acceleratorType: z
      .string()
      .regex(/^nvidia-[a-z0-9-]+$/, 'must be a GKE accelerator type such as "nvidia-tesla-t4" or "nvidia-l4"')
      .default('nvidia-tesla-t4')
      .describe('GKE accelerator type (node label cloud.google.com/gke-accelerator).'),
    count: positiveInt().default(1).describe('GPUs per Jupyter pod and per node.'),
    machineType: z.string().regex(/^[a-z0-9]+-[a-z0-9-]+$/, 'must be a machine type such as "n1-standard-8"').default('n1-standard-8').describe('Machine type of the GPU node pool.'),
    maxNodes: positiveInt().default(2).describe('Largest size of the GPU node pool (it scales from zero).'),
    image: image.default('quay.io/jupyter/pytorch-notebook:cuda12-python-3.12').describe('CUDA-enabled notebook image used when the GPU is on.'),
  })
  .prefault({})
  .describe('GPU for Jupyter.');

export const workspacesSchema = z
  .strictObject({
    users: z
      .array(
        z.strictObject({
          name: dnsLabel(20).describe('Short user name; it becomes part of object and host names.'),
          email: email.describe('Google identity of the user; IAP admits only this user to their workspaces.'),
        }),
      )
      .default([])
      .describe('One Jupyter and one VS Code per user. Empty: one shared instance of each.'),
    jupyter: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Render Jupyter.'),
        image: image.default('quay.io/jupyter/scipy-notebook:python-3.12').describe('Jupyter docker-stacks image.'),
        storageSize: size.default('20Gi').describe('Home volume size.'),
        resources: resources({ requests: { cpu: '500m', memory: '2Gi' }, limits: { cpu: '2', memory: '4Gi' } }).describe('Jupyter container resources.'),
      })
      .prefault({})
      .describe('Jupyter server.'),
    vscode: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Render VS Code (code-server).'),
        image: image.default('codercom/code-server:4.104.0').describe('code-server image.'),
        storageSize: size.default('20Gi').describe('Workspace volume size.'),
        resources: resources({ requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' } }).describe('code-server container resources.'),
      })
      .prefault({})
      .describe('VS Code server.'),
    gpu: gpuSchema,
    internetEgress: z.boolean().default(true).describe('Allow workspaces to reach the internet (package installs).'),
    tokenSecret: dnsLabel(253)
      .default('workspace-token')
      .describe('Secret (key token) with the login token, used only when the edge does not require IAP.'),
  })
  .prefault({})
  .superRefine((w, ctx) => {
    const seen = new Map<string, number>();
    w.users.forEach((u, i) => {
      if (seen.has(u.name))
        ctx.addIssue({ code: 'custom', path: ['users', i, 'name'], input: u.name, message: `must be unique; users[${seen.get(u.name)}] has the same name` });
      seen.set(u.name, i);
    });
  })
  .describe('Development workspaces.');
