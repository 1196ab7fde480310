/** The public HTTPS entry: host names and who may pass Identity-Aware Proxy. */
import { z } from 'zod';
import { dnsLabel, dnsName, iamMember } from './primitives';

export const edgeSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe('Render the public HTTPS entry (Ingress, certificate, IAP). false leaves access through port-forward or an internal load balancer.'),
    domain: dnsName.default('ml.example.com').describe('DNS domain under which each app gets its host name (<app>.<domain>).'),
    hosts: z
      .strictObject({
        mlflow: dnsName.optional().describe('Host name of MLflow. Default: mlflow.<domain>.'),
        jupyter: dnsName.optional().describe('Host name of the shared Jupyter. Default: jupyter.<domain>.'),
        vscode: dnsName.optional().describe('Host name of the shared VS Code. Default: vscode.<domain>.'),
      })
      .prefault({})
      .describe('Host name overrides.'),
    iapMembers: z
      .array(iamMember)
      .default([])
      .describe('IAM members allowed through IAP to MLflow and the shared workspaces. Per-user workspaces admit only their user.'),
    oauthClientSecret: dnsLabel(253)
      .optional()
      .describe('Name of a Secret (keys client_id, client_secret) with a custom OAuth client for IAP. Default: the Google-managed OAuth client.'),
    securityPolicy: dnsLabel()
      .optional()
      .describe('Name of an existing Cloud Armor security policy attached to every backend.'),
  })
  .prefault({})
  .describe('HTTPS entry through the Google load balancer with IAP.');
