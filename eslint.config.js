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
    files: ['src/config/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/periodic/*',
                '**/looping/*',
                '**/messaging/*',
                '**/coordination/*',
                '**/service/*',
                '**/conductor/*',
                '**/cli/*',
                '**/ops/*',
                '**/runner/*',
              ],
              message: 'config imports only core: the layers above define their options with it.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/service/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/conductor/*', '**/cli/*', '**/ops/*', '**/runner/*'],
              message: 'service and config never import the layers above them.',
            },
          ],
        },
      ],
    },
  },
  {
    // ops (the HTTP endpoint) and conductor (the application) sit beside each other, above service.
    files: ['src/ops/**/*.ts', 'src/conductor/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/runner/*', '**/cli/*', '**/ops/*', '**/conductor/*'],
              message:
                'ops and conductor import service and the layers below; never runner, cli or each other.',
            },
          ],
        },
      ],
    },
  },
  {
    // runner, the composition root, wires ops and service; only cli sits above it.
    files: ['src/runner/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/cli/*', '**/conductor/*'],
              message: 'runner is generic: it never imports cli or the conductor.',
            },
          ],
        },
      ],
    },
  },
  {
    files: [
      'src/periodic/**/*.ts',
      'src/looping/**/*.ts',
      'src/messaging/**/*.ts',
      'src/coordination/**/*.ts',
    ],
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
                '**/runner/*',
                '../messaging/*',
                '../coordination/*',
              ],
              message:
                'periodic, looping, messaging and coordination import only core (and config), never each other.',
            },
          ],
        },
      ],
    },
  },
);
