/** `npm run mock-services`: the fake providers as a standalone process (PORT, default 4100). */
import { startMockServices } from './server.js';

const port = Number(process.env.PORT ?? 4100);
const services = await startMockServices({ port, logger: true });
console.log(`Mock services listening on ${services.url}`);
console.log(`  ${['/user-service', '/payment-service', '/communication-service', '/_control'].map((p) => services.url + p).join('\n  ')}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void services.close().then(() => process.exit(0)));
}
