// One chain through several JSON-RPC endpoints: a request goes to the endpoint that answered last,
// and on a transport failure (refused or dropped connection, HTTP error status, timeout) to the next
// one, which then stays current. viem's own `fallback` starts every request at the first URL (a
// stalled first URL then costs a timeout per call), and its ranking pings on timers of its own.
// A JSON-RPC error is the chain's answer (a revert, a nonce too low), not an outage: it is returned
// as it came, never asked again elsewhere.
import {
  BaseError,
  createTransport,
  type EIP1193Parameters,
  type EIP1193RequestFn,
  HttpRequestError,
  http,
  TimeoutError,
  type Transport,
} from "viem";

/** An endpoint that has not answered in this long counts as down for this request. */
export const RPC_TIMEOUT_MS = 5_000;

export type FailoverTransportConfig = {
  timeoutMs?: number;
  batch?: boolean;
  /** Told of each outage of an endpoint (its index in `urls`): a node counts them per endpoint. */
  onOutage?: (endpoint: number) => void;
};

/**
 * Methods whose answers can run to megabytes go alone, never in a batch: viem refuses a response
 * body over 10 MiB, and a batch shares one body, so a large `eth_getLogs` page would fail every
 * small call made in the same tick (a node's status, a receipt) along with it.
 */
const UNBATCHED_METHODS: ReadonlySet<string> = new Set(["eth_getLogs"]);

/** Whether `error` is an RPC endpoint not answering (a transport error or a timeout, however wrapped). */
export function isOutage(error: unknown): boolean {
  if (error instanceof HttpRequestError || error instanceof TimeoutError) return true;
  return (
    error instanceof BaseError &&
    error.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError) !== null
  );
}

export function failover(urls: readonly string[], config: FailoverTransportConfig = {}): Transport {
  if (urls.length === 0) throw new Error("failover needs at least one RPC URL");
  const timeout = config.timeoutMs ?? RPC_TIMEOUT_MS;
  let current = 0;
  return ({ chain, retryCount }) => {
    const endpoints = urls.map((url) => ({
      batched: http(url, { batch: config.batch, timeout, retryCount: 0 })({ chain, retryCount: 0 }),
      alone: http(url, { timeout, retryCount: 0 })({ chain, retryCount: 0 }),
    }));
    const request = async ({ method, params }: EIP1193Parameters): Promise<unknown> => {
      let lastOutage: unknown;
      for (let tried = 0; tried < endpoints.length; tried++) {
        const index = (current + tried) % endpoints.length;
        const endpoint = endpoints[index]!;
        try {
          const result = await (UNBATCHED_METHODS.has(method) ? endpoint.alone : endpoint.batched).request({
            method,
            params,
          });
          current = index;
          return result;
        } catch (error) {
          if (!isOutage(error)) throw error;
          config.onOutage?.(index);
          lastOutage = error;
        }
      }
      throw lastOutage;
    };
    return createTransport({
      key: "failover",
      name: "Failover JSON-RPC",
      type: "failover",
      retryCount,
      timeout,
      // Each answer is an endpoint's own, passed through unchanged: its type is the method's.
      request: request as EIP1193RequestFn,
    });
  };
}
