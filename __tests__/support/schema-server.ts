/** A throwaway HTTP server on 127.0.0.1 that stands in for raw.githubusercontent.com in tests. */
import * as http from 'http';
import * as net from 'net';

export interface SchemaServer {
  /** `http://127.0.0.1:<port>`: give it to the download as its base URL. */
  readonly baseUrl: string;
  /** The paths asked for, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** Serves `files` (URL path to bytes); any other path is a 404. */
export function serveFiles(files: ReadonlyMap<string, Buffer>): Promise<SchemaServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const urlPath = new URL(req.url ?? '/', 'http://localhost').pathname;
    requests.push(urlPath);
    const body = files.get(urlPath);
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404: Not Found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length }).end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        baseUrl: `http://127.0.0.1:${port}`,
        requests,
        // fetch keeps connections alive; close them, or close() waits for their idle timeout.
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
