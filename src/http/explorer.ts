import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';

/**
 * GraphiQL at /graphiql, served from node_modules so it works with no internet (Apollo Sandbox, the
 * landing page at /graphql, loads from a CDN). Development only: the package is a dev dependency,
 * and production turns introspection off, which an explorer needs.
 */
export function registerExplorer(fastify: FastifyInstance): boolean {
  const dist = graphiqlDist();
  if (!dist) return false;
  const assets: Record<string, string> = {
    'graphiql.js': 'yoga-graphiql.umd.js',
    'graphiql.css': 'graphiql.css',
    'editor.worker.js': 'monacoeditorwork/editor.worker.bundle.js',
    'graphql.worker.js': 'monacoeditorwork/graphql.worker..bundle.js',
    'json.worker.js': 'monacoeditorwork/json.worker.bundle.js',
  };
  fastify.get('/graphiql', async (_req, reply) => reply.type('text/html; charset=utf-8').send(PAGE));
  fastify.get<{ Params: { asset: string } }>('/graphiql/:asset', async (req, reply) => {
    const file = assets[req.params.asset];
    if (!file) return reply.callNotFound();
    return reply
      .type(file.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=86400')
      .send(fs.createReadStream(path.join(dist, file)));
  });
  return true;
}

function graphiqlDist(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('@graphql-yoga/graphiql/package.json');
    return path.join(path.dirname(pkg), 'dist');
  } catch {
    return undefined;
  }
}

const WELCOME = `# Tessera: log in (the demo password is printed by npm start), then paste the
# accessToken into the Headers tab below as  { "Authorization": "Bearer <accessToken>" }

mutation Login {
  login(input: { tenantSlug: "demo", email: "owner@demo.test", password: "…" }) {
    accessToken
    refreshToken
  }
}

query Me {
  me { id email role }
  tenant { slug name plan status }
}
`;

const OPTIONS = {
  title: 'Tessera GraphiQL',
  endpoint: '/graphql',
  // GraphiQL 5 takes initialQuery; yoga's wrapper reads defaultQuery: give both.
  initialQuery: WELCOME,
  defaultQuery: WELCOME,
  shouldPersistHeaders: true,
};

const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Tessera GraphiQL</title>
    <link rel="stylesheet" href="/graphiql/graphiql.css" />
  </head>
  <body>
    <div id="root" style="height: 100vh"></div>
    <script>
      // Monaco's editor workers, from this server too.
      self.MonacoEnvironment = {
        getWorkerUrl(_id, label) {
          return label === 'json' ? '/graphiql/json.worker.js' : label === 'graphql' ? '/graphiql/graphql.worker.js' : '/graphiql/editor.worker.js';
        },
      };
    </script>
    <script src="/graphiql/graphiql.js"></script>
    <script>
      YogaGraphiQL.renderYogaGraphiQL(document.querySelector('#root'), ${JSON.stringify(OPTIONS)});
    </script>
  </body>
</html>
`;
