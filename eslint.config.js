/**
 * Lint configuration: neostandard, the `standard` style the code is written in, with TypeScript support. Build
 * output and everything else .gitignore lists is not linted. The few departures below each say why; run with
 * `npm run lint` (warnings fail too).
 */
const neostandard = require('neostandard')

module.exports = [
  ...neostandard({
    ts: true,
    ignores: neostandard.resolveIgnoresFromGitignore(),
  }),
  {
    rules: {
      // Long object literals wrap at the line limit with several properties per line; the rule would force one
      // property per line as soon as an object spans two lines.
      '@stylistic/object-property-newline': 'off',
      // `void promise` is how TypeScript code marks a promise it deliberately does not await (the convention of
      // typescript-eslint's no-floating-promises); as an expression it stays forbidden.
      'no-void': ['error', { allowAsStatement: true }],
      // A handler registered before the object it uses exists (a signal handler, a uWS route) reads a `let` that
      // is assigned once, later; it cannot be const.
      'prefer-const': ['error', { destructuring: 'all', ignoreReadBeforeAssign: true }],
      // uWebSockets.js names its types and functions `us_*` (us_listen_socket); everything else stays camelCase.
      camelcase: ['error', { allow: ['^UNSAFE_', '^us_'], properties: 'never', ignoreGlobals: true }],
    },
  },
]
