import net from 'node:net';
import request from 'supertest';
import { PASSWORD, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

/** A raw HTTP/1.1 connection, to hold a request half-sent and to pipeline another behind it. */
function openConnection(url: string) {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, connected, ended, received: () => received };
}

describe('shutting down', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it('fails readiness at once, lets a request in flight finish, and refuses new connections', async () => {
    const username = uniqueUsername();
    const body = JSON.stringify({ username, password: PASSWORD });
    const connection = openConnection(app.http);
    await connection.connected;
    // A signup whose body is not all there yet: in flight when the drain begins.
    connection.socket.write(
      `POST /signup HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
    );
    // Wait until the server has the request: its headers are parsed once /readyz still answers 200 on another connection.
    expect((await request(app.http).get('/readyz')).status).toBe(200);

    const closed = app.close();
    // The rest of the body, and a readiness probe pipelined behind it on the same connection.
    connection.socket.write(`${body.slice(5)}GET /readyz HTTP/1.1\r\nHost: test\r\n\r\n`);
    await connection.ended;
    await closed;

    const answers = connection.received().split(/(?=HTTP\/1\.1 )/);
    expect(answers).toHaveLength(2);
    expect(answers[0]).toMatch(/^HTTP\/1\.1 201 /);
    expect(answers[0]).toContain(`"username":"${username}"`);
    expect(answers[1]).toMatch(/^HTTP\/1\.1 503 /);
    expect(answers[1]).toContain('"code":"SHUTTING_DOWN"');
    await expect(request(app.http).get('/healthz')).rejects.toThrow(/ECONNREFUSED/);
  });
});
