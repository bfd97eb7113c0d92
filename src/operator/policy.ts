// Signing and publishing policy documents (src/protocol/policy-document.ts). Publishing is open to
// anyone: the contract only emits the document; each enclave verifies it against the policy keys
// pinned in its build. `publishDevPolicy` signs with the development keys, public on purpose
// (src/protocol/dev-policy-keys.ts), which only development builds pin.
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { type Address, bytesToHex, concat, type Hex, hexToBytes, type TransactionReceipt } from "viem";
import { sign } from "viem/accounts";
import { type LedgerWallet, writeAnonifyMined } from "../chain/chain.js";
import { DEV_POLICY_PRIVATE_KEYS } from "../protocol/dev-policy-keys.js";
import type { LedgerDomain } from "../protocol/digests.js";
import { encodePolicy, type PolicyDocument, policyDigest } from "../protocol/policy-document.js";

/** A document's content; its chain and contract come from the domain it is signed for. */
export type PolicyContent = Omit<PolicyDocument, "chainId" | "contract">;

/** One signer's signature of a document's digest, with the compressed public key that made it. */
export async function policySignature(digest: Hex, privateKey: Hex): Promise<Hex> {
  const signature = await sign({ hash: digest, privateKey, to: "hex" });
  return concat([signature, bytesToHex(secp256k1.getPublicKey(hexToBytes(privateKey), true))]);
}

/** The document for `domain`, signed by each of `privateKeys`. */
export async function signPolicy(
  domain: LedgerDomain,
  content: PolicyContent,
  privateKeys: readonly Hex[],
): Promise<{ document: Hex; signatures: Hex[] }> {
  const document = bytesToHex(
    encodePolicy({ ...content, chainId: BigInt(domain.chainId), contract: domain.contract }),
  );
  const digest = policyDigest(domain, document);
  const signatures = await Promise.all(privateKeys.map((privateKey) => policySignature(digest, privateKey)));
  return { document, signatures };
}

export async function publishPolicy(
  wallet: LedgerWallet,
  contract: Address,
  signed: { document: Hex; signatures: Hex[] },
): Promise<TransactionReceipt> {
  return writeAnonifyMined(wallet, contract, "publishPolicy", [signed.document, signed.signatures]);
}

/** Signs `content` with the development policy keys (enough of them for the development threshold) and publishes it. */
export async function publishDevPolicy(
  wallet: LedgerWallet,
  domain: LedgerDomain,
  content: PolicyContent,
): Promise<TransactionReceipt> {
  return publishPolicy(wallet, domain.contract, await signPolicy(domain, content, DEV_POLICY_PRIVATE_KEYS));
}
