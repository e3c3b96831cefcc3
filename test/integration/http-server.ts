// A real node:http server on 127.0.0.1 with a free port, for tests that need an HTTP
// dependency (directly or behind the fault proxy). close() destroys every socket, so
// keep-alive connections never hold a test run open.
import http from 'node:http';
import type net from 'node:net';

export interface HttpTestServer {
  port: number;
  /** http://127.0.0.1:port */
  url: string;
  server: http.Server;
  close(): Promise<void>;
}

export function httpServer(handler: http.RequestListener): Promise<HttpTestServer> {
  return new Promise((resolve, reject) => {
    const server = http.createServer(handler);
    const sockets = new Set<net.Socket>();
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.removeListener('error', reject);
      const { port } = server.address() as net.AddressInfo;
      let closing: Promise<void> | undefined;
      resolve({
        port,
        url: `http://127.0.0.1:${port}`,
        server,
        close() {
          closing ??= new Promise<void>((done) => {
            server.close(() => done());
            for (const socket of sockets) socket.destroy();
          });
          return closing;
        },
      });
    });
  });
}
