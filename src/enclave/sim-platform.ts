// The simulated TEE (the role of Intel SGX simulation mode): runs anywhere, protects nothing from the
// machine's owner, and says so. Its sealing secret is a file; its quoting key is certified by a root
// whose private key is public (src/attestation/sim-root.ts), so its quotes are labelled SIMULATED/debug
// and verify only as platform "sim", which no production policy accepts.
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API.
import "reflect-metadata";
import { randomBytes, type webcrypto as WebCrypto } from "node:crypto";
import { link, mkdir, open, rm } from "node:fs/promises";
import { join } from "node:path";
import type * as X509 from "@peculiar/x509";
import { encodeSimQuote, simQuoteSignedBytes } from "../attestation/sim-quote.js";
import { SIM_ROOT_CERT_PEM, SIM_ROOT_PRIVATE_KEY_PKCS8_PEM } from "../attestation/sim-root.js";
import {
  assertEnclaveIdentity,
  type EnclaveIdentity,
  REPORT_DATA_BYTES,
  type SealPolicy,
  type TeePlatform,
} from "./platform.js";
import { policyKey } from "./platforms/policy-key.js";

export const SIM_SECRET_FILE = "sim-platform-secret";
export const SIM_QUOTING_KEY_FILE = "sim-quoting-key.json";
const SIM_SECRET_BYTES = 32;
/** Owner read/write only; any group/other (or execute) bit means the secret may have leaked. */
const PRIVATE_FILE_MODE = 0o600;
const DATA_DIR_MODE = 0o700;
const SEAL_KDF_INFO = new TextEncoder().encode("anonify.sim.seal.v1");
const QUOTING_KEY_FORMAT = "anonify.sim-quoting-key.v1";
const QUOTING_CERT_VALIDITY_MS = 10 * 365 * 24 * 60 * 60 * 1000;
/** The quoting cert starts a little in the past so a verifier whose clock lags slightly still accepts it. */
const QUOTING_CERT_BACKDATE_MS = 5 * 60 * 1000;
const QUOTING_CERT_SUBJECT = "CN=Anonify SIMULATED Quoting Key - NOT SECURE, O=Anonify";
const EC_KEY = { name: "ECDSA", namedCurve: "P-256" } as const;
const EC_SIGN = { name: "ECDSA", hash: "SHA-256" } as const;
const webcrypto = globalThis.crypto;
/** Loaded on first quote only: sealing should not pull an X.509 stack into the enclave. */
const loadX509 = (): Promise<typeof X509> =>
  import("@peculiar/x509").catch((error: unknown) => {
    throw new SimPlatformError("simulated quoting unavailable: @peculiar/x509 failed to load", {
      cause: error,
    });
  });

/** The sim platform's own files are missing, unreadable, too open or corrupt. Never carries secrets. */
export class SimPlatformError extends Error {
  override name = "SimPlatformError";
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

export type SimPlatformOptions = {
  /** Clock for quote timestamps and new quoting certificates (ms since epoch); tests pin it. */
  now?: () => number;
};

type CryptoKey = WebCrypto.CryptoKey;
type JsonWebKey = WebCrypto.JsonWebKey;
type QuotingKey = { privateKey: CryptoKey; chain: Uint8Array[] };
type QuotingKeyFile = { format: string; privateKeyJwk: JsonWebKey; certificatePem: string };

export class SimPlatform implements TeePlatform {
  readonly name = "sim";
  readonly #now: () => number;
  #secret: Promise<Uint8Array> | undefined;
  #quotingKey: Promise<QuotingKey> | undefined;

  constructor(
    readonly dataDir: string,
    options: SimPlatformOptions = {},
  ) {
    this.#now = options.now ?? Date.now;
  }

