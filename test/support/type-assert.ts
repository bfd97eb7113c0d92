// Helpers of the type tests (`*.test-d.ts`, checked by `tsc --noEmit`, never run).

/** True when A and B are the same type (not merely assignable either way). */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only if T is `true`. */
export type Expect<T extends true> = T;
/** Compiles only if `value` is assignable to T (T given explicitly). */
export const expectType = <T>(_value: T): void => undefined;
