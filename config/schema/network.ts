/** The VPC, the private cluster's address ranges and who may reach its control plane. */
import { z } from 'zod';
import { cidr, dnsLabel } from './primitives';

export const networkSchema = z
  .strictObject({
    subnetCidr: cidr.default('10.10.0.0/20').describe('Primary range of the cluster subnet (nodes).'),
    podsCidr: cidr.default('10.16.0.0/14').describe('Secondary range for pods.'),
    servicesCidr: cidr.default('10.20.0.0/20').describe('Secondary range for Services.'),
    masterCidr: cidr.default('172.16.0.0/28').describe('/28 range of the private control plane.'),
    privateServicesCidr: cidr
      .default('10.30.0.0/16')
      .describe('Range reserved for private services access (Cloud SQL private IP).'),
    authorizedNetworks: z
      .array(
        z.strictObject({
          name: dnsLabel().describe('A label for the network, shown in the cluster.'),
          cidr: cidr.describe('IPv4 range allowed to reach the control plane.'),
        }),
      )
      .default([])
      .describe('Networks allowed to reach the GKE control plane. Empty means only the VPC itself.'),
  })
  .prefault({})
  .superRefine((n, ctx) => {
    if (!n.masterCidr.endsWith('/28'))
      ctx.addIssue({ code: 'custom', path: ['masterCidr'], input: n.masterCidr, message: 'must be a /28 range (GKE requires it for the control plane)' });
  })
  .describe('VPC address ranges and control-plane access.');
