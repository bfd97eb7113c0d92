// An Add commit that carries an UpdatePath, built from ts-mls's internal modules (see commitWithPath).
import type { CiphersuiteImpl, ClientState, MLSMessage, Proposal, Welcome } from "ts-mls";
import {
  addHistoricalReceiverData,
  applyProposals,
  checkCanSendHandshakeMessages,
  makePskIndex,
  nextEpochContext,
} from "ts-mls/clientState.js";
import { createGroupInfoWithRatchetTree } from "ts-mls/createCommit.js";
import { createConfirmationTag, createContentCommitSignature } from "ts-mls/framedContent.js";
import { makeKeyPackageRef } from "ts-mls/keyPackage.js";
import { initializeEpoch } from "ts-mls/keySchedule.js";
import { protect } from "ts-mls/messageProtection.js";
import { getCommitSecret, pathToPathSecrets } from "ts-mls/pathSecrets.js";
import { mergePrivateKeyPaths, toPrivateKeyPath, updateLeafKey } from "ts-mls/privateKeyPath.js";
import { createSecretTree } from "ts-mls/secretTree.js";
import { treeHashRoot } from "ts-mls/treeHash.js";
import { leafToNodeIndex, leafWidth, toLeafIndex, toNodeIndex } from "ts-mls/treemath.js";
import { createUpdatePath, firstCommonAncestor } from "ts-mls/updatePath.js";
import { encryptGroupInfo, encryptGroupSecrets } from "ts-mls/welcome.js";

import { InvalidCommit } from "./errors.js";
import { COMMIT_WIREFORMAT } from "./handshake-wire.js";

/** What both ways of committing (ts-mls's createCommit and commitWithPath) hand back. */
export type CommitOutput = { newState: ClientState; commit: MLSMessage; welcome: Welcome | undefined };

/**
 * ts-mls 1.6.4's createCommit, with the UpdatePath made unconditional: it leaves the path out of add-only
 * commits (RFC 9420 allows that), and then the new epoch reuses the previous one's secrets plus a zero
 * commit secret. Same steps and order as the library; only its unexported welcome helpers are inlined.
 * Our states never hold pending proposals, so only `proposals` (by value) are committed.
 */
export async function commitWithPath(
  state: ClientState,
  proposals: Proposal[],
  cs: CiphersuiteImpl,
): Promise<CommitOutput> {
  checkCanSendHandshakeMessages(state);
  const ownLeaf = toLeafIndex(state.privatePath.leafIndex);
  const byValue = proposals.map((proposal) => ({ proposalOrRefType: "proposal" as const, proposal }));
  const applied = await applyProposals(state, byValue, ownLeaf, makePskIndex(state, {}), true, cs);
  if (applied.additionalResult.kind !== "memberCommit") throw new InvalidCommit("not a member commit");
  const added = applied.additionalResult.addedLeafNodes;

  // New members get their path secret through the Welcome, so the path skips them.
  const [tree, updatePath, pathSecrets, leafPrivateKey] = await createUpdatePath(
    applied.tree,
    ownLeaf,
    state.groupContext,
    state.signaturePrivateKey,
    cs,
    added.map(([leaf]) => leafToNodeIndex(leaf)),
  );
  const privatePath = mergePrivateKeyPaths(
    updateLeafKey(state.privatePath, await cs.hpke.exportPrivateKey(leafPrivateKey)),
    await toPrivateKeyPath(pathToPathSecrets(pathSecrets), ownLeaf, cs),
  );
  const lastPathSecret = pathSecrets.at(-1);
  const commitSecret =
    lastPathSecret === undefined
      ? new Uint8Array(cs.kdf.size)
      : await getCommitSecret(tree, toNodeIndex(lastPathSecret.nodeIndex), lastPathSecret.secret, cs.kdf);

  const { signature, framedContent } = await createContentCommitSignature(
    state.groupContext,
    COMMIT_WIREFORMAT,
    { proposals: byValue, path: updatePath },
    { senderType: "member", leafIndex: ownLeaf },
    new Uint8Array(),
    state.signaturePrivateKey,
    cs.signature,
  );
  const groupContext = await nextEpochContext(
    state.groupContext,
    COMMIT_WIREFORMAT,
    framedContent,
    signature,
    await treeHashRoot(tree, cs.hash),
    state.confirmationTag,
    cs.hash,
  );
  const epoch = await initializeEpoch(
    state.keySchedule.initSecret,
    commitSecret,
    groupContext,
    applied.pskSecret,
    cs.kdf,
  );
  const confirmationTag = await createConfirmationTag(
    epoch.keySchedule.confirmationKey,
    groupContext.confirmedTranscriptHash,
    cs.hash,
  );
  const { privateMessage } = await protect(
    state.keySchedule.senderDataSecret,
    new Uint8Array(),
    state.groupContext,
    state.secretTree,
    { ...framedContent, auth: { contentType: "commit", signature, confirmationTag } },
    ownLeaf,
    state.clientConfig.paddingConfig,
    cs,
  );

  const groupInfo = await createGroupInfoWithRatchetTree(groupContext, confirmationTag, state, tree, [], cs);
  const encryptedGroupInfo = await encryptGroupInfo(groupInfo, epoch.welcomeSecret, cs);
  const secrets = await Promise.all(
    added.map(async ([leaf, keyPackage]) => {
      const ancestor = firstCommonAncestor(tree, leaf, ownLeaf);
      const pathSecret = pathSecrets.find((p) => p.nodeIndex === ancestor)?.secret;
      const { enc, ct } = await encryptGroupSecrets(
        await cs.hpke.importPublicKey(keyPackage.initKey),
        encryptedGroupInfo,
        { joinerSecret: epoch.joinerSecret, pathSecret, psks: applied.pskIds },
        cs.hpke,
      );
      return {
        newMember: await makeKeyPackageRef(keyPackage, cs.hash),
        encryptedGroupSecrets: { kemOutput: enc, ciphertext: ct },
      };
    }),
  );
  const welcome: Welcome = { cipherSuite: groupContext.cipherSuite, secrets, encryptedGroupInfo };

  const [historicalReceiverData] = addHistoricalReceiverData(state);
  const newState: ClientState = {
    groupContext,
    ratchetTree: tree,
    secretTree: await createSecretTree(leafWidth(tree.length), epoch.encryptionSecret, cs.kdf),
    keySchedule: epoch.keySchedule,
    privatePath,
    unappliedProposals: {},
    historicalReceiverData,
    confirmationTag,
    signaturePrivateKey: state.signaturePrivateKey,
    groupActiveState: { kind: "active" },
    clientConfig: state.clientConfig,
  };
  const commit: MLSMessage = { version: "mls10", wireformat: COMMIT_WIREFORMAT, privateMessage };
  return { newState, commit, welcome };
}
