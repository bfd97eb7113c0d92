// The client SDK: it takes the chain and the contract from the user's network profile and the
// enclave's key from the contract (never from a node), checks the enclave against its own policy,
// signs and seals commands and queries, posts them to any node, and opens the answers sealed to it.
import { type Address, bytesToHex, type Hex, hexToBytes } from "viem";
import type { App, CommandName, CommandParams, QueryName, QueryParams } from "../app/app.js";
import type { StateValue } from "../app/canonical.js";
import type { Schema } from "../app/schema.js";
import type { AppIdentity, LedgerDomain } from "../protocol/digests.js";
import { publicParams } from "../protocol/public-answer.js";
import type { LedgerPoint } from "../protocol/receipts.js";
import { NEXT_NONCE_QUERY } from "../protocol/wire.js";
import type { AnswerPosition, ChainChecks, CheckedReceipt } from "./chain-checks.js";
import type { AnonifyClientOptions, CommandView, QueryResult, SendProgress } from "./client-options.js";
import {
  type CommandReceipt,
  openQueryResult,
  openReceipt,
  openRefusal,
  sealCommand,
  sealQuery,
  signCommand,
  signQuery,
} from "./command.js";
import type { TrustedEnclaves } from "./enclave-evidence.js";
import { type EnclaveVerdict, platformLabel } from "./enclave-policy.js";
import { AnonifyClientError, unorderedRefusal } from "./errors.js";
import { knownAfterLoss } from "./lost-answer.js";
import { chosenApp } from "./network-app.js";
import { trustNetwork } from "./network-trust.js";
import { NODE_COMMAND, NODE_QUERY_ANSWER, type NodeCommand, nodeJson } from "./node-api.js";
import { type Ask, askNode, DEFAULT_RETRY_POLICY, type RetryPolicy } from "./node-retry.js";
import { type PublishedOutputs, readPublicOutputs } from "./public-outputs.js";
import { checkPublicAnswer, NODE_PUBLIC_ANSWER } from "./public-query.js";

export type { AnswerPosition, CheckedReceipt } from "./chain-checks.js";
export { DEFAULT_MAX_LAG_SECONDS } from "./chain-checks.js";
export type { AnonifyClientOptions, CommandView, QueryResult, SendProgress } from "./client-options.js";
export { AnonifyClientError } from "./errors.js";
export { checkNodeNetwork } from "./node-api.js";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./node-retry.js";

/** How long one status request asks the node to wait (the node caps it at 30 s). */
const STATUS_WAIT_MS = 10_000;
const DEFAULT_RECEIPT_TIMEOUT_MS = 60_000;
/** Refusals that mean the nonce this client counted is not the account's next one. */
const NONCE_REFUSALS = new Set(["replayed_nonce", "nonce_gap"]);

/** The name of the app a client was given, by definition or by name (none: the network's). */
const appNameOf = (app: App | string | undefined): string | undefined =>
  typeof app === "object" ? app.name : app;

/** How long the next request may ask the node to wait, within the caller's deadline. */
const statusWait = (deadline: number) => Math.max(0, Math.min(deadline - Date.now(), STATUS_WAIT_MS));
const waitQuery = (waitMs: number) => (waitMs > 0 ? `?wait=${Math.round(waitMs)}` : "");

/**
 * A request to the node, sent again as the node asks (`askNode`): `path(waitMs)` names the route
 * with the wait the node may hold it; a body, the same bytes each time.
 */
function nodeRequest<T>(
  fetcher: typeof globalThis.fetch,
  node: string,
  policy: RetryPolicy,
  path: (waitMs: number) => string,
  schema: Schema<T>,
  { body, ...ask }: Ask & { body?: string } = {},
): Promise<T> {
  const init = body === undefined ? undefined : { method: "POST", body };
  return askNode((wait) => nodeJson(fetcher, node, path(wait), schema, init), ask, policy);
}

export class AnonifyClient<A extends App = App> {
  /**
   * The nonce after the last command this client had accepted: its next command uses it without
   * asking the node (like a wallet's nonce manager); a nonce refusal makes it ask again.
   */
  private counted: bigint | undefined;

