// A local key kept in the browser's storage, encrypted under the user's passphrase with WebCrypto:
// PBKDF2-SHA256 stretches the passphrase into an AES-256-GCM key (a wrong passphrase fails the tag).
// Whoever reads the storage can guess passphrases offline as fast as PBKDF2 lets them: hence a
// minimum passphrase and a floor on the iteration count read back (storage is not ours to trust).
import { type Address, bytesToHex, type Hex, hexToBytes } from "viem";

// WebCrypto takes bytes over a plain ArrayBuffer: viem's are typed wider, hence the copies below.
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

const STORAGE_KEY = "anonify.key";
const FORMAT_VERSION = 1;
/** OWASP's 2023 figure for PBKDF2-HMAC-SHA256: slow for a guesser, about half a second here. */
const PBKDF2_ITERATIONS = 600_000;
/**
 * The fewest iterations a stored key may claim: what this page writes. A lower count is refused
 * before any derivation (whoever altered it wants the passphrase cheap to guess, or to try it cheaply).
 */
const PBKDF2_MIN_ITERATIONS = PBKDF2_ITERATIONS;
/** The most: a count far above what any page writes would only hang the page. */
const PBKDF2_MAX_ITERATIONS = 10 * PBKDF2_ITERATIONS;
/**
 * The passphrase rule: at least 12 characters, at least 5 of them different. Length is what an
 * offline guesser pays for, and a rule a person can read beats an entropy estimate that, without a
 * large dictionary (a dependency this page does not carry), rates "Password1234" well. The distinct
 * count refuses only the degenerate ("aaaaaaaaaaaa", "abababababab").
 */
const MIN_PASSPHRASE_CHARS = 12;
const MIN_DISTINCT_CHARS = 5;
const SALT_BYTES = 16;
const IV_BYTES = 12;
const AES_KEY_BITS = 256;

type StoredKey = {
  version: number;
  address: Address;
  iterations: number;
  salt: Hex;
  iv: Hex;
  ciphertext: Hex;
};

async function passphraseKey(
  passphrase: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(passphrase),
    "PBKDF2",
    false,
    ["deriveKey"],
  );
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    material,
    { name: "AES-GCM", length: AES_KEY_BITS },
    false,
    ["encrypt", "decrypt"],
  );
}

/** What is wrong with `passphrase` for a new key, or undefined if it passes the rule above. */
export function passphraseWeakness(passphrase: string): string | undefined {
  const chars = [...passphrase]; // code points: an emoji is one character, as people count
  if (chars.length < MIN_PASSPHRASE_CHARS)
    return `a passphrase needs at least ${MIN_PASSPHRASE_CHARS} characters (this one has ${chars.length})`;
  const distinct = new Set(chars).size;
  if (distinct < MIN_DISTINCT_CHARS)
    return `a passphrase needs at least ${MIN_DISTINCT_CHARS} different characters (this one has ${distinct})`;
  return undefined;
}

/** Why a stored key's iteration count is refused, or undefined. */
function iterationProblem(iterations: unknown): string | undefined {
  if (typeof iterations !== "number" || !Number.isSafeInteger(iterations))
    return `the stored key's PBKDF2 iteration count ${String(iterations)} is not an integer`;
  if (iterations < PBKDF2_MIN_ITERATIONS)
    return `the stored key says ${iterations} PBKDF2 iterations, below this wallet's floor of ${PBKDF2_MIN_ITERATIONS}`;
  if (iterations > PBKDF2_MAX_ITERATIONS)
    return `the stored key says ${iterations} PBKDF2 iterations, above this wallet's ceiling of ${PBKDF2_MAX_ITERATIONS}`;
  return undefined;
}

/** The rule, for the forms that ask for a new passphrase. */
export const PASSPHRASE_RULE = `at least ${MIN_PASSPHRASE_CHARS} characters, ${MIN_DISTINCT_CHARS} of them different`;

/** The address of the key stored in this browser, if any (readable without the passphrase). */
export function storedAddress(): Address | undefined {
  const text = localStorage.getItem(STORAGE_KEY);
  return text ? (JSON.parse(text) as StoredKey).address : undefined;
}

/** Encrypts `privateKey` (a new one if omitted) under `passphrase` and stores it; returns it. */
export async function storeKey(passphrase: string, privateKey: Hex = generatePrivateKey()): Promise<Hex> {
  const weakness = passphraseWeakness(passphrase);
  if (weakness) throw new Error(weakness);
  const address = privateKeyToAccount(privateKey).address; // also checks the key
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const key = await passphraseKey(passphrase, salt, PBKDF2_ITERATIONS);
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new Uint8Array(hexToBytes(privateKey))),
  );
  const stored: StoredKey = {
    version: FORMAT_VERSION,
    address,
    iterations: PBKDF2_ITERATIONS,
    salt: bytesToHex(salt),
    iv: bytesToHex(iv),
    ciphertext: bytesToHex(ciphertext),
  };
  localStorage.setItem(STORAGE_KEY, JSON.stringify(stored));
  return privateKey;
}

/** Decrypts the stored key; a wrong passphrase throws. */
export async function unlockKey(passphrase: string): Promise<Hex> {
  const text = localStorage.getItem(STORAGE_KEY);
  if (!text) throw new Error("no key is stored in this browser");
  const stored = JSON.parse(text) as StoredKey;
  if (stored.version !== FORMAT_VERSION) throw new Error(`stored key format ${stored.version} is not known`);
  const problem = iterationProblem(stored.iterations);
  if (problem) throw new Error(`${problem}: the key was altered in storage, and is not unlocked`);
  const key = await passphraseKey(passphrase, new Uint8Array(hexToBytes(stored.salt)), stored.iterations);
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: new Uint8Array(hexToBytes(stored.iv)) },
      key,
      new Uint8Array(hexToBytes(stored.ciphertext)),
    );
    return bytesToHex(new Uint8Array(plain));
  } catch {
    throw new Error("wrong passphrase");
  }
}

export function forgetKey(): void {
  localStorage.removeItem(STORAGE_KEY);
}
