/**
 * Layers only point down (docs/architecture.md). An arrow reads "is imported by"; a file may import
 * its own layer or lower ones, never a higher one:
 *
 *   base (config, errors, logger, metrics, validation)
 *     → db
 *     → auth, jobs, realtime
 *     → integrations
 *     → modules (+ src/app.ts, the App container type the modules receive)
 *     → graphql, http (+ src/modules/<domain>/resolvers.ts: GraphQL glue kept beside its service)
 *     → bootstrap, seed, main, migrate-cli, workers (wiring: which handler runs on which queue)
 *
 * src/mock-services is a separate program (the fake providers): it may import only the base layer,
 * and only main.ts (which starts it in development) may import it. tests/ and bench/ may import
 * anything; src/ never imports them. `npm run lint:deps` runs this; .ci/run fails on any violation.
 */
const BASE = '^src/(config|errors|logger|metrics|validation)\\.ts$';
const DB = '^src/db/';
const LOW = '^src/(auth|jobs|realtime)/';
const INTEGRATIONS = '^src/integrations/';
const MODULES = '^src/(modules/|app\\.ts$)';
/** GraphQL glue: resolvers sit beside their module's service but are the graphql layer's code. */
const RESOLVERS = '^src/modules/[^/]+/resolvers\\.ts$';
const EDGE = `^src/(graphql|http)/|${RESOLVERS}`;
/** Start-up and wiring: the process entry points, the App builder, which handler runs on which queue. */
const TOP = '^src/(bootstrap|seed|main|migrate-cli|workers)\\.ts$';
const MOCK = '^src/mock-services/';

/** A rule: files in `from` may import within src/ only what `allowed` matches. */
const layer = (name, comment, from, allowed, fromNot) => ({
  name,
  comment,
  severity: 'error',
  from: fromNot ? { path: from, pathNot: fromNot } : { path: from },
  to: { path: '^src/', pathNot: allowed.join('|') },
});

module.exports = {
  forbidden: [
    layer('base-imports-nothing-above', 'config/errors/logger/metrics/validation are the bottom layer', BASE, [BASE]),
    layer('db-above-base-only', 'db/ may import only the base layer', DB, [BASE, DB]),
    layer('auth-jobs-realtime-above-db-only', 'auth/, jobs/, realtime/ may import db/ and base, not integrations or higher', LOW, [BASE, DB, LOW]),
    layer('integrations-below-modules', 'integrations/ may not import modules/, the App container, graphql/, http/ or the top', INTEGRATIONS, [BASE, DB, LOW, INTEGRATIONS]),
    layer('modules-below-graphql-http', 'modules/ may not import graphql/, http/ or the top', MODULES, [BASE, DB, LOW, INTEGRATIONS, MODULES], RESOLVERS),
    layer('graphql-http-below-top', 'graphql/ and http/ may not import bootstrap, seed or main', EDGE, [BASE, DB, LOW, INTEGRATIONS, MODULES, EDGE]),
    layer('mock-services-separate', 'the mock providers are a separate program: base layer only', MOCK, [BASE, MOCK]),
    {
      name: 'only-main-starts-mock-services',
      comment: 'the server never calls the fake providers in code; main.ts starts them for the demo',
      severity: 'error',
      from: { path: '^src/', pathNot: `${MOCK}|^src/main\\.ts$` },
      to: { path: MOCK },
    },
    {
      name: 'src-never-imports-tests-or-bench',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(tests|bench)/' },
    },
    { name: 'no-circular', comment: 'no import cycles, anywhere', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'no-unlisted-packages',
      comment: 'every package imported is in package.json (not only present as something else\'s dependency); the PostGraphile side of the comparison bench requires it from the folder the bench installs it into, outside our dependencies, and the floor imports the build (dist/) the bench makes before starting it',
      severity: 'error',
      from: { pathNot: '^bench/vs-postgraphile/(postgraphile|floor)-server\\.mjs$' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown', 'unknown', 'undetermined'] },
    },
    {
      name: 'src-no-dev-dependencies',
      comment: 'the server runs without devDependencies installed (the embedded Postgres, development only, is loaded on demand)',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/db/embedded\\.ts$' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-orphans',
      comment: 'a src file nothing imports is dead code (entry points excepted)',
      severity: 'error',
      from: {
        orphan: true,
        path: '^src/',
        pathNot: ['^src/main\\.ts$', '^src/migrate-cli\\.ts$', '^src/mock-services/main\\.ts$', '\\.d\\.ts$'],
      },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^\\.data/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
