import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      '.build/',
      '.serverless/',
      '.run/',
      'coverage/',
      // What `faas-cli template store pull` and `faas-cli build --shrinkwrap` leave in the root
      // (deploy/overlays/openfaas/stack.build.yml): the templates and the build contexts.
      'template/',
      'build/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // client-node's generated models are plain data classes; object literals are what its docs use.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
    },
  },
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['**/*.mjs'],
    languageOptions: {
      globals: { process: 'readonly', URL: 'readonly', Buffer: 'readonly', performance: 'readonly' },
    },
  },
  {
    // CommonJS: stand-ins for platform runtimes (the OpenFaaS template) keep the runtime's own shape;
    // build plugins are CommonJS because serverless-esbuild require()s them.
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', process: 'readonly', URL: 'readonly', __dirname: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
    },
  },
);
