// Lint rules: ESLint's and typescript-eslint's recommended sets over the TypeScript sources. The layout
// is Prettier's (.prettierrc.json), checked by `npm run lint` after these rules.
// `npm run lint` runs both; `npm run format` rewrites the tree; `npm run typecheck` runs the compiler without emitting.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'build/',
      'node_modules/',
      'runs/',
      'native/',
      '**/*.mjs',
      'test/fixtures/',
      'reports/',
      '.stryker-tmp/',
      'docs/api/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // `_name` marks a value deliberately left unused (a destructured field dropped from an object).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
);