  private constructor(
    private readonly fetch: typeof globalThis.fetch,
    readonly options: AnonifyClientOptions<A>,
    readonly domain: LedgerDomain,
    /** The enclave this client encrypts to, as the contract records it. */
    readonly served: EnclaveVerdict,
    private readonly enclaveKey: Hex,
    /** The app the network runs (its enclave's, as registered on chain), which this client signs for. */
    readonly appIdentity: AppIdentity,
    /** What receipts and answers are checked against: the chain of the user's network profile. */
    private readonly onChain: ChainChecks,
    /** The enclaves this client judged from their evidence. */
    private readonly trusted: TrustedEnclaves,
    private readonly retry: RetryPolicy,
  ) {}

  /** A request to this client's node (see `nodeRequest`). */
  private request<T>(
    path: (waitMs: number) => string,
    schema: Schema<T>,
    options?: Ask & { body?: string },
  ): Promise<T> {
    return nodeRequest(this.fetch, this.options.node, this.retry, path, schema, options);
  }

  /** The name of the app this client signs for: the network's. */
  get app(): string {
    return this.appIdentity.name;
  }

  /** The address of the enclave this client encrypts to. */
  get enclave(): Address {
    return this.served.address;
  }

  /**
   * What the user should know about the enclave this client encrypts to (a simulated or debug one),
   * empty for a production enclave.
   */
  get warnings(): string[] {
    const { address, simulated, debug } = this.served;
    if (simulated)
      return [
        `enclave ${address} runs on the simulated TEE platform: it protects nothing (a development network)`,
      ];
    if (debug) return [`enclave ${address} is a debug enclave: its host can read its memory`];
    return [];
  }

  /**
   * The verdict the client acted on, e.g. "enclave 0x… (Intel SGX): measurement 0x…, TCB UpToDate,
   * debug no", or "enclave 0x… (simulated TEE): measurement 0x…, protects nothing".
   */
  describeEnclave(): string {
    const v = this.served;
    const judged = v.simulated ? "protects nothing" : `TCB ${v.tcbStatus}, debug ${v.debug ? "yes" : "no"}`;
    return `enclave ${v.address} (${platformLabel(v)}): measurement ${v.measurement}, ${judged}`;
  }

  /**
   * Checks that the RPC serves the profile's chain and that the node names the same chain and
   * contract (`wrong_chain`, `wrong_network`), asks the node which enclave serves it, reads that
   * enclave's registration and HPKE key from the contract (`enclave_not_active`) and checks it
   * against the client's policy (`enclave_not_allowed`), and learns the app the network runs: the
   * one the node names, if that enclave registered with its id (`wrong_app` if not, or if the client
   * was asked for another app: "this network runs auction, not erc20"). Nothing is sent to the node
   * before these pass, and a node that lies about its enclave cannot make the client encrypt to a key
   * of its choosing.
   */
  static async connect<A extends App = App>(options: AnonifyClientOptions<A>): Promise<AnonifyClient<A>> {
    const fetcher = options.fetch ?? globalThis.fetch;
    const retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    const t = await trustNetwork(options, fetcher, (path, schema) =>
      nodeRequest(fetcher, options.node, retry, () => path, schema),
    );
    const app = chosenApp(appNameOf(options.app), t.runs);
    return new AnonifyClient(
      fetcher,
      options,
      t.domain,
      t.served,
      t.enclaveKey,
      app,
      t.onChain,
      t.trusted,
      retry,
    );
  }

  /** See `ChainChecks.checkReceipt`: `receipt_not_on_chain` unless the chain holds the receipt's batch. */
  checkReceipt(receipt: CommandReceipt): Promise<CheckedReceipt> {
    return this.onChain.checkReceipt(receipt, (enclave) => this.trusted.trustSubmitter(enclave));
  }

  /**
   * See `ChainChecks.checkAnswer`: `answer_from_fork` unless the chain holds the state answered from,
   * `stale_answer` if the answer is further behind the chain than the client's bound.
   */
  checkAnswer(at: LedgerPoint): Promise<AnswerPosition> {
    return this.onChain.checkAnswer(at, this.options.maxLagSeconds);
  }

  get address(): Address {
    return this.options.account.address;
  }

