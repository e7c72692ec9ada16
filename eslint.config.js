// Lint rules: typescript-eslint's recommended set, plus the layer rule that the
// numeric core (tensor, formats, backend, model, quant methods) imports no
// Node-only module, so it runs unchanged in a browser. Node adapters are the
// files named node*.ts; the native `webgpu` package (Dawn) is imported only by
// the WebGPU Node adapter, src/backend/webgpu/node*.ts.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.device*/', 'models/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['**/*.ts'],
    ignores: ['src/backend/webgpu/node*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'webgpu', message: 'only src/backend/webgpu/node*.ts loads the webgpu package; use createNodeWebGpuBackend' }] }],
    },
  },
  {
    files: ['src/tensor/**', 'src/formats/**', 'src/backend/**', 'src/model/**', 'src/quant/methods/**'],
    ignores: ['src/**/node*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'webgpu', message: 'the numeric core must stay browser-safe; only src/backend/webgpu/node*.ts loads the webgpu package' }],
        patterns: [{ group: ['node:*', 'fs', 'path', 'os', 'worker_threads'], message: 'the numeric core must stay browser-safe; use a node*.ts adapter' }],
      }],
    },
  },
);
