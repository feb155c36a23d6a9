import type { Config } from 'jest';
import { pathsToModuleNameMapper } from 'ts-jest';
import ts from 'typescript';

// Path aliases live in tsconfig.json only; read them from there.
const tsconfig = ts.readConfigFile('./tsconfig.json', (file) => ts.sys.readFile(file)).config as {
  compilerOptions: { paths: Record<string, string[]> };
};
const moduleNameMapper = pathsToModuleNameMapper(tsconfig.compilerOptions.paths, {
  prefix: '<rootDir>/',
});

const shared = {
  rootDir: __dirname,
  testEnvironment: '<rootDir>/test/support/node-realm-environment.cjs',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: {
    '^.+\\.ts$': 'ts-jest',
    '/node_modules/@nestjs/.+\\.js$': '<rootDir>/test/support/esm-to-cjs.cjs',
  },
  // Nest 12 packages are ESM-only: compile them to CommonJS instead of skipping them.
  transformIgnorePatterns: ['/node_modules/(?!@nestjs/)'],
  moduleNameMapper,
} satisfies Config;

const config: Config = {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/{apps,libs,tools,bench}/**/*.spec.ts'],
    },
    {
      ...shared,
      displayName: 'e2e',
      // the fast fault cases run with every `npm test`; all of them with `npm run test:chaos`
      testMatch: [
        '<rootDir>/test/**/*.e2e-spec.ts',
        '<rootDir>/test/chaos/**/*.fast.chaos-spec.ts',
      ],
      setupFilesAfterEnv: ['<rootDir>/test/support/e2e-timeout.ts'],
    },
    {
      ...shared,
      displayName: 'chaos',
      testMatch: ['<rootDir>/test/chaos/**/*.chaos-spec.ts'],
    },
    {
      ...shared,
      displayName: 'scale',
      testMatch: ['<rootDir>/test/scale/**/*.scale-spec.ts'],
    },
  ],
  coverageDirectory: 'coverage',
  collectCoverageFrom: ['{apps,libs}/**/src/**/*.ts', '!**/*.spec.ts', '!**/main.ts'],
};

export default config;
