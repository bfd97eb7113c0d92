// Raw HTTP from a chosen local address, for tests that play several hostile clients of one node
// (Linux routes all of 127.0.0.0/8 to loopback, so each 127.0.0.x is a client address of its own).
// Unlike `fetchFrom`, it sends what no well-behaved client would: any method, headers and bytes, a
// body in chunks; every request has a deadline, so a socket the node never answers is a failure
// the test sees rather than a hang.
import { Agent, type IncomingHttpHeaders, request } from "node:http";

export type RawRequest = {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /**
   * A body sent in chunks (`Transfer-Encoding: chunked`), each written after the previous one was
   * flushed, until all are sent or the node answers: an upload the node must cut short.
   */
  chunks?: { bytes: number; count: number };
};

export type RawAnswer = { status: number; headers: IncomingHttpHeaders; text: string };

/** How long a request may go unanswered: the longest `?wait` a node holds (30 s), and a margin. */
export const RAW_ANSWER_DEADLINE_MS = 40_000;

export class RawClient {
  readonly #agent: Agent;

  /** Connections to `base` from `localAddress`, at most `maxSockets` at once, kept alive. */
  constructor(
    readonly localAddress: string,
    readonly base: string,
    maxSockets: number,
  ) {
    this.#agent = new Agent({ keepAlive: true, maxSockets });
  }

  send(req: RawRequest, deadlineMs = RAW_ANSWER_DEADLINE_MS): Promise<RawAnswer> {
    const url = new URL(req.path, this.base);
    const headers: Record<string, string> = { ...req.headers };
    if (req.body !== undefined) headers["content-length"] = String(Buffer.byteLength(req.body));
    if (req.chunks) headers["transfer-encoding"] = "chunked";
    return new Promise<RawAnswer>((resolve, reject) => {
      let answered = false;
      const outgoing = request(
        {
          host: url.hostname,
          port: url.port,
          path: `${url.pathname}${url.search}`,
          method: req.method ?? "GET",
          headers,
          localAddress: this.localAddress,
          agent: this.#agent,
        },
        (res) => {
          answered = true;
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            // An upload cut short leaves the request unfinished: its socket is not reusable.
            if (req.chunks) outgoing.destroy();
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString(),
            });
          });
        },
      );
      outgoing.setTimeout(deadlineMs, () =>
        outgoing.destroy(new Error(`no answer within ${deadlineMs} ms: ${req.method ?? "GET"} ${req.path}`)),
      );
      outgoing.on("error", (error) => {
        // The node may close the connection of an upload it refused while chunks are still going out.
        if (!answered) reject(error);
      });
      if (!req.chunks) {
        outgoing.end(req.body);
        return;
      }
      const { bytes, count } = req.chunks;
      const chunk = Buffer.alloc(bytes, "a");
      const writeNext = (sent: number) => {
        if (answered || outgoing.destroyed) return;
        if (sent === count) outgoing.end();
        else outgoing.write(chunk, () => writeNext(sent + 1));
      };
      writeNext(0);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
