import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'data/**', 'test-artifacts/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'off',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // The page modules: served as they are to browsers (no build step), type-checked from
    // their JSDoc by packages/web/tsconfig.json.
    files: ['packages/web/public/assets/**/*.js'],
    languageOptions: { sourceType: 'module', ecmaVersion: 2020 },
    rules: {
      'no-var': 'error',
      'prefer-const': 'error',
      'no-implied-eval': 'error',
      'no-eval': 'error',
      'no-restricted-properties': ['error',
        { property: 'innerHTML', message: 'User-supplied text is only written with textContent.' },
        { property: 'outerHTML', message: 'User-supplied text is only written with textContent.' },
        { property: 'insertAdjacentHTML', message: 'User-supplied text is only written with textContent.' },
      ],
      'no-restricted-syntax': ['error',
        {
          selector: ':matches(ImportDeclaration, ExportNamedDeclaration, ExportAllDeclaration, ImportExpression)[source.value=/^(?!\\.\\.?\\/).*|^(?!.*\\.js$)/]',
          message: 'Browsers load only relative paths ending in .js: no bare or extensionless imports.',
        },
      ],
    },
  },
);
