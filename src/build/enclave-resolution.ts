// What the enclave bundle leaves out of the packages its dependencies import: code it never runs,
// each with the reason it is never run, replaced by a stub that fails by name if it ever is. And
// cbor-x as its own build without eval and without its native-addon loader (cbor-extract, which
// would load a `.node` file from disk, outside the measurement). The bundle guard (bundle-guard.ts)
// then refuses any way left to load code from outside the bundle.
import type { Plugin } from "esbuild";

/** When its importer loads the package: with itself (the stub must load), or only when it is used. */
type Loaded = "eagerly" | "lazily";
type LeftOut = { loaded: Loaded; why: string };

const DCAP_QVL_BROWSER_ONLY =
  "@phala/dcap-qvl's fallback for browsers, taken only where node:crypto has no X509Certificate (Node 20 has it)";
const TS_MLS_OTHER_SUITE =
  "ts-mls loads it only for a cipher suite other than the group's one (src/group/client-config.ts); not " +
  "installed, it was an import() Node would have looked for on disk";

/** The packages the enclave never runs, by the name they are imported by. */
export const LEFT_OUT: Readonly<Record<string, LeftOut>> = {
  // With it go whatwg-url, tr46, webidl-conversions and node's http, https, zlib, stream.
  "node-fetch": {
    loaded: "eagerly",
    why:
      "@phala/dcap-qvl fetches collateral with it only where there is no global fetch (Node 20 has one), " +
      "and the enclave fetches nothing: its collateral comes from the chain",
  },
  elliptic: { loaded: "eagerly", why: DCAP_QVL_BROWSER_ONLY },
  "hash.js": { loaded: "eagerly", why: DCAP_QVL_BROWSER_ONLY },
  "@hpke/chacha20poly1305": { loaded: "lazily", why: TS_MLS_OTHER_SUITE },
  "@hpke/dhkem-x448": { loaded: "lazily", why: TS_MLS_OTHER_SUITE },
  "@hpke/ml-kem": { loaded: "lazily", why: TS_MLS_OTHER_SUITE },
  "@hpke/hybridkem-x-wing": { loaded: "lazily", why: TS_MLS_OTHER_SUITE },
  "@noble/post-quantum/ml-dsa.js": { loaded: "lazily", why: TS_MLS_OTHER_SUITE },
};

/**
 * cbor-x's own build without eval: the same decoder, with neither its `new Function` readers
 * (compiled from the keys of the data it decodes) nor the loader of its native addon.
 */
export const CBOR_X_WITHOUT_EVAL = "cbor-x/index-no-eval";
const STUB_NAMESPACE = "anonify-left-out";

/** The error a left-out package's stub throws, naming it. */
export const leftOutMessage = (name: string): string =>
  `${name} is left out of the enclave's measured build: ${LEFT_OUT[name]?.why}`;

/**
 * A stub loaded with its importer must load, and fails when used: every property of it is a
 * function that throws. One loaded only when used fails as it loads.
 */
function stub(name: string): string {
  const message = JSON.stringify(leftOutMessage(name));
  if (LEFT_OUT[name]?.loaded === "lazily") return `throw new Error(${message});\n`;
  return [
    '"use strict";',
    `const fail = function () { throw new Error(${message}); };`,
    // Not an ES module to an importer (`__esModule`): its default export is the stub itself.
    'module.exports = new Proxy(fail, { get: (_, key) => (key === "__esModule" ? undefined : fail) });',
    "",
  ].join("\n");
}

const escaped = (name: string) => name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** Resolves each left-out package to its stub, and cbor-x to its build without eval. */
export const enclaveResolution: Plugin = {
  name: "anonify-enclave-resolution",
  setup(pluginBuild) {
    const leftOut = new RegExp(`^(?:${Object.keys(LEFT_OUT).map(escaped).join("|")})$`);
    pluginBuild.onResolve({ filter: leftOut }, (args) => ({ path: args.path, namespace: STUB_NAMESPACE }));
    pluginBuild.onLoad({ filter: /.*/, namespace: STUB_NAMESPACE }, (args) => ({
      contents: stub(args.path),
      loader: "js",
    }));
    pluginBuild.onResolve({ filter: /^cbor-x$/ }, (args) =>
      pluginBuild.resolve(CBOR_X_WITHOUT_EVAL, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
      }),
    );
  },
};
