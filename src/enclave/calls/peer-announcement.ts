// The enclave signs the URL its node announces on chain (`announcePeer`), so that no one but its own
// host can announce for it. It signs what its host gives it: the host is where the node serves, and
// a host that announces a wrong URL only makes joiners skip it (they check snapshots against the
// chain). The URL must still be one a peer could use, so that nothing this enclave signs is junk.
import { EnclaveCallError } from "../../boundary/frames.js";
import { peerDigest } from "../../protocol/digests.js";
import { peerUrl } from "../../protocol/peer-url.js";
import { type CallHandlers, type EnclaveContext, requireSession } from "../context.js";
import { signDigest } from "../identity.js";

export function peerAnnouncementCalls(context: EnclaveContext): Pick<CallHandlers, "signPeerAnnouncement"> {
  return {
    /** For the record nonce the host read on chain; no floor (an announcement replaces the last). */
    signPeerAnnouncement: async ({ nonce, url }) => {
      const { keys, domain } = requireSession(context);
      const checked = peerUrl(url);
      if ("problem" in checked) throw new EnclaveCallError("invalid_argument", `url ${checked.problem}`);
      if (checked.url !== url)
        throw new EnclaveCallError("invalid_argument", `url must be spelled as ${checked.url}`);
      return { signature: await signDigest(keys, peerDigest(domain, BigInt(nonce), url)) };
    },
  };
}
