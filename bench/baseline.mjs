/* global process, console, URLSearchParams */
// The benchmark's baseline, in its own process (plain JavaScript, no loader): a bare fastify server that
// parses the form body (as the server does) and answers a fixed TwiML document on every POST path, and
// answers GET /metrics with a fixed text. PORT from the environment; prints "listening <port>".
import Fastify from 'fastify';

const app = Fastify({ logger: false });
const twiml = '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hello</Say></Response>';
app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
  const out = Object.create(null);
  for (const [k, v] of new URLSearchParams(body)) out[k] = v;
  done(null, out);
});
app.post('/*', async (_req, reply) => reply.type('text/xml').send(twiml));
app.get('/*', async (_req, reply) => reply.type('text/plain').send('# fixed\nbaseline_up 1\n'));
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
console.log(`listening ${app.server.address().port}`);