  async nextNonce(): Promise<bigint> {
    const { result } = await this.ask(NEXT_NONCE_QUERY, {});
    if (typeof result !== "bigint")
      throw new AnonifyClientError("malformed", "nextNonce answer is not an integer");
    return result;
  }

  /**
   * A node's refusal with its sealed reason opened: the node sees only `refused` for a refusal after
   * the enclave opened the message; the precise code and reason are sealed to this client.
   */
  private async unsealed(
    error: unknown,
    kind: "command" | "query",
    signed: { digest: Hex; responseKey: Uint8Array },
  ): Promise<AnonifyClientError> {
    if (!(error instanceof AnonifyClientError)) throw error;
    if (!error.sealedReason) return error;
    const refusal = await openRefusal(kind, signed.responseKey, hexToBytes(error.sealedReason), {
      domain: this.domain,
      digest: signed.digest,
    });
    return new AnonifyClientError(refusal.code, refusal.reason);
  }

  /** Signs, seals and posts a command; returns its id and the key that opens its receipt. */
  async send<K extends CommandName<A>>(
    command: K,
    params: CommandParams<A, K>,
    nonce?: bigint,
    progress?: SendProgress,
  ): Promise<{ id: Hex; responseKey: Uint8Array }> {
    const { id, responseKey } = await this.post(command, params, nonce, 0, progress);
    return { id, responseKey };
  }

  /**
   * Posts a command; with `waitMs`, the node answers once it is ordered (or when the wait ends), so
   * the receipt may come with the answer to the post itself.
   */
  private async post(
    command: string,
    params: Readonly<Record<string, unknown>>,
    nonce: bigint | undefined,
    waitMs: number,
    progress?: SendProgress,
  ): Promise<{ id: Hex; responseKey: Uint8Array; answer: NodeCommand }> {
    const useNonce = nonce ?? this.counted ?? (await this.nextNonce());
    const signed = await signCommand(this.options.account, this.domain, {
      app: this.app,
      command,
      params,
      nonce: useNonce,
    });
    progress?.("signed");
    const envelope = await sealCommand(signed.signed, this.enclaveKey);
    progress?.("sealed");
    // Signed and sealed once: a retry sends these same bytes (see src/client/node-retry.ts).
    const body = JSON.stringify({ envelope: bytesToHex(envelope) });
    let answer: NodeCommand;
    try {
      // Without ?wait at once if the node has no waiting slot (the command was not accepted).
      answer = await this.request((wait) => `/v1/commands${waitQuery(wait)}`, NODE_COMMAND, { body, waitMs });
    } catch (error) {
      // The answer lost, the command perhaps taken: the node is asked for it by id (lost-answer.ts).
      const known = await knownAfterLoss(error, (ask) =>
        this.request(() => `/v1/commands/${signed.digest}`, NODE_COMMAND, ask),
      );
      if (!known) {
        const refused = await this.unsealed(error, "command", signed);
        // Another client of this account got there first: ask the node again next time.
        if (NONCE_REFUSALS.has(refused.code)) this.counted = undefined;
        throw refused;
      }
      answer = known;
    }
    if (answer.id.toLowerCase() !== signed.digest.toLowerCase()) {
      throw new AnonifyClientError("wrong_id", "the node named another command than the one sent");
    }
    this.counted = useNonce + 1n;
    return { id: answer.id, responseKey: signed.responseKey, answer };
  }

  async status(id: Hex, responseKey?: Uint8Array, waitMs = 0): Promise<CommandView> {
    const answer = await this.request((wait) => `/v1/commands/${id}${waitQuery(wait)}`, NODE_COMMAND, {
      waitMs,
      pause: true,
    });
    return this.opened(answer, id, responseKey);
  }

  /**
   * A node's status answer with its receipt opened (checked to name command `id`) and checked on
   * chain (`checkReceipt`): the client reports `applied` or `failed` only for a batch the chain holds.
   */
  private async opened(answer: NodeCommand, id: Hex, responseKey?: Uint8Array): Promise<CommandView> {
    if (!answer.receipt || !responseKey) return { id, status: answer.status };
    const opened = await openReceipt(responseKey, hexToBytes(answer.receipt), {
      domain: this.domain,
      digest: id,
    });
    const refused = unorderedRefusal(opened); // never ordered: nothing on chain to check it against
    if (refused) throw refused;
    const receipt = await this.checkReceipt(opened);
    return { id, status: receipt.status, receipt };
  }

