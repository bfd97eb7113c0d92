// A confidential ballot: whoever opens it sets the question, the choices and who may vote (a list of
// addresses); each of them votes for one choice, and at close the counts per choice are published
// to anyone (`tally`, public). Who voted what stays hidden: no query names another's vote.
//
// A new vote replaces the voter's earlier one until the ballot closes, and only the last counts (one
// vote per address): a voter made to vote in front of someone can vote again alone afterwards, which
// takes the point out of coercing or buying a vote, and a mistake can be mended. Nothing of this shows:
// a replaced vote changes no count anyone sees before close.
//
// What each may read while the ballot is open: its question, choices, closing time, the number of
// eligible voters and whether they are one, and their own vote. Not the number of votes cast: read
// before and after someone is seen sending a command, it would tell whether they voted (abstaining is
// a choice too). After close the tally says how many voted and for what; with very few voters, or a
// unanimous vote, a tally tells who voted what, as every published count does. `close` also publishes
// the counts on chain with its batch (`publish`), for contracts and readers without a node.
//
// Who may close: the opener at any time (a ballot without `closesAt` closes only so), and anyone once
// `closesAt` has come.
import type { Address } from "viem";
import { AppRejection, defineApp, publish } from "../../src/app/app.js";
import { PersistentMap } from "../../src/app/pmap.js";
import { address, array, object, optional, string, uint } from "../../src/app/schema.js";

export type Ballot = {
  readonly opener: Address;
  readonly question: string;
  readonly choices: readonly string[];
  /** The block time from which votes are refused and anyone may close; null: only the opener closes. */
  readonly closesAt: bigint | null;
  /** Each eligible voter, and the index of the choice they voted for (null: not voted). */
  readonly voters: PersistentMap<Address, number | null>;
  /** Set at close: the votes for each choice, in the order of `choices`. */
  readonly counts: readonly bigint[] | null;
};

export type VotingState = { readonly ballots: PersistentMap<string, Ballot> };

export const MAX_CHOICES = 32;
export const MAX_VOTERS = 1_000;
const QUESTION_MAX_LENGTH = 512;
const CHOICE_MAX_LENGTH = 128;
const id = string({ minLength: 1, maxLength: 64 });

function ballotOf(state: VotingState, ballotId: string): Ballot {
  const ballot = state.ballots.get(ballotId);
  if (ballot === undefined) throw new AppRejection(`no ballot ${JSON.stringify(ballotId)}`);
  return ballot;
}

const withBallot = (state: VotingState, ballotId: string, ballot: Ballot): VotingState => ({
  ballots: state.ballots.set(ballotId, ballot),
});

/** The tally as `tally` and the close's receipt give it: each choice with its votes. */
function tallyOf(ballot: Ballot, counts: readonly bigint[]) {
  const cast = counts.reduce((sum, n) => sum + n, 0n);
  return {
    counts: ballot.choices.map((choice, i) => ({ choice, votes: counts[i]! })),
    cast,
    eligible: BigInt(ballot.voters.size),
  };
}

export const voting = defineApp({
  name: "voting",
  initialState: (): VotingState => ({ ballots: PersistentMap.empty() }),
  commands: {
    open: {
      params: object({
        id,
        question: string({ minLength: 1, maxLength: QUESTION_MAX_LENGTH }),
        choices: array(string({ minLength: 1, maxLength: CHOICE_MAX_LENGTH }), { max: MAX_CHOICES }),
        voters: array(address(), { max: MAX_VOTERS }),
        closesAt: optional(uint()),
      }),
      run(state, { sender, timestamp }, { id, question, choices, voters, closesAt = null }) {
        if (state.ballots.has(id)) throw new AppRejection(`ballot ${JSON.stringify(id)} exists`);
        if (choices.length < 2) throw new AppRejection("a ballot needs at least two choices");
        if (new Set(choices).size !== choices.length) throw new AppRejection("the choices must differ");
        if (voters.length === 0) throw new AppRejection("a ballot needs voters");
        if (closesAt !== null && closesAt <= timestamp)
          throw new AppRejection("closesAt must be a block time to come");
        const ballot: Ballot = {
          opener: sender,
          question,
          choices,
          closesAt,
          // A voter listed twice is one voter.
          voters: PersistentMap.from(voters.map((voter) => [voter, null] as const)),
          counts: null,
        };
        return withBallot(state, id, ballot);
      },
    },
    vote: {
      params: object({ id, choice: string({ minLength: 1, maxLength: CHOICE_MAX_LENGTH }) }),
      run(state, { sender, timestamp }, { id, choice }) {
        const ballot = ballotOf(state, id);
        if (ballot.counts !== null || (ballot.closesAt !== null && timestamp >= ballot.closesAt))
          throw new AppRejection("voting has ended");
        if (!ballot.voters.has(sender)) throw new AppRejection("not a voter on this ballot");
        const index = ballot.choices.indexOf(choice);
        if (index < 0) throw new AppRejection(`not a choice: ${JSON.stringify(choice)}`);
        return withBallot(state, id, { ...ballot, voters: ballot.voters.set(sender, index) });
      },
    },
    close: {
      params: object({ id }),
      publishes: true,
      run(state, { sender, timestamp }, { id }) {
        const ballot = ballotOf(state, id);
        if (ballot.counts !== null) throw new AppRejection("the ballot is closed");
        const due = ballot.closesAt !== null && timestamp >= ballot.closesAt;
        if (sender !== ballot.opener && !due)
          throw new AppRejection("only the opener may close before closesAt");
        const counts = ballot.choices.map(() => 0n);
        for (const index of ballot.voters.values()) if (index !== null) counts[index]! += 1n;
        const closed = { ...ballot, counts };
        const tally = tallyOf(closed, counts);
        // On chain for anyone, with the batch: the counts in the order of the choices (the ballot's
        // query names them), bounded whatever the choices' length; never who voted what.
        const published = { id, counts, cast: tally.cast, eligible: tally.eligible };
        return publish(withBallot(state, id, closed), published, tally);
      },
    },
  },
  queries: {
    ballot: {
      params: object({ id }),
      run(state, { sender, timestamp }, { id }) {
        const { question, choices, closesAt, voters, counts } = ballotOf(state, id);
        const status =
          counts !== null ? "closed" : closesAt !== null && timestamp >= closesAt ? "ended" : "open";
        return {
          question,
          choices,
          closesAt,
          status,
          voters: BigInt(voters.size),
          eligible: voters.has(sender),
        };
      },
    },
    myVote: {
      params: object({ id }),
      run(state, { sender }, { id }) {
        const ballot = ballotOf(state, id);
        if (!ballot.voters.has(sender)) throw new AppRejection("not a voter on this ballot");
        const index = ballot.voters.get(sender);
        return index === null || index === undefined ? null : ballot.choices[index]!;
      },
    },
    tally: {
      params: object({ id }),
      public: true,
      run(state, _ctx, { id }) {
        const ballot = ballotOf(state, id);
        if (ballot.counts === null) throw new AppRejection("the ballot is open: its tally comes at close");
        return tallyOf(ballot, ballot.counts);
      },
    },
  },
});

export default voting;
