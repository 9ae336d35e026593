// Lint: neostandard (the Fastify organisation's style) plus typescript-eslint's type-aware rules that catch what
// the compiler lets through: promises nobody awaits or that are passed where a callback's result is ignored, and
// `any` leaking into typed code.
import neostandard from 'neostandard'
import tseslint from 'typescript-eslint'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tap/**'] }),
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // tap tracks every subtest on its parent (`t.test(...)` is awaited by tap itself), so its promise is not floating.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }]
      }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unsafe-assignment': 'error',
      '@typescript-eslint/no-unsafe-member-access': 'error',
      '@typescript-eslint/no-unsafe-call': 'error',
      '@typescript-eslint/no-unsafe-return': 'error',
      '@typescript-eslint/no-unsafe-argument': 'error',
      // `${secret:NAME}` is this service's placeholder syntax inside plain strings, not a mistyped template literal.
      'no-template-curly-in-string': 'off'
    }
  },
  {
    // Tests read reply bodies as `any` (`res.json()`, `getJson(...).body`) and assert on them with tap, which is the
    // type check there: a wrong shape fails the assertion. Typing every body read would mean hundreds of casts in
    // files that only assert; the unsafe-* rules stay on for src/, bench/ and scripts/, and the promise rules stay on
    // everywhere.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off'
    }
  }
]
