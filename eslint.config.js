// Lint: type-aware rules where they catch real bugs (a forgotten await loses an error or a write), and
// workflow code kept deterministic (no Node built-ins, no I/O libraries).
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'assert', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises', 'http', 'http2',
  'https', 'net', 'os', 'path', 'perf_hooks', 'process', 'readline', 'stream', 'timers', 'tls', 'url', 'util', 'v8', 'vm',
  'worker_threads', 'zlib',
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.tools/**', '.data/**', 'coverage/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['vitest.config.ts'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // Workflow code is replayed: it must be deterministic and must not touch the world.
    files: ['workflows/src/**/*.ts', 'packages/domain/src/**/*.ts', 'packages/messages/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.flatMap((m) => [
              { name: m, message: 'workflow and domain code may not use Node built-ins' },
              { name: `node:${m}`, message: 'workflow and domain code may not use Node built-ins' },
            ]),
            { name: 'pg', message: 'no I/O in workflow or domain code' },
            { name: 'kysely', message: 'no I/O in workflow or domain code' },
            { name: '@temporalio/client', message: 'workflows talk to the world through activities' },
            { name: '@temporalio/activity', message: 'activity code does not belong in workflow code' },
          ],
          patterns: [{ group: ['@iap/db', '@iap/activities', '@iap/runtime', '@iap/api'], allowTypeImports: true, message: 'only types of I/O packages may be imported here' }],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'no process in workflow or domain code' },
        { name: 'setTimeout', message: 'use sleep()/condition() from @temporalio/workflow' },
        { name: 'fetch', message: 'no I/O in workflow or domain code' },
      ],
    },
  },
);
