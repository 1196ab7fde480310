/** Regenerates config/config.schema.json and the README's configuration reference. */
import * as fs from 'fs';
import * as path from 'path';
import { configJsonSchemaText, withReference } from '../config/reference';

const root = path.resolve(__dirname, '..');
fs.writeFileSync(path.join(root, 'config', 'config.schema.json'), configJsonSchemaText());
const readme = path.join(root, 'README.md');
fs.writeFileSync(readme, withReference(fs.readFileSync(readme, 'utf8')));
console.log('updated config/config.schema.json and the README configuration reference');
