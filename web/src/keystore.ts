// A local key kept in the browser's storage, encrypted under the user's passphrase with WebCrypto:
// PBKDF2-SHA256 stretches the passphrase into an AES-256-GCM key (a wrong passphrase fails the tag).
import { type Address, bytesToHex, type Hex, hexToBytes } from "viem";

// WebCrypto takes bytes over a plain ArrayBuffer: viem's are typed wider, hence the copies below.
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

const STORAGE_KEY = "anonify.key";
const FORMAT_VERSION = 1;
/** OWASP's 2023 figure for PBKDF2-HMAC-SHA256: slow for a guesser, about half a second here. */
const PBKDF2_ITERATIONS = 600_000;
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

/** The address of the key stored in this browser, if any (readable without the passphrase). */
export function storedAddress(): Address | undefined {
  const text = localStorage.getItem(STORAGE_KEY);
  return text ? (JSON.parse(text) as StoredKey).address : undefined;
}

/** Encrypts `privateKey` (a new one if omitted) under `passphrase` and stores it; returns it. */
export async function storeKey(passphrase: string, privateKey: Hex = generatePrivateKey()): Promise<Hex> {
  if (passphrase.length === 0) throw new Error("choose a passphrase");
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
