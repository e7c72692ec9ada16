// Lint rules: typescript-eslint's recommended set, plus the layer rule that the
// numeric core (tensor, formats, backend, model, quant methods) and what the
// browser entry (src/browser.ts) loads import no Node-only module, so they run
// unchanged in a browser. Node adapters are the
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
    // and the browser entry with the io / runtime halves it loads through (test/browser.test.ts bundles them)
    files: ['src/tensor/**', 'src/formats/**', 'src/backend/**', 'src/model/**', 'src/quant/methods/**', 'src/browser.ts', 'src/io/lowbit-read.ts', 'src/io/lowbit-model-read.ts', 'src/io/tokenizer-core.ts', 'src/io/lowbit-header.ts', 'src/io/hf-config.ts', 'src/io/crc32.ts', 'src/io/errors.ts', 'src/io/json.ts', 'src/runtime/upload.ts', 'src/runtime/handle.ts', 'src/runtime/options.ts', 'src/runtime/text-stream.ts', 'src/runtime/generate.ts', 'src/runtime/decode.ts', 'src/runtime/sampler.ts', 'src/eval/perplexity.ts'],
    ignores: ['src/**/node*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'webgpu', message: 'the numeric core must stay browser-safe; only src/backend/webgpu/node*.ts loads the webgpu package' }],
        patterns: [{ group: ['node:*', 'fs', 'path', 'os', 'worker_threads'], message: 'the numeric core must stay browser-safe; use a node*.ts adapter' }],
      }],
    },
  },
);