  /** Waits until the command is applied or failed, and returns its opened receipt. */
  async waitForReceipt(
    id: Hex,
    responseKey: Uint8Array,
    timeoutMs = DEFAULT_RECEIPT_TIMEOUT_MS,
  ): Promise<CheckedReceipt> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // The node holds the request until the command is ordered: no polling interval to tune.
      const s = await this.status(id, responseKey, statusWait(deadline));
      if (s.receipt) return s.receipt;
      if (Date.now() >= deadline)
        throw new AnonifyClientError("timeout", `command ${id} is still ${s.status}`);
    }
  }

  /** Sends a command and waits for its receipt (one request when it is ordered within the wait). */
  async call<K extends CommandName<A>>(
    command: K,
    params: CommandParams<A, K>,
    nonce?: bigint,
    timeoutMs = DEFAULT_RECEIPT_TIMEOUT_MS,
  ): Promise<CheckedReceipt & { id: Hex }> {
    const deadline = Date.now() + timeoutMs;
    const { id, responseKey, answer } = await this.post(command, params, nonce, statusWait(deadline));
    const { receipt } = await this.opened(answer, id, responseKey);
    return { ...(receipt ?? (await this.waitForReceipt(id, responseKey, deadline - Date.now()))), id };
  }

  /** A query's result (see `queryAt`, which also names the point it reflects). */
  async query<K extends QueryName<A>>(name: K, params: QueryParams<A, K>): Promise<StateValue> {
    return (await this.queryAt(name, params)).result;
  }

  /**
   * A signed query; the answer is sealed to this client and names the ledger point it reflects,
   * checked on chain (`checkAnswer`: `answer_from_fork`, `stale_answer`) and returned with the
   * result. Throws with the app's reason if refused.
   */
  queryAt<K extends QueryName<A>>(name: K, params: QueryParams<A, K>): Promise<QueryResult> {
    return this.ask(name, params);
  }

  /**
   * A query the app declares public (an auction's result, a ballot's tally): asked without a
   * signature, answered in clear and signed by the node's enclave, and checked here as any answer
   * (public-query.ts: `forged_answer`, `wrong_app`, the enclave's judgement, the point on chain).
   */
  async publicQuery<K extends QueryName<A>>(name: K, params: QueryParams<A, K>): Promise<QueryResult> {
    const body = `{"name":${JSON.stringify(name)},"params":${publicParams(params)}}`;
    const answer = await this.request(() => "/v1/public-queries", NODE_PUBLIC_ANSWER, { body });
    const { domain, appIdentity: app, onChain, trusted } = this;
    return checkPublicAnswer({ domain, app, onChain, trusted, name, params, answer });
  }

  /** Batch `batch`'s public outputs from the chain, checked; undefined until published (public-outputs.ts). */
  publicOutputs(batch: bigint, fromBlock?: bigint): Promise<PublishedOutputs | undefined> {
    const { domain, appIdentity: app, onChain, trusted } = this;
    return readPublicOutputs({ domain, app, onChain, trusted }, batch, fromBlock);
  }

  /** Any query, the app's or the protocol's (`nextNonce`), by name. */
  private async ask(name: string, params: Readonly<Record<string, unknown>>): Promise<QueryResult> {
    const signed = await signQuery(this.options.account, this.domain, { app: this.app, query: name, params });
    const envelope = await sealQuery(signed.signed, this.enclaveKey);
    let answer: Hex;
    try {
      ({ answer } = await this.request(() => "/v1/queries", NODE_QUERY_ANSWER, {
        body: JSON.stringify({ envelope: bytesToHex(envelope) }),
      }));
    } catch (error) {
      throw await this.unsealed(error, "query", signed);
    }
    const opened = await openQueryResult(signed.responseKey, hexToBytes(answer), {
      domain: this.domain,
      digest: signed.digest,
    });
    if (opened.status !== "ok") throw new AnonifyClientError("query_rejected", opened.reason);
    if (!opened.at) throw new AnonifyClientError("answer_from_fork", "the answer names no ledger point");
    return { result: opened.result, at: await this.checkAnswer(opened.at) };
  }
}
