/**
 * A cdk8s App for tests, which only call `toJson()`. `Testing.app()` creates a `cdk8s.outdir.*`
 * folder in the temp directory on every call, for a synth that tests never run; an App creates its
 * output folder only in `synth()`, so this one leaves nothing behind.
 */
import { App, Chart } from 'cdk8s';

export function testApp(): App {
  return new App({ outdir: 'never-written' });
}

export function testChart(): Chart {
  return new Chart(testApp(), 'test');
}
