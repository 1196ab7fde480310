/**
 * The shape of the config, without the rules that span sections: its output type is the `Config`
 * every chart receives, and the cross-section rules (rules.ts) are written against it.
 */
import { z } from 'zod';
import { databaseSchema } from './database';
import { edgeSchema } from './edge';
import { clusterSchema, kmsSchema, monitoringSchema, storageSchema } from './gcp';
import { mlflowSchema } from './mlflow';
import { networkSchema } from './network';
import { namespacesSchema, projectSchema } from './platform';
import { dnsLabel } from './primitives';
import { tlsSchema } from './tls';
import { workspacesSchema } from './workspaces';

export const configShape = z.strictObject({
  $schema: z.string().optional().describe('Path of the JSON Schema, for editor completion.'),
  environment: dnsLabel(30).default('default').describe('Environment name; becomes the app.kubernetes.io/instance label.'),
  namePrefix: z
    .string()
    .regex(
      /^([a-z]([a-z0-9-]{0,9}[a-z0-9])?-)?$/,
      'must be empty or a DNS label of at most 11 characters followed by "-", such as "team-a-" (Google service account ids derive from it and allow 30 characters)',
    )
    .default('')
    .describe('Prefix for the names of the Kubernetes workloads and Services (mlflow becomes <prefix>mlflow).'),
  project: projectSchema,
  namespaces: namespacesSchema,
  network: networkSchema,
  edge: edgeSchema,
  database: databaseSchema,
  mlflow: mlflowSchema,
  tls: tlsSchema,
  workspaces: workspacesSchema,
  cluster: clusterSchema,
  kms: kmsSchema,
  storage: storageSchema,
  monitoring: monitoringSchema,
});

/** The config after defaults are applied: what every chart and every cross-section rule receives. */
export type Config = z.output<typeof configShape>;
