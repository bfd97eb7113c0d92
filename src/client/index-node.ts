// The client SDK for Node (`anonify/client/node`): everything of `anonify/client`, and what only
// Node runs: a network profile read from (or written to) its file, and `localAccount`, a private-key
// account that signs in WebAssembly (tiny-secp256k1, which reads its .wasm from disk), about three
// times faster than viem's `privateKeyToAccount` (which a page uses: the same signatures).
export * from "./index.js";
export { localAccount } from "./local-account.js";
export { readNetworkProfile, writeNetworkProfile } from "./network-profile.js";
