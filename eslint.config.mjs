// Lint configuration: typescript-eslint's recommended rules over the project's TypeScript and
// JavaScript. Generated imports/ are not linted. Formatting belongs to prettier (.prettierrc.json), so
// there are no stylistic rules here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const node = { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly', console: 'readonly', Buffer: 'readonly' };

export default tseslint.config(
  { ignores: ['imports/**', 'dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: node } },
  {
    // A leading underscore marks what is unused on purpose (a destructured field left out, say).
    rules: { '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }] },
  },
  {
    // The starters and jest's transform are CommonJS by design: Node runs them without a build step.
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Tests read rendered manifests, which are untyped JSON: `any` is their honest type there.
    files: ['__tests__/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
