// Runs s3rver in its own process for test/helpers/s3-server.ts. It is started
// with --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation
// tokens with DES, which OpenSSL 3 (Node >= 17) only offers through the legacy
// provider; without it every truncated listing answers 500.
// Messages to the parent: {type:'ready', port}, {type:'put', key}, {type:'pong', id}.
import S3rver from 's3rver';

const [directory, bucket] = process.argv.slice(2);
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
server.on('event', (event) => {
  for (const record of event.Records) {
    if (record.eventName.startsWith('ObjectCreated')) process.send({ type: 'put', key: record.s3.object.key });
  }
});
process.on('message', (message) => {
  if (message.type === 'ping') process.send({ type: 'pong', id: message.id });
  if (message.type === 'stop') server.close().finally(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
const { port } = await server.run();
process.send({ type: 'ready', port });
