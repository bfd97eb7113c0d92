// X25519 for HPKE on the platform's native code. In Node, node:crypto: synchronous, ~0.04 ms per
// key generation or agreement. Elsewhere (browsers), WebCrypto: each operation is an asynchronous
// job (~0.1 ms in Node, measured by `npm run bench -- command-crypto`). Keys cross as 32 raw bytes;
// a key in use is held as the platform's own key object. Both backends are tested alike.
export const X25519_BYTES = 32;

/** A private key ready for agreement, with its public half. */
export type X25519Key = { readonly handle: unknown; readonly publicKey: Uint8Array };

export type X25519Backend = {
  readonly name: "node" | "webcrypto";
  generate(): Promise<X25519Key & { privateKey: Uint8Array }>;
  /** Imports a private key; the public half, when given, saves deriving it and must match. */
  importPrivate(privateKey: Uint8Array, publicKey?: Uint8Array): Promise<X25519Key>;
  /** The shared secret; throws for an invalid or low-order peer key. */
  derive(key: X25519Key, peerPublicKey: Uint8Array): Promise<Uint8Array>;
};

export class X25519KeyMismatch extends Error {
  override name = "X25519KeyMismatch";
  constructor() {
    super("the X25519 public key does not belong to the private key");
  }
}

/** PKCS #8 prefix of an X25519 private key (RFC 8410), for importing without the public half. */
const PKCS8_X25519_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
]);

function toBase64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

function fromBase64Url(value: string | undefined): Uint8Array {
  const bytes = Uint8Array.from(atob((value ?? "").replace(/-/g, "+").replace(/_/g, "/")), (c) =>
    c.charCodeAt(0),
  );
  if (bytes.length !== X25519_BYTES) throw new Error("an X25519 key was exported without its 32 bytes");
  return bytes;
}

const jwk = (publicKey: Uint8Array, privateKey?: Uint8Array): Jwk => ({
  kty: "OKP",
  crv: "X25519",
  x: toBase64Url(publicKey),
  ...(privateKey ? { d: toBase64Url(privateKey) } : {}),
});

function pkcs8(privateKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(PKCS8_X25519_PREFIX.length + privateKey.length);
  out.set(PKCS8_X25519_PREFIX);
  out.set(privateKey, PKCS8_X25519_PREFIX.length);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The part of node:crypto used here, typed by shape: this module imports no node: module. */
type NodeKey = { export(options: { format: "jwk" }): { d?: string; x?: string } };
type Jwk = { kty: string; crv: string; x: string; d?: string };
type NodeKeyInput = { key: Jwk; format: "jwk" } | { key: Uint8Array; format: "der"; type: "pkcs8" };
export type NodeCryptoX25519 = {
  generateKeyPairSync(type: "x25519"): { privateKey: NodeKey };
  createPrivateKey(input: NodeKeyInput): NodeKey;
  createPublicKey(input: NodeKeyInput): NodeKey;
  diffieHellman(keys: { privateKey: NodeKey; publicKey: NodeKey }): Uint8Array;
};

export function nodeX25519(crypto: NodeCryptoX25519): X25519Backend {
  const imported = (key: NodeKey): X25519Key => ({
    handle: key,
    publicKey: fromBase64Url(key.export({ format: "jwk" }).x),
  });
  return {
    name: "node",
    generate: async () => {
      const { privateKey } = crypto.generateKeyPairSync("x25519");
      const { d } = privateKey.export({ format: "jwk" });
      return { ...imported(privateKey), privateKey: fromBase64Url(d) };
    },
    importPrivate: async (privateKey, publicKey) => {
      const key = publicKey
        ? imported(crypto.createPrivateKey({ key: jwk(publicKey, privateKey), format: "jwk" }))
        : imported(
            crypto.createPrivateKey({ key: Buffer.from(pkcs8(privateKey)), format: "der", type: "pkcs8" }),
          );
      // node:crypto takes the given public half on trust; its export is derived from the private key.
      if (publicKey && !sameBytes(key.publicKey, publicKey)) throw new X25519KeyMismatch();
      return key;
    },
    derive: async (key, peerPublicKey) => {
      const peer = crypto.createPublicKey({ key: jwk(peerPublicKey), format: "jwk" });
      return new Uint8Array(crypto.diffieHellman({ privateKey: key.handle as NodeKey, publicKey: peer }));
    },
  };
}

// WebCrypto's key types, named without DOM or node: type imports (this module is shared with clients).
type CryptoKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
type CryptoKeyPair = { privateKey: CryptoKey; publicKey: CryptoKey };
const ALGORITHM = { name: "X25519" } as const;

export const webCryptoX25519: X25519Backend = {
  name: "webcrypto",
  generate: async () => {
    const pair = (await crypto.subtle.generateKey(ALGORITHM, true, ["deriveBits"])) as CryptoKeyPair;
    const { d, x } = await crypto.subtle.exportKey("jwk", pair.privateKey);
    return { handle: pair.privateKey, publicKey: fromBase64Url(x), privateKey: fromBase64Url(d) };
  },
  importPrivate: async (privateKey, publicKey) => {
    if (publicKey) {
      try {
        const key = await crypto.subtle.importKey("jwk", jwk(publicKey, privateKey), ALGORITHM, false, [
          "deriveBits",
        ]);
        return { handle: key, publicKey };
      } catch {
        throw new X25519KeyMismatch(); // WebCrypto checks the pair
      }
    }
    const key = await crypto.subtle.importKey("pkcs8", pkcs8(privateKey), ALGORITHM, true, ["deriveBits"]);
    return { handle: key, publicKey: fromBase64Url((await crypto.subtle.exportKey("jwk", key)).x) };
  },
  derive: async (key, peerPublicKey) => {
    const peer = await crypto.subtle.importKey("raw", peerPublicKey, ALGORITHM, false, []);
    return new Uint8Array(
      await crypto.subtle.deriveBits({ name: "X25519", public: peer }, key.handle as CryptoKey, 256),
    );
  },
};

type BuiltinModules = { getBuiltinModule?: (id: string) => unknown };
const nodeCrypto = (globalThis as { process?: BuiltinModules }).process?.getBuiltinModule?.("node:crypto") as
  | NodeCryptoX25519
  | undefined;

/** The backend HPKE uses here: node:crypto in Node (20.16 and later), WebCrypto elsewhere. */
export const x25519Native: X25519Backend = nodeCrypto ? nodeX25519(nodeCrypto) : webCryptoX25519;