  async sealingKey(policy: SealPolicy, identity: EnclaveIdentity): Promise<Uint8Array> {
    assertEnclaveIdentity(identity);
    return policyKey(await this.#loadSecret(), SEAL_KDF_INFO, policy, identity);
  }

  async quote(reportData: Uint8Array, identity: EnclaveIdentity): Promise<Uint8Array> {
    assertEnclaveIdentity(identity);
    if (!(reportData instanceof Uint8Array) || reportData.length !== REPORT_DATA_BYTES) {
      throw new TypeError(`report data must be ${REPORT_DATA_BYTES} bytes`);
    }
    const { privateKey, chain } = await this.#loadQuotingKey();
    const body = {
      measurement: identity.measurement,
      signerMeasurement: identity.signerMeasurement,
      reportData,
      timestampMs: this.#now(),
    };
    const signature = new Uint8Array(
      await webcrypto.subtle.sign(EC_SIGN, privateKey, simQuoteSignedBytes(body)),
    );
    return encodeSimQuote({ ...body, signature, certificates: chain });
  }

  // Loaded once per instance; a failure is not cached so a fixed file can be picked up on retry.
  #loadSecret(): Promise<Uint8Array> {
    this.#secret ??= loadOrCreateSecret(this.dataDir).catch((error: unknown) => {
      this.#secret = undefined;
      throw error;
    });
    return this.#secret;
  }

  #loadQuotingKey(): Promise<QuotingKey> {
    this.#quotingKey ??= loadOrCreateQuotingKey(this.dataDir, this.#now()).catch((error: unknown) => {
      this.#quotingKey = undefined;
      throw error;
    });
    return this.#quotingKey;
  }
}

async function loadOrCreateSecret(dataDir: string): Promise<Uint8Array> {
  const path = join(dataDir, SIM_SECRET_FILE);
  let bytes = await readPrivateFile(path);
  if (bytes === undefined) {
    const fresh = randomBytes(SIM_SECRET_BYTES);
    await createPrivateFile(dataDir, path, fresh);
    fresh.fill(0);
    // Read back rather than use `fresh`: another process may have won the race to create it.
    bytes = await readPrivateFile(path);
    if (bytes === undefined) throw new SimPlatformError(`${path} vanished right after it was created`);
  }
  if (bytes.length !== SIM_SECRET_BYTES) {
    const length = bytes.length;
    bytes.fill(0);
    throw new SimPlatformError(`${path} holds ${length} bytes, expected ${SIM_SECRET_BYTES}: it is corrupt`);
  }
  const secret = new Uint8Array(bytes);
  bytes.fill(0);
  return secret;
}

async function loadOrCreateQuotingKey(dataDir: string, nowMs: number): Promise<QuotingKey> {
  const path = join(dataDir, SIM_QUOTING_KEY_FILE);
  let bytes = await readPrivateFile(path);
  if (bytes === undefined) {
    const fresh = Buffer.from(JSON.stringify(await newQuotingKeyFile(nowMs)));
    await createPrivateFile(dataDir, path, fresh);
    fresh.fill(0);
    bytes = await readPrivateFile(path);
    if (bytes === undefined) throw new SimPlatformError(`${path} vanished right after it was created`);
  }
  try {
    return await parseQuotingKeyFile(path, bytes.toString("utf8"), nowMs);
  } finally {
    bytes.fill(0);
  }
}

/** A fresh P-256 quoting key with a certificate issued by the (public) simulated root. */
async function newQuotingKeyFile(nowMs: number): Promise<QuotingKeyFile> {
  const x509 = await loadX509();
  const root = new x509.X509Certificate(SIM_ROOT_CERT_PEM);
  const rootKey = await webcrypto.subtle.importKey(
    "pkcs8",
    x509.PemConverter.decodeFirst(SIM_ROOT_PRIVATE_KEY_PKCS8_PEM),
    EC_KEY,
    false,
    ["sign"],
  );
  const keys = await webcrypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"]);
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject: QUOTING_CERT_SUBJECT,
      issuer: root.subject,
      notBefore: new Date(nowMs - QUOTING_CERT_BACKDATE_MS),
      notAfter: new Date(nowMs + QUOTING_CERT_VALIDITY_MS),
      publicKey: keys.publicKey,
      signingKey: rootKey,
      signingAlgorithm: EC_SIGN,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ],
    },
    webcrypto,
  );
  return {
    format: QUOTING_KEY_FORMAT,
    privateKeyJwk: await webcrypto.subtle.exportKey("jwk", keys.privateKey),
    certificatePem: cert.toString("pem"),
  };
}

