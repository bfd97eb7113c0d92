// The client SDK as the package exports it (`anonify/client`): what runs anywhere, Node or a page
// bundled for the browser (nothing here reaches a `node:` module). Node's extras, a profile read
// from a file and the faster WebAssembly signer, are `anonify/client/node` (index-node.ts).
export type { App, CommandName, CommandParams, QueryName, QueryParams } from "../app/app.js";
export type { StateValue } from "../app/canonical.js";
export type { PublicOutput } from "../protocol/public-outputs.js";
export {
  AnonifyClient,
  AnonifyClientError,
  type AnonifyClientOptions,
  type AnswerPosition,
  type CheckedReceipt,
  type CommandView,
  checkNodeNetwork,
  DEFAULT_MAX_LAG_SECONDS,
  type QueryResult,
  type SendProgress,
} from "./anonify-client.js";
export {
  DEVELOPMENT_CHAIN_ID,
  ENCLAVE_POLICIES,
  type EnclavePolicy,
  type EnclavePolicyName,
  type EnclaveVerdict,
  isEnclavePolicyName,
} from "./enclave-policy.js";
export {
  type ChainTarget,
  DEFAULT_NETWORK_PROFILE,
  NETWORK_PROFILE_VERSION,
  type NetworkProfile,
  NetworkProfileError,
  networkProfileJson,
  type ProfileTrust,
  parseNetworkProfile,
} from "./network-profile-format.js";
export { connectOutputsReader, type OutputsReader, type OutputsReaderOptions } from "./outputs-reader.js";
export { checkPublishedOutputs, type PublishedOutputs } from "./public-outputs.js";
