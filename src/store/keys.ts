/**
 * Every Redis key name Switchboard uses, decided here and nowhere else. Scripts receive keys as KEYS
 * (never build them), and every key a script touches shares one hash tag, so each script runs unchanged
 * on Redis Cluster:
 *   {q:<queue>}   everything about one queue and the callers waiting in it
 *   {agents}      agent records, availability indexes, offers and timers
 *   {c:<callSid>} one call's IVR state (with its last idempotent answer) and status-callback order
 *   {x}           cross-call facts: repeat-caller index, voicemail list
 *   {rec}         call records: each call's working record and the records stream (src/records)
 */
export interface QueueKeys {
  /**
   * ZSET callSid → band·2^40 + seq of the entries being offered or bridged (not claimable); with `ready`
   * the whole queue, exact FIFO within a priority (src/store/lua/include/queue-entry.lua).
   */
  held: string;
  /**
   * ZSET of every entry, the format before `held`: rewritten into `held` at start-up (queueUpgrade), then
   * deleted; written no more.
   */
  waiting: string;
  /** HASH per waiting caller, built by `caller(callSid)`. */
  caller: (callSid: string) => string;
  /**
   * `caller('')`: passed as a KEYS entry only to the scripts that discover callSids (claimNext, and the
   * start-up upgrade of the entries' field names), which append the callSid to it. It carries the queue's tag, so the key it builds is in the declared slot.
   */
  callerPrefix: string;
  /** ZSET callSid → band·2^40 + seq of the entries that can be claimed now (state waiting or callback). */
  ready: string;
  /** SET callSids being offered to an agent right now (state offered or callback_offered). */
  offering: string;
  /** STRING sequence for FIFO scores. */
  seq: string;
  /** ZSET callSid → enqueue time (ms): the longest wait is its first member. */
  since: string;
  /** SET callSids holding their place as a callback. */
  callbacks: string;
  /** LIST of recent handle times (s) for estimates, newest first, capped. */
  handleTimes: string;
  /** STREAM of this queue's domain events. */
  events: string;
  /**
   * HASH counted arrivals per 10-second bucket (field: ms ÷ 10,000, floored) for the capacity window, plus
   * `lo` / `hi`, the lowest and highest bucket that may be present; buckets older than a week go.
   */
  arrivals: string;
  /**
   * ZSET arrivals (member callSid, score ms): the format before `arrivals`. Still counted by the read while
   * it lasts; the first enqueue after an upgrade gives it a week to live; written no more.
   */
  legacyArrivals: string;
  /** HASH of counters kept for conservation checks (offered, answered, ...). */
  tally: string;
  /** ZSET of counted leaves, score = ms, member `wait|abandoned|callSid`: caller patience over the window. */
  left: string;
  /** HASH of one calendar day's counters for the wallboard (`date` is YYYY-MM-DD), kept a few days. */
  day: (date: string) => string;
  /** STRING (TTL) set while one instance checks a long-waiting caller with Twilio: one check per period. */
  checked: (callSid: string) => string;
}

