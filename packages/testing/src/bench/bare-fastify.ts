// The report benchmark's baseline server: bare Fastify answering one constant JSON route, run as its own
// process like the API, so both are measured the same way. Listens on HOST:PORT; stops when its parent goes.

import Fastify from 'fastify';

const BODY = { report: 'constant', position: '0', rows: [{ semester: '2026/27-1', plans: 0 }] };

const app = Fastify({ logger: false });
app.get('/constant', async () => BODY);
await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 0) });
const stop = () => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