/** Checks the stored key still pairs with its certificate, and the certificate with the current sim root. */
async function parseQuotingKeyFile(path: string, text: string, nowMs: number): Promise<QuotingKey> {
  const x509 = await loadX509();
  const corrupt = (what: string, cause?: unknown): SimPlatformError =>
    new SimPlatformError(`${path} ${what}; delete it and a new simulated quoting key will be created`, {
      cause,
    });
  let file: QuotingKeyFile;
  try {
    file = JSON.parse(text) as QuotingKeyFile;
  } catch (error) {
    throw corrupt("is not JSON", error);
  }
  if (file?.format !== QUOTING_KEY_FORMAT) throw corrupt(`is not in format ${QUOTING_KEY_FORMAT}`);
  let cert: X509.X509Certificate;
  let privateKey: CryptoKey;
  let certKey: JsonWebKey;
  try {
    cert = new x509.X509Certificate(file.certificatePem);
    privateKey = await webcrypto.subtle.importKey("jwk", file.privateKeyJwk, EC_KEY, false, ["sign"]);
    const publicKey = await webcrypto.subtle.importKey("spki", cert.publicKey.rawData, EC_KEY, true, [
      "verify",
    ]);
    certKey = await webcrypto.subtle.exportKey("jwk", publicKey);
  } catch (error) {
    throw corrupt("holds an unreadable key or certificate", error);
  }
  if (certKey.x !== file.privateKeyJwk.x || certKey.y !== file.privateKeyJwk.y) {
    throw corrupt("holds a key that does not match its certificate");
  }
  const root = new x509.X509Certificate(SIM_ROOT_CERT_PEM);
  const issuedByRoot = await cert.verify({ publicKey: root.publicKey, signatureOnly: true }, webcrypto);
  if (!issuedByRoot) throw corrupt("holds a certificate not issued by the current simulated root");
  if (nowMs > cert.notAfter.getTime())
    throw corrupt(`holds a certificate that expired at ${cert.notAfter.toISOString()}`);
  return { privateKey, chain: [new Uint8Array(cert.rawData), new Uint8Array(root.rawData)] };
}

/** The file's contents, or undefined if it does not exist. Refuses files readable by anyone but the owner. */
async function readPrivateFile(path: string): Promise<Buffer | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new SimPlatformError(`cannot open ${path}`, { cause: error });
  }
  try {
    // fstat on the open handle, so the mode checked is the mode of the file actually read.
    const stat = await handle.stat();
    if (!stat.isFile()) throw new SimPlatformError(`${path} is not a regular file`);
    // POSIX modes only; Windows reports synthetic ones and protects files with ACLs instead.
    if (process.platform !== "win32" && (stat.mode & 0o777 & ~PRIVATE_FILE_MODE) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, "0");
      throw new SimPlatformError(
        `${path} has mode ${mode}, wider than 0600; it holds a secret of the simulated platform, ` +
          "so refusing to use it (chmod 600 it if nobody else could have read it, or delete it)",
      );
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/**
 * Creates `path` with mode 0600 holding `data`, atomically: written and synced under a temporary name,
 * then hard-linked into place, so no reader ever sees a partial file and a concurrent creator loses
 * cleanly (EEXIST). Returns without error if the file already exists.
 */
async function createPrivateFile(dataDir: string, path: string, data: Uint8Array): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: DATA_DIR_MODE });
  const temporary = `${path}.${randomBytes(8).toString("hex")}.tmp`;
  const handle = await open(temporary, "wx", PRIVATE_FILE_MODE);
  try {
    await handle.chmod(PRIVATE_FILE_MODE); // the umask could only narrow it; make it exact
    await handle.writeFile(data);
    await handle.sync(); // losing the sealing secret after a crash would lose every sealed blob
  } finally {
    await handle.close();
  }
  try {
    await link(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") await createDirectly(path, data);
  } finally {
    await rm(temporary, { force: true });
  }
  await syncDirectory(dataDir);
}

/** Fallback for filesystems without hard links: still exclusive and 0600, but not atomic for readers. */
async function createDirectly(path: string, data: Uint8Array): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "wx", PRIVATE_FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return;
    throw new SimPlatformError(`cannot create ${path}`, { cause: error });
  }
  try {
    await handle.chmod(PRIVATE_FILE_MODE);
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the new directory entry durable; best effort, as not every platform can open a directory. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Windows and some filesystems refuse; the file itself is synced already.
  }
}
