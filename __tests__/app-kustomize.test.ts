/** dist/ is a Kustomize base: `kubectl kustomize dist` builds and yields exactly the rendered objects. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { renderPlatform } from '../synth/render';
import { writeOutput } from '../synth/output';
import { kustomize } from './support/kubectl';
import { configsUnderTest, objectsOf, Manifest } from './support/render';

const key = (o: Manifest) => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

describe.each(configsUnderTest())('kubectl kustomize over the render of config $name', ({ config }) => {
  test('builds and yields the same objects as the files', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-kustomize-'));
    try {
      const files = renderPlatform(config);
      writeOutput(files, path.join(tmp, 'dist'));
      const built = YAML.parseAllDocuments(await kustomize(path.join(tmp, 'dist'))).map((d) => d.toJS() as Manifest);
      const expected = objectsOf(files, { mainOnly: true });
      const byKey = (list: Manifest[]) => Object.fromEntries(list.map((o) => [key(o), o]));
      expect(byKey(built)).toEqual(byKey(expected));
      expect(built).toHaveLength(expected.length);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
