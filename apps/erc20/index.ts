// The confidential token, after the original Anonify's erc20 state transition: the same commands and
// rules, except that `transfer` may spend the whole balance (the original required balance > amount)
// and `construct` runs once. Balances, allowances and supply live only inside enclaves; a holder
// reads only their own balance, an allowance only its owner or spender reads.
//
// Rules kept from the original:
// - `approve` adds to the spender's allowance, and the sum an owner has approved to everyone may not
//   exceed their balance at the time of approval;
// - `transferFrom` needs the owner's balance and the caller's allowance, and spends the allowance;
// - only the owner (whoever ran `construct`) mints; anyone burns their own tokens.
import type { Address } from "viem";
import { AppRejection, defineApp } from "../../src/app/app.js";
import { PersistentMap } from "../../src/app/pmap.js";
import { address, object, UINT256_MAX, uint } from "../../src/app/schema.js";

export type Erc20State = {
  readonly owner: Address | null;
  readonly totalSupply: bigint;
  /** Holders with a zero balance are left out, so equal ledgers have equal encodings. */
  readonly balances: PersistentMap<Address, bigint>;
  /** owner → spender → remaining allowance; zero allowances and empty owners are left out. */
  readonly allowances: PersistentMap<Address, PersistentMap<Address, bigint>>;
};

const amount = uint();

function balanceOf(state: Erc20State, holder: Address): bigint {
  return state.balances.get(holder) ?? 0n;
}

function allowanceOf(state: Erc20State, owner: Address, spender: Address): bigint {
  return state.allowances.get(owner)?.get(spender) ?? 0n;
}

// PersistentMap, not Map: a transfer then costs O(log holders) instead of copying every balance.
function withBalance(balances: PersistentMap<Address, bigint>, holder: Address, value: bigint) {
  return value === 0n ? balances.delete(holder) : balances.set(holder, value);
}

function withAllowance(state: Erc20State, owner: Address, spender: Address, value: bigint) {
  const before = state.allowances.get(owner) ?? PersistentMap.empty<Address, bigint>();
  const forOwner = value === 0n ? before.delete(spender) : before.set(spender, value);
  return forOwner.size === 0 ? state.allowances.delete(owner) : state.allowances.set(owner, forOwner);
}

/** Moves `value` from `from` to `to`; `from === to` is allowed and changes nothing. */
function move(state: Erc20State, from: Address, to: Address, value: bigint, shortfall: string): Erc20State {
  const fromBalance = balanceOf(state, from);
  if (fromBalance < value) throw new AppRejection(shortfall);
  const afterDebit = withBalance(state.balances, from, fromBalance - value);
  const balances = withBalance(afterDebit, to, (afterDebit.get(to) ?? 0n) + value);
  return { ...state, balances };
}

function totalApprovedBy(state: Erc20State, owner: Address): bigint {
  let total = 0n;
  for (const value of state.allowances.get(owner)?.values() ?? []) total += value;
  return total;
}

export const erc20 = defineApp({
  name: "erc20",
  initialState: (): Erc20State => ({
    owner: null,
    totalSupply: 0n,
    balances: PersistentMap.empty(),
    allowances: PersistentMap.empty(),
  }),
  commands: {
    construct: {
      params: object({ totalSupply: amount }),
      run(state, { sender }, { totalSupply }) {
        if (state.owner !== null) throw new AppRejection("the token is already constructed");
        return {
          ...state,
          owner: sender,
          totalSupply,
          balances: withBalance(state.balances, sender, totalSupply),
        };
      },
    },
    transfer: {
      params: object({ to: address(), amount }),
      run: (state, { sender }, { to, amount }) =>
        move(state, sender, to, amount, "transfer amount exceeds balance"),
    },
    approve: {
      params: object({ spender: address(), amount }),
      run(state, { sender }, { spender, amount }) {
        if (totalApprovedBy(state, sender) + amount > balanceOf(state, sender)) {
          throw new AppRejection("approving amount exceeds balance and already approved");
        }
        const allowances = withAllowance(
          state,
          sender,
          spender,
          allowanceOf(state, sender, spender) + amount,
        );
        return { ...state, allowances };
      },
    },
    transferFrom: {
      params: object({ from: address(), to: address(), amount }),
      run(state, { sender }, { from, to, amount }) {
        if (amount > balanceOf(state, from))
          throw new AppRejection("transferring amount exceeds owner's balance");
        const allowed = allowanceOf(state, from, sender);
        if (amount > allowed) throw new AppRejection("transferring amount exceeds approved amount of sender");
        const moved = move(state, from, to, amount, "transferring amount exceeds owner's balance");
        return { ...moved, allowances: withAllowance(moved, from, sender, allowed - amount) };
      },
    },
    mint: {
      params: object({ to: address(), amount }),
      run(state, { sender }, { to, amount }) {
        if (state.owner === null || sender !== state.owner) throw new AppRejection("only the owner can mint");
        if (state.totalSupply + amount > UINT256_MAX) throw new AppRejection("total supply would overflow");
        return {
          ...state,
          totalSupply: state.totalSupply + amount,
          balances: withBalance(state.balances, to, balanceOf(state, to) + amount),
        };
      },
    },
    burn: {
      params: object({ amount }),
      run(state, { sender }, { amount }) {
        const balance = balanceOf(state, sender);
        if (balance < amount) throw new AppRejection("not enough balance to burn");
        return {
          ...state,
          totalSupply: state.totalSupply - amount,
          balances: withBalance(state.balances, sender, balance - amount),
        };
      },
    },
  },
  queries: {
    balanceOf: {
      params: object({}),
      run: (state, { sender }) => balanceOf(state, sender),
    },
    allowance: {
      params: object({ owner: address(), spender: address() }),
      run(state, { sender }, { owner, spender }) {
        if (sender !== owner && sender !== spender) {
          throw new AppRejection("only the owner or the spender may read an allowance");
        }
        return allowanceOf(state, owner, spender);
      },
    },
    totalSupply: {
      params: object({}),
      run: (state) => state.totalSupply,
    },
    owner: {
      params: object({}),
      run: (state) => state.owner,
    },
  },
});

export default erc20;
