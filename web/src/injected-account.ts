// An EIP-1193 wallet (MetaMask and the like) as the SDK's account: it signs commands and queries as
// EIP-712 typed data (`eth_signTypedData_v4`), so the user reads the command in the wallet's own
// prompt. The SDK carries the signer's public key, which a wallet does
// not give: it is recovered from each signature (and the SDK checks it against the address).
import {
  type EIP1193Provider,
  type Hex,
  hashTypedData,
  type LocalAccount,
  recoverPublicKey,
  serializeTypedData,
  stringify,
} from "viem";
import { toAccount } from "viem/accounts";

declare global {
  interface Window {
    ethereum?: EIP1193Provider;
  }
}

export function injectedProvider(): EIP1193Provider | undefined {
  return window.ethereum;
}

/** The fields of the SDK's EIP-712 domain (`eip712Domain` in src/protocol/eip712.ts), as wallets want them named. */
const DOMAIN_TYPE = [
  { name: "name", type: "string" },
  { name: "version", type: "string" },
  { name: "chainId", type: "uint256" },
  { name: "verifyingContract", type: "address" },
];

/** The JSON `eth_signTypedData_v4` takes: viem's serialization, with the domain and its type named. */
function typedDataJson(serialized: string, domain: unknown): string {
  const typed = JSON.parse(serialized);
  return JSON.stringify({
    ...typed,
    domain: JSON.parse(stringify(domain)),
    types: { EIP712Domain: DOMAIN_TYPE, ...typed.types },
  });
}

export async function injectedAccount(provider: EIP1193Provider): Promise<LocalAccount> {
  const [address] = await provider.request({ method: "eth_requestAccounts" });
  if (!address) throw new Error("the wallet shared no account");
  let publicKey: Hex | undefined;
  const account = toAccount({
    address,
    // The SDK signs typed data only.
    signMessage: () => Promise.reject(new Error("the Anonify wallet signs no plain messages")),
    signTransaction: () => Promise.reject(new Error("the Anonify wallet signs no transactions")),
    async signTypedData(typed) {
      const signature = await provider.request({
        method: "eth_signTypedData_v4",
        params: [address, typedDataJson(serializeTypedData(typed), typed.domain)],
      });
      publicKey = await recoverPublicKey({ hash: hashTypedData(typed), signature });
      return signature;
    },
  });
  return {
    ...account,
    // Read by the SDK only after a signature, from which it was recovered.
    get publicKey(): Hex {
      if (!publicKey) throw new Error("the wallet's public key is known after its first signature");
      return publicKey;
    },
  };
}
