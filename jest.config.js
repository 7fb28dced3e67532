// Native ESM + @swc/jest (see README "Development"). Three tiers:
//   unit         *.spec.ts beside the code, no I/O
//   integration  test/**/*.int-spec.ts against the real PostgreSQL and NATS
//   e2e          e2e/**/*.e2e-spec.ts across separate service processes
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      keepClassNames: true,
    },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];
const common = {
  transform: { '^.+\\.ts$': swc },
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^@ciba/client$': '<rootDir>/libs/ciba-client/src/index.ts',
    '^@ciba/([a-z-]+)$': '<rootDir>/libs/$1/src/index.ts',
    '^@ciba/platform/tracing$': '<rootDir>/libs/platform/src/tracing/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testEnvironment: 'node',
  rootDir: '.',
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
};
export default {
  // Global (Jest reads no per-project timeout): starting a provider (migrations, Nest, NATS) or a
  // scratch database can take more than the 5 s default on a busy machine. A guard, not a measure.
  testTimeout: 30_000,
  reporters: ['default', '<rootDir>/tools/jest-summary-reporter.cjs'],
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/*/src/**/*.spec.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/{apps,libs}/*/test/**/*.int-spec.ts', '<rootDir>/k8s/test/**/*.int-spec.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/e2e/**/*.e2e-spec.ts'] },
  ],
};
