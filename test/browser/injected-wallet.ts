// An EIP-1193 provider injected into the page as a browser wallet extension would inject one: the
// key stays in the test (the wallet's side), and the page asks it to sign typed data.
import assert from "node:assert/strict";
import type { BrowserContext } from "playwright-core";
import type { Hex, LocalAccount } from "viem";
import { COMMAND_TYPES, QUERY_TYPES } from "../../src/protocol/eip712.js";

/** What the wallet was asked to sign: the typed data its prompt shows. */
export type Prompted = { primaryType: string; message: Record<string, unknown> };

type TypedJson = {
  domain: Record<string, unknown>;
  types: Record<string, { name: string; type: string }[]>;
  primaryType: string;
  message: Record<string, unknown>;
};

/**
 * Signs what the page asked to be signed. The wallet knows no Anonify types: it takes the prompt's
 * types, which must be the protocol's, and reads its integers back from JSON's strings.
 */
function signPrompt(account: LocalAccount, typed: TypedJson): Promise<Hex> {
  const domain = { ...typed.domain, chainId: Number(typed.domain.chainId) } as const;
  const m = typed.message;
  const common = { app: String(m.app), params: String(m.params), responseKeyHash: m.responseKeyHash as Hex };
  if (typed.primaryType === "Command") {
    assert.deepEqual(typed.types.Command, COMMAND_TYPES.Command);
    const message = { ...common, command: String(m.command), nonce: BigInt(String(m.nonce)) };
    return account.signTypedData({ domain, types: COMMAND_TYPES, primaryType: "Command", message });
  }
  assert.deepEqual(typed.types.Query, QUERY_TYPES.Query);
  const message = { ...common, query: String(m.query), issuedAt: BigInt(String(m.issuedAt)) };
  return account.signTypedData({ domain, types: QUERY_TYPES, primaryType: "Query", message });
}

export async function injectWallet(context: BrowserContext, account: LocalAccount): Promise<Prompted[]> {
  const prompted: Prompted[] = [];
  await context.exposeFunction("__testWallet", async (method: string, paramsJson: string) => {
    const params = JSON.parse(paramsJson) as unknown[];
    if (method === "eth_requestAccounts" || method === "eth_accounts")
      return JSON.stringify([account.address]);
    if (method === "eth_signTypedData_v4") {
      if (String(params[0]).toLowerCase() !== account.address.toLowerCase())
        throw new Error("unknown account");
      const typed = JSON.parse(String(params[1])) as TypedJson;
      prompted.push({ primaryType: typed.primaryType, message: typed.message });
      return JSON.stringify(await signPrompt(account, typed));
    }
    throw new Error(`the test wallet does not answer ${method}`);
  });
  // As text: a function would be serialized with what the test's compiler added to it.
  await context.addInitScript(`
    window.ethereum = {
      request: async ({ method, params }) =>
        JSON.parse(await window.__testWallet(method, JSON.stringify(params ?? []))),
      on() {},
      removeListener() {},
    };
  `);
  return prompted;
}
