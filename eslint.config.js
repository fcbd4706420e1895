// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/dist/**'], message: 'Import sources, not build output.' }] },
      ],
    },
  },
  {
    // Imports flow downwards only: core imports nothing of ours; periodic and looping only core.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['../*'], message: 'core imports nothing of ours.' }] },
      ],
    },
  },
  {
    files: ['src/service/**/*.ts', 'src/config/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/conductor/*', '**/cli/*', '**/ops/*'],
              message: 'service and config never import the layers above them.',
            },
          ],
        },
      ],
    },
  },
  {
    // ops (the HTTP endpoint) sits beside conductor, above service.
    files: ['src/ops/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/conductor/*', '**/cli/*'],
              message: 'ops never imports the layers above it (conductor, cli).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/periodic/**/*.ts', 'src/looping/**/*.ts', 'src/messaging/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/looping/*',
                '**/periodic/*',
                '**/service/*',
                '**/conductor/*',
                '**/cli/*',
                '**/ops/*',
                '../messaging/*',
              ],
              message: 'periodic, looping and messaging import only core (and config).',
            },
          ],
        },
      ],
    },
  },
);