export interface AgentKeys {
  /** HASH per agent, built by `agent(id)`. */
  agent: (agentId: string) => string;
  /**
   * `agent('')`: passed as a KEYS entry only to the scripts that discover agent ids from an index (reserve,
   * the expiry sweeps, staffing counts), which append the id to it. It carries the {agents} tag, so the
   * keys they build are in the declared slot.
   */
  agentPrefix: string;
  /** SET of all known agent ids. */
  all: string;
  /** ZSET available agent → idle-since ms (longest idle first). */
  available: string;
  /** ZSET agentId → offer deadline ms. */
  offerDeadlines: string;
  /** ZSET agentId → wrap-up end ms. */
  wrapDeadlines: string;
  /** ZSET agentId → sign-out deadline ms after a lost connection. */
  graceDeadlines: string;
  /** STRING round-robin counter. */
  rr: string;
  /** STREAM of agent domain events. */
  events: string;
  // The agent index, kept by every agent script that changes an agent's state, team or skills (in the same
  // script: src/store/lua/include/agent-index.lua), so staffing checks and per-state counts never read the
  // agents one by one. agentIndexRebuild recomputes it from the agent hashes (at start-up).
  /** SET of signed-in agent ids (state other than offline). */
  signedIn: string;
  /** `inState('')`: passed as a KEYS entry to the scripts that move agents, which append the state to it. */
  statePrefix: string;
  /** SET of the agents in a state other than offline (`available` here is exactly the agents in that state). */
  inState: (state: string) => string;
  /** HASH `<state>|<team>` → agents in that state in that team (every agent, offline too; no zero fields). */
  stateCounts: string;
  /** `withSkill('')`: passed as a KEYS entry to the scripts that move agents, which append the skill to it. */
  skillPrefix: string;
  /** SET of the signed-in agents having the skill. */
  withSkill: (skill: string) => string;
  /** SET of every skill an agent has had since the last rebuild (so a rebuild can clear their sets). */
  skills: string;
}

export interface CallKeys {
  /**
   * HASH of one call's IVR state with short field names, and its last idempotent webhook (token, time,
   * starting state): src/store/call-state.ts (TTL).
   */
  ivr: string;
  /**
   * STRING: the call's state as JSON, the format before `ivr`. Read when `ivr` is absent (a call in flight
   * across an upgrade) and deleted by the next save; written no more.
   */
  legacyState: string;
  /** ZSET of status-callback sequence numbers seen (TTL). */
  statusSeq: string;
  /** HASH of the call's conference recording: SID, conference, queue, status, events seen (TTL; src/queue/recording.ts). */
  recording: string;
}

export interface Keys {
  prefix: string;
  queue(queue: string): QueueKeys;
  agents: AgentKeys;
  call(callSid: string): CallKeys;
  /** HASH callerHash → last handled call (time, queue, disposition) for repeat detection. */
  repeatIndex: string;
  /** ZSET of one caller's recent calls (callSid → ms), for "called N times in the repeat window". */
  callerCalls(callerHash: string): string;
  /** Offers in flight (JSON with TTL) and their indexes by agent and by call, under the {agents} tag. */
  offers: {
    offer(offerId: string): string;
    byAgent(agentId: string): string;
    byCall(callSid: string): string;
    /** STRING: the first leg (CallSid) of `kind` Twilio told us about for an offer; beside the offer record. */
    leg(offerId: string, kind: 'agent' | 'callback'): string;
    /** STRING set once the dequeued caller requested the offer's connect URL. */
    dequeued(offerId: string): string;
    /**
     * STRING (TTL) held by the instance taking the offer's caller out of the Twilio queue: one dequeue at a
     * time per offer, and one left by an instance that died expires, so a survivor can finish it.
     */
    dequeuing(offerId: string): string;
    /** The call's latest transfer (JSON with TTL). */
    transfer(callSid: string): string;
    /** HASH supervisor contact → monitoring leg CallSid + mode, for a live call. */
    monitors(callSid: string): string;
  };
  /** LIST of voicemail records (JSON), newest first. */
  voicemails: string;
  /** Call records: both keys under the {rec} tag, so the fold script (recordFold) runs on Redis Cluster. */
  records: {
    /**
     * HASH one call's working record (the record's fields under one-character names, plus `_`-prefixed
     * bookkeeping: src/store/lua/recordFold-3.lua), with a TTL.
     */
    call(callSid: string): string;
    /**
     * HASH the working record in the format before `call` (public field names, a dedupe field per event):
     * a call in flight across an upgrade. The fold moves it into `call` once; written no more.
     */
    legacyCall(callSid: string): string;
    /** STREAM of call records, one entry per call (its latest revision), entry ids in record time. */
    stream: string;
  };
  /** STREAM of supervisor actions (who, what, which call), entry ids in action time. One key. */
  audit: string;
  /** Pub/sub channel for agent-bound messages across instances. */
  agentChannel: string;
  /** Pub/sub channel for live supervisor/wallboard updates. */
  liveChannel: string;
  /**
   * HASH one client's token bucket for one rate limiter (TTL: until it would be full again). The only
   * key of its script, so it needs no hash tag to run on Redis Cluster.
   */
  rateLimit(limiter: string, client: string): string;
  /**
   * The staffing plan of the current interval (JSON with TTL, src/capacity/live.ts) and the lock one
   * instance holds while it computes the next one (STRING with TTL). Each is used alone, so no hash tag.
   */
  plan: { current: string; lock: string };
}

