/** The VPC, the private cluster's address ranges and who may reach its control plane. */
import { z } from 'zod';
import { cidr, dnsLabel } from './primitives';

export const networkSchema = z
  .strictObject({
    subnetCidr: cidr.default('10.10.0.0/20').describe('Primary range of the cluster subnet (nodes).'),
    podsCidr: cidr.default('10.16.0.0/14').describe('Secondary range for pods.'),
    servicesCidr: cidr.default('10.20.0.0/20').describe('Secondary range for Services.'),
    masterCidr: cidr.default('172.16.0.0/28').describe('/28 range of the private control plane.'),
    privateServicesCidr: cidr.default('10.30.0.0/16').describe('Range reserved for private services access (Cloud SQL private IP).'),
    flowLogSampling: z
      .number()
      .min(0.01, 'must be a fraction from 0.01 to 1')
      .max(1, 'must be a fraction from 0.01 to 1')
      .default(0.5)
      .describe('Share of subnet flows recorded in VPC flow logs.'),
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
    if (prefixOf(n.privateServicesCidr) > 24)
      ctx.addIssue({
        code: 'custom',
        path: ['privateServicesCidr'],
        input: n.privateServicesCidr,
        message: 'must be a range of /24 or larger (private services access needs at least a /24; /16 or /20 is usual)',
      });
    n.authorizedNetworks.forEach((a, i) => {
      if (prefixOf(a.cidr) === 0)
        ctx.addIssue({
          code: 'custom',
          path: ['authorizedNetworks', i, 'cidr'],
          input: a.cidr,
          message: 'must not be 0.0.0.0/0 (that opens the control plane to the internet); list the networks that need access',
        });
    });
    // The VPC's ranges are immutable once created: overlapping ones fail at GKE or peering time, hours later.
    const ranges = (['subnetCidr', 'podsCidr', 'servicesCidr', 'masterCidr', 'privateServicesCidr'] as const).map((field) => ({ field, value: n[field] }));
    ranges.forEach((a, i) =>
      ranges.slice(0, i).forEach((b) => {
        if (overlaps(a.value, b.value)) ctx.addIssue({ code: 'custom', path: [a.field], input: a.value, message: `must not overlap ${b.field} (${b.value})` });
      }),
    );
  })
  .describe('VPC address ranges and control-plane access.');

function prefixOf(cidr: string): number {
  return Number(cidr.split('/')[1]);
}

function bounds(cidr: string): [number, number] {
  const [ip, prefix] = cidr.split('/');
  const start = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return [start, start + 2 ** (32 - Number(prefix))];
}

export function overlaps(a: string, b: string): boolean {
  const [as, ae] = bounds(a);
  const [bs, be] = bounds(b);
  return as < be && bs < ae;
}
