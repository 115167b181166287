import { freePort } from '../../src/db/embedded.js';
import { startMockServices, type MockServices } from '../../src/mock-services/server.js';
import { startTestServer, type TestServer } from './server.js';

/**
 * The SSO tests' world: the mock services (with their real OpenID provider) and a test server whose
 * PUBLIC_URL is its own address, so the IdP's redirects come back to it; APP_URL is a frontend the
 * tests only read redirects to.
 */
export async function startSsoServers(): Promise<{ server: TestServer; mock: MockServices; appUrl: string; close(): Promise<void> }> {
  const mock = await startMockServices({ seedUsers: 1 });
  const port = await freePort();
  const server = await startTestServer({ port, env: { PUBLIC_URL: `http://127.0.0.1:${port}`, APP_URL: 'http://app.tessera.test' } });
  return {
    server,
    mock,
    appUrl: server.app.config.appUrl,
    close: async () => {
      await server.close();
      await mock.close();
    },
  };
}