/** Build the key catalogue for a prefix (tests use a unique prefix each). */
export function createKeys(prefix = 'sb:'): Keys {
  const queueCache = new Map<string, QueueKeys>();
  const a = `${prefix}{agents}:`;
  const x = `${prefix}{x}:`;
  return {
    prefix,
    queue(queue) {
      let k = queueCache.get(queue);
      if (!k) {
        const q = `${prefix}{q:${queue}}:`;
        k = {
          held: `${q}held`,
          waiting: `${q}waiting`,
          caller: (callSid) => `${q}caller:${callSid}`,
          callerPrefix: `${q}caller:`,
          ready: `${q}ready`,
          offering: `${q}offering`,
          seq: `${q}seq`,
          since: `${q}since`,
          callbacks: `${q}callbacks`,
          handleTimes: `${q}aht`,
          events: `${q}events`,
          arrivals: `${q}arr`,
          legacyArrivals: `${q}arrivals`,
          tally: `${q}tally`,
          left: `${q}left`,
          day: (date) => `${q}day:${date}`,
          checked: (callSid) => `${q}checked:${callSid}`,
        };
        queueCache.set(queue, k);
      }
      return k;
    },
    agents: {
      agent: (agentId) => `${a}agent:${agentId}`,
      agentPrefix: `${a}agent:`,
      all: `${a}all`,
      available: `${a}available`,
      offerDeadlines: `${a}offers`,
      wrapDeadlines: `${a}wrapups`,
      graceDeadlines: `${a}grace`,
      rr: `${a}rr`,
      events: `${a}events`,
      signedIn: `${a}ix:in`,
      statePrefix: `${a}ix:state:`,
      inState: (state) => `${a}ix:state:${state}`,
      stateCounts: `${a}ix:counts`,
      skillPrefix: `${a}ix:skill:`,
      withSkill: (skill) => `${a}ix:skill:${skill}`,
      skills: `${a}ix:skills`,
    },
    call(callSid) {
      const c = `${prefix}{c:${callSid}}:`;
      return { ivr: `${c}ivr`, legacyState: `${c}state`, statusSeq: `${c}status`, recording: `${c}recording` };
    },
    repeatIndex: `${x}repeat`,
    callerCalls: (h) => `${x}calls:${h}`,
    offers: {
      offer: (id) => `${a}offer:${id}`,
      byAgent: (id) => `${a}offer-of-agent:${id}`,
      byCall: (sid) => `${a}offer-of-call:${sid}`,
      leg: (id, kind) => `${a}offer:${id}:leg:${kind}`,
      dequeued: (id) => `${a}offer:${id}:dequeued`,
      dequeuing: (id) => `${a}offer:${id}:dequeuing`,
      transfer: (sid) => `${a}transfer:${sid}`,
      monitors: (sid) => `${a}monitors:${sid}`,
    },
    voicemails: `${x}voicemails`,
    records: {
      call: (sid) => `${prefix}{rec}:c:${sid}`,
      legacyCall: (sid) => `${prefix}{rec}:call:${sid}`,
      stream: `${prefix}{rec}:stream`,
    },
    audit: `${prefix}audit`,
    agentChannel: `${prefix}agent-bus`,
    liveChannel: `${prefix}live`,
    rateLimit: (limiter, client) => `${prefix}rl:${limiter}:${client}`,
    plan: { current: `${prefix}plan:current`, lock: `${prefix}plan:lock` },
  };
}
