import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * libs/* import nothing of ours but the wire contract (libs/contract, which imports nothing); the
 * two apps never import each other (DESIGN.md section 1).
 */
const boundary = (message, group) => ({
  'no-restricted-imports': ['error', { patterns: [{ group, message }] }],
});

const ENGINE_FOR_API =
  'apps/api may import only the pure engine modules: @dllm/engine/params, /tokenizer, /request, /chat, /bundle/dllm-json, /bundle/model-catalog';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'coverage/',
      'models/',
      'bench/out/',
      '.gpu-pack/',
      '.whl/',
      'tools/train/.venv/',
      'tools/train/work/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: {
        projectService: { allowDefaultProject: ['*.mjs', 'test/support/*.cjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Test doubles implement async interfaces with plain values.
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts', '**/testing/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  {
    files: ['libs/**/*.ts'],
    rules: boundary('libs import nothing of ours', ['@dllm/*', '**/apps/**', '**/libs/**']),
  },
  {
    files: ['libs/shared/**/*.ts'],
    rules: boundary('libs/shared imports nothing of ours but the wire contract (@dllm/contract)', [
      '@dllm/*',
      '!@dllm/contract',
      '**/apps/**',
      '**/libs/**',
    ]),
  },
  {
    files: ['apps/api/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/apps/worker/**', '**/worker/src/**'],
              message: 'the apps never import each other',
            },
            {
              // The API counts tokens, renders chat templates and validates requests by the
              // engine's own schemas (pure modules); the engine root would load onnxruntime.
              regex:
                '^@dllm/engine(?!/(params|tokenizer|request|chat|bundle/dllm-json|bundle/model-catalog)$)(/.*)?$',
              message: ENGINE_FOR_API,
            },
            {
              group: ['**/libs/engine/**'],
              message: ENGINE_FOR_API,
            },
          ],
        },
      ],
    },
  },
  {
    // the API's ground floor: every other API folder may build on common/, never the reverse
    files: ['apps/api/src/common/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./(?!common/)',
              message: 'apps/api/src/common imports nothing from the other API folders',
            },
          ],
        },
      ],
    },
  },
  {
    // one direction: bench may use tools, tools never use bench
    files: ['tools/**/*.ts'],
    rules: boundary('tools never import bench', ['**/bench/**']),
  },
  {
    files: ['bench/**/*.ts'],
    rules: boundary('bench never imports apps (only libs and tools)', ['**/apps/**']),
  },
  {
    files: ['apps/worker/**/*.ts'],
    rules: boundary('the apps never import each other', ['**/apps/api/**', '**/api/src/**']),
  },
);
