// The confidential token of a test network: constructed once by an issuer the fixture keeps to
// itself, which mints to each test's own fresh accounts, so no test depends on another's balances or
// nonces.
import type { Address, LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { type StatusSource, waitForApplied } from "./group.js";
import type { TestNet } from "./network.js";

/** What the token needs of a network: clients, and its nodes' status (in process or over HTTP). */
export type TokenNet = Pick<TestNet, "client"> & { running(): readonly StatusSource[] };

export const newAccount = (): LocalAccount => privateKeyToAccount(generatePrivateKey());

export type Token = {
  /** The token's owner (the only one who mints). */
  readonly owner: Address;
  /** Mints `amount` to `to`; resolves once every node has applied it. */
  fund(to: Address, amount: bigint): Promise<void>;
  /** A fresh account holding `amount`. */
  fundedAccount(amount: bigint): Promise<LocalAccount>;
};

/** Constructs the token (supply 0) on `tn` (a devnet or nodes on another chain) with a fresh issuer at node `index`. */
export async function issueToken(tn: TokenNet, index = 0): Promise<Token> {
  const issuer = newAccount();
  const issued = await (await tn.client(issuer, index)).call("construct", { totalSupply: 0 });
  if (issued.status !== "applied") throw new Error(`the token was not constructed: ${issued.reason}`);
  // One mint at a time: the issuer's nonces are its own, whichever tests ask for tokens.
  let queue: Promise<unknown> = Promise.resolve();
  const fund = (to: Address, amount: bigint) => {
    const minted = queue.then(async () => {
      const receipt = await (await tn.client(issuer, index)).call("mint", { to, amount: amount.toString() });
      if (receipt.status !== "applied") throw new Error(`mint to ${to} ${receipt.status}: ${receipt.reason}`);
      await waitForApplied(tn.running(), receipt.sequence + 1n);
    });
    queue = minted.catch(() => undefined);
    return minted;
  };
  return {
    owner: issuer.address,
    fund,
    async fundedAccount(amount) {
      const account = newAccount();
      await fund(account.address, amount);
      return account;
    },
  };
}
