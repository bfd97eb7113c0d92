// A sealed-bid auction whose bids are escrowed in a token it embeds (the erc20 app, composed: its
// commands and queries are this app's, under their own names and params). Anyone opens an auction of
// an item, with a reserve and a closing time if they like; each other holder bids once (a new bid
// replaces theirs, its escrow adjusted), through the token's own transfer rule, so a bid beyond the
// bidder's balance is refused as the token refuses a transfer. At close the highest bid wins and pays
// its bid (a tie goes to the earliest bid, a replaced bid counting from its replacement), the opener
// receives the price and every other bidder is refunded.
//
// What each may read: the auction's item, reserve, times and status, to anyone, never the bids or
// their number; a bidder their own bid; after close, the winner and price, to anyone (`result`,
// public), and on chain: `close` publishes `{id, winner, price}` with its batch (`publish`). Losing
// bids are never revealed.
//
// Who may close: the opener at any time (an auction without `closesAt` closes only so), and anyone
// once `closesAt` has come, so bidders never depend on the opener to get their escrow back.
import type { Address } from "viem";
import { AppRejection, type CommandContext, defineApp, publish } from "../../src/app/app.js";
import { embed } from "../../src/app/compose.js";
import { PersistentMap } from "../../src/app/pmap.js";
import { object, optional, string, uint } from "../../src/app/schema.js";
import { type Erc20State, erc20 } from "../erc20/index.js";

/**
 * The token account that holds the bids: no one holds its key (an address is a hash of a public key:
 * none is known for this one), so only this app's rules move what it holds.
 */
export const ESCROW: Address = "0x00000000000000000000000000000000000e5c70";

/** One bidder's bid: its amount and the sequence of the command that made it (ties go to the earliest). */
export type Bid = { readonly amount: bigint; readonly at: bigint };

export type Auction = {
  readonly opener: Address;
  readonly item: string;
  readonly reserve: bigint;
  /** The block time from which bids are refused and anyone may close; null: only the opener closes. */
  readonly closesAt: bigint | null;
  readonly bids: PersistentMap<Address, Bid>;
  /** Set at close: the winning bidder (null if nobody bid) and the price they paid. */
  readonly outcome: { readonly winner: Address | null; readonly price: bigint | null } | null;
};

export type AuctionState = {
  readonly token: Erc20State;
  readonly auctions: PersistentMap<string, Auction>;
};

/** Bidders per auction at most: closing refunds every one of them in one command. */
export const MAX_BIDS = 10_000;
const id = string({ minLength: 1, maxLength: 64 });
const ITEM_MAX_LENGTH = 256;

const token = embed(erc20, {
  state: (s: AuctionState) => s.token,
  with: (s, t) => ({ ...s, token: t }),
});

function auctionOf(state: AuctionState, auctionId: string): Auction {
  const auction = state.auctions.get(auctionId);
  if (auction === undefined) throw new AppRejection(`no auction ${JSON.stringify(auctionId)}`);
  return auction;
}

const withAuction = (state: AuctionState, auctionId: string, auction: Auction): AuctionState => ({
  ...state,
  auctions: state.auctions.set(auctionId, auction),
});

/** Bidding has ended at `timestamp`: the auction is closed or its closing time has come. */
const biddingOver = (auction: Auction, timestamp: bigint): boolean =>
  auction.outcome !== null || (auction.closesAt !== null && timestamp >= auction.closesAt);

/** Moves `amount` of the token from `from` to `to` by the token's own rule (refused as it refuses). */
function pay(state: AuctionState, ctx: CommandContext, from: Address, to: Address, amount: bigint) {
  return amount === 0n ? state : token.rules.transfer(state, { ...ctx, sender: from }, { to, amount });
}

/** The better of two bids: the higher, or at equal amounts the earlier. */
const beats = (a: Bid, b: Bid): boolean => a.amount > b.amount || (a.amount === b.amount && a.at < b.at);

