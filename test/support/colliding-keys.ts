import { hashKey } from "../../src/app/pmap.js";

/** Two distinct string keys with the same 32-bit trie hash (a birthday search over a few hundred thousand). */
export function collidingKeys(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const key = `k${i}`;
    const other = seen.get(hashKey(key));
    if (other !== undefined) return [other, key];
    seen.set(hashKey(key), key);
  }
}
