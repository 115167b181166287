import { startEmbeddedPostgres } from '../src/db/embedded.js';
import postgres from 'postgres';
const t0 = Date.now();
const db = await startEmbeddedPostgres(process.argv[2]!, { port: Number(process.argv[3]), onRecover: (i) => console.log('recover', i) });
console.log('started', Date.now() - t0, 'ms');
const sql = postgres(db.ownerUrl('postgres'));
console.log(await sql`select version()`);
await sql.end();
if (process.argv[4] === 'hang') { console.log('pid', process.pid); setInterval(() => {}, 1000); }
else { await db.stop(); console.log('stopped', Date.now() - t0); }
