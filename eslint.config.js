import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.venv/', '.serverless/', '.esbuild/', 'dist/', 'coverage/', '.local/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', fetch: 'readonly', Buffer: 'readonly', AbortSignal: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // osls loads local plugins with require().
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
  {
    // The core stays free of I/O and SDK types (ports and adapters; see docs/architecture.md#layout).
    files: ['shared/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-imports': ['error', { patterns: ['@aws-sdk/*', 'node:fs*', 'node:http*', 'node:net', '../adapters/*', '../app/*'] }],
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'Pass `now` in.' }, { object: 'process', property: 'env', message: 'Config comes from shared/config.ts.' }],
    },
  },
  {
    // Use cases reach the outside only through shared/ports.ts: no SDK, no adapter, no I/O of their own.
    files: ['shared/app/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-imports': ['error', { patterns: ['@aws-sdk/*', 'node:fs*', 'node:http*', 'node:net', '../adapters/*', '../../functions/*'] }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Config comes from shared/config.ts through the wiring.' }],
    },
  },
  // Generated code (scripts/generate-crd-validators.ts), checked by its own tests instead.
  { ignores: ['shared/core/*.generated.js'] },
);
