// Lint rules: ESLint's and typescript-eslint's recommended sets over the TypeScript sources, and the
// formatting the code is written in (@stylistic).
// `npm run lint` runs it; `npm run typecheck` runs the compiler without emitting.
import js from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'runs/', 'native/', '**/*.mjs', 'test/fixtures/', 'reports/', '.stryker-tmp/', 'docs/api/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { '@stylistic': stylistic },
    rules: {
      // The formatting the code is written in, checked rather than rewritten by a formatter.
      '@stylistic/indent': ['error', 2, { SwitchCase: 1, flatTernaryExpressions: true, ignoredNodes: ['TemplateLiteral *', 'ConditionalExpression'] }],
      '@stylistic/quotes': ['error', 'single', { avoidEscape: true }],
      '@stylistic/semi': ['error', 'always'],
      '@stylistic/comma-dangle': ['error', 'always-multiline'],
      '@stylistic/eol-last': 'error',
      '@stylistic/no-trailing-spaces': 'error',
      '@stylistic/object-curly-spacing': ['error', 'always'],
      // `_name` marks a value deliberately left unused (a destructured field dropped from an object).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
);
