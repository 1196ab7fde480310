/**
 * The embedded default: what `npm run synth` renders with no config file. It names an example project,
 * so it shows the shape of a deployment; real environments use a file such as config/prod.yaml.
 */
import type { ConfigInput } from './schema';

export const DEFAULT_CONFIG: ConfigInput = {
  environment: 'default',
  project: {
    id: 'mlflow-gke-example',
    number: '123456789012',
    region: 'europe-west1',
    zones: ['europe-west1-b', 'europe-west1-c', 'europe-west1-d'],
  },
  network: {
    authorizedNetworks: [{ name: 'office', cidr: '203.0.113.0/24' }],
  },
  edge: {
    domain: 'ml.example.com',
    iapMembers: ['group:ml-team@example.com'],
  },
  monitoring: { notificationEmail: 'ml-platform-alerts@example.com' },
};
