/**
 * The default render and every example config's (config/dev.yaml, config/prod.yaml), each applied to
 * a fresh local control plane: accepted with no error and no warning, every workload's Pods admitted,
 * every reference resolved on the server, and a second apply a no-op.
 */
import { configsUnderTest } from '../support/render';
import { distFiles, renderToDir } from './support/render-dir';
import { expectRenderChecks, onCluster } from './support/scenario';

describe.each(configsUnderTest().map((c) => [c.name, c.config] as const))('the render of config %s on a real control plane', (_name, config) => {
  const scenario = onCluster(() => distFiles(renderToDir(config)));
  expectRenderChecks(scenario);
});