export const auction = defineApp({
  name: "auction",
  embeds: [token],
  initialState: (): AuctionState => ({ token: erc20.initialState(), auctions: PersistentMap.empty() }),
  commands: {
    open: {
      params: object({
        id,
        item: string({ minLength: 1, maxLength: ITEM_MAX_LENGTH }),
        reserve: optional(uint()),
        closesAt: optional(uint()),
      }),
      run(state, { sender, timestamp }, { id, item, reserve = 0n, closesAt = null }) {
        if (state.auctions.has(id)) throw new AppRejection(`auction ${JSON.stringify(id)} exists`);
        if (closesAt !== null && closesAt <= timestamp)
          throw new AppRejection("closesAt must be a block time to come");
        const opened: Auction = {
          opener: sender,
          item,
          reserve,
          closesAt,
          bids: PersistentMap.empty(),
          outcome: null,
        };
        return withAuction(state, id, opened);
      },
    },
    bid: {
      params: object({ id, amount: uint() }),
      run(state, ctx, { id, amount }) {
        const auction = auctionOf(state, id);
        if (biddingOver(auction, ctx.timestamp)) throw new AppRejection("bidding has ended");
        if (ctx.sender === auction.opener) throw new AppRejection("the opener may not bid");
        if (amount === 0n || amount < auction.reserve)
          throw new AppRejection("a bid must be above zero and at least the reserve");
        const before = auction.bids.get(ctx.sender)?.amount ?? 0n;
        if (before === 0n && auction.bids.size >= MAX_BIDS) throw new AppRejection("too many bidders");
        // Only the difference moves: more from the bidder to escrow, or the rest back to them.
        const escrowed =
          amount > before
            ? pay(state, ctx, ctx.sender, ESCROW, amount - before)
            : pay(state, ctx, ESCROW, ctx.sender, before - amount);
        const bids = auction.bids.set(ctx.sender, { amount, at: ctx.sequence });
        return withAuction(escrowed, id, { ...auction, bids });
      },
    },
    close: {
      params: object({ id }),
      publishes: true,
      run(state, ctx, { id }) {
        const auction = auctionOf(state, id);
        if (auction.outcome !== null) throw new AppRejection("the auction is closed");
        const due = auction.closesAt !== null && ctx.timestamp >= auction.closesAt;
        if (ctx.sender !== auction.opener && !due)
          throw new AppRejection("only the opener may close before closesAt");
        let best: [Address, Bid] | undefined;
        for (const entry of auction.bids) if (best === undefined || beats(entry[1], best[1])) best = entry;
        // Every bid leaves escrow: the winner's to the opener, each other back to its bidder.
        let paid = state;
        for (const [bidder, bid] of auction.bids)
          paid = pay(paid, ctx, ESCROW, bidder === best?.[0] ? auction.opener : bidder, bid.amount);
        const outcome = { winner: best?.[0] ?? null, price: best?.[1].amount ?? null };
        // On chain for anyone, with the batch: the auction and its outcome, never a losing bid.
        return publish(withAuction(paid, id, { ...auction, outcome }), { id, ...outcome }, outcome);
      },
    },
  },
  queries: {
    auction: {
      params: object({ id }),
      run(state, { timestamp }, { id }) {
        const { opener, item, reserve, closesAt, outcome } = auctionOf(state, id);
        const status =
          outcome !== null ? "closed" : closesAt !== null && timestamp >= closesAt ? "ended" : "open";
        return { opener, item, reserve, closesAt, status };
      },
    },
    myBid: {
      params: object({ id }),
      run: (state, { sender }, { id }) => auctionOf(state, id).bids.get(sender)?.amount ?? null,
    },
    result: {
      params: object({ id }),
      public: true,
      run(state, _ctx, { id }) {
        const { outcome } = auctionOf(state, id);
        if (outcome === null) throw new AppRejection("the auction is open: its result comes at close");
        return outcome;
      },
    },
  },
});

export default auction;
