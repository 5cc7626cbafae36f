/**
 * The call-center file (numbers, IVR flows, queues, hours, languages, prompts, thresholds, agents):
 * its schema, cross-reference checks and loading from YAML or JSON. Validated once at start-up with
 * zod and frozen; every error names the path in the file. Imports nothing of ours outside src/config.
 */
import { z } from 'zod';
import { ConfigError, describeIssues } from './error.js';

export { ConfigError } from './error.js';

const id = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, _ and - (max 63)');
const langCode = z.string().regex(/^[a-z]{2}(-[A-Z]{2})?$/, 'a language code such as en or pt-BR');
const e164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'an E.164 number such as +18005550100');
const dialTarget = z.string().regex(/^(\+[1-9]\d{6,14}|client:[A-Za-z0-9_.-]+|sip:.+)$/, 'an E.164 number, client:name or sip:uri');
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'a time HH:MM');
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD');
const dtmfKey = z.string().regex(/^[0-9*#]$/, 'one key: 0-9, * or #');

/** Text to speak, or an audio URL to play. */
const promptPart = z.union([z.string().min(1), z.object({ play: z.string().url() }).strict()]);
/** A prompt: the same for every language, or one per language code. */
const prompt = z.union([promptPart, z.record(langCode, promptPart)]);
export type PromptPart = z.infer<typeof promptPart>;
export type Prompt = z.infer<typeof prompt>;

const menuOption = z
  .object({
    key: dtmfKey.optional(),
    speech: z.array(z.string().min(1)).default([]),
    next: id,
    setLanguage: langCode.optional(),
    /** Marks the branch as a request for an agent (so the call is not "contained"). */
    label: z.string().optional(),
  })
  .strict()
  .refine((o) => o.key !== undefined || o.speech.length > 0, 'an option needs a key or speech words');

const nodeBase = { prompt: prompt.optional() };

/** The post-call survey's questions and their answer scales (docs/definitions.md#surveys). */
export const SURVEY_SCALES = { csat: [1, 5], nps: [0, 10], ces: [1, 7] } as const;
export type SurveyQuestionKind = keyof typeof SURVEY_SCALES;
const surveyKind = z.enum(['csat', 'nps', 'ces']);
const surveyQuestion = z.object({ kind: surveyKind, enabled: z.boolean().default(true), prompt }).strict();
/**
 * The survey: an intro, the questions in the order they are asked (each on or off), and thanks. The
 * earlier form with `csat:` and `nps:` prompts is read as the questions [csat, nps].
 */
const surveySchema = z.preprocess(
  (raw) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw) || 'questions' in raw) return raw;
    const { csat, nps, ...rest } = raw as Record<string, unknown>;
    if (csat === undefined && nps === undefined) return raw;
    const questions = [
      ...(csat === undefined ? [] : [{ kind: 'csat', prompt: csat }]),
      ...(nps === undefined ? [] : [{ kind: 'nps', prompt: nps }]),
    ];
    return { ...rest, questions };
  },
  z
    .object({
      enabled: z.boolean().default(true),
      intro: prompt,
      questions: z
        .array(surveyQuestion)
        .min(1)
        .superRefine((qs, ctx) => {
          const seen = new Set<string>();
          qs.forEach((q, i) => {
            if (seen.has(q.kind)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [i, 'kind'], message: `"${q.kind}" is asked once` });
            seen.add(q.kind);
          });
        }),
      thanks: prompt,
    })
    .strict(),
);

const menuNode = z
  .object({
    type: z.literal('menu'),
    prompt,
    options: z.array(menuOption).min(1),
    timeoutSeconds: z.number().int().min(1).max(60).default(5),
    maxRetries: z.number().int().min(0).max(10).default(2),
    invalidPrompt: prompt.optional(),
    timeoutPrompt: prompt.optional(),
    /** Where the call goes after too many invalid or missing answers. */
    default: id,
    repeatKey: dtmfKey.optional(),
    backKey: dtmfKey.optional(),
    speech: z.boolean().default(true),
    numDigits: z.number().int().min(1).max(20).optional(),
  })
  .strict();

const nodeSchema = z.discriminatedUnion('type', [
  menuNode,
  z.object({ type: z.literal('message'), ...nodeBase, prompt, selfService: z.boolean().default(false), next: id.optional() }).strict(),
  z.object({ type: z.literal('hours'), ...nodeBase, hours: id, open: id, closed: id, holiday: id.optional() }).strict(),
  z
    .object({
      type: z.literal('voicemail'),
      prompt,
      maxLengthSeconds: z.number().int().min(5).max(3600).default(120),
      queue: id.optional(),
      next: id.optional(),
    })
    .strict(),
  z.object({ type: z.literal('queue'), ...nodeBase, queue: id, priority: z.number().int().min(0).max(9).optional() }).strict(),
  z.object({ type: z.literal('transfer'), ...nodeBase, to: dialTarget }).strict(),
  z.object({ type: z.literal('hangup'), ...nodeBase }).strict(),
]);
export type IvrNode = z.infer<typeof nodeSchema>;
export type MenuNode = z.infer<typeof menuNode>;

const flowSchema = z.object({ start: id, nodes: z.record(id, nodeSchema) }).strict();
export type Flow = z.infer<typeof flowSchema> & { id: string };

const weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
export type Weekday = z.infer<typeof weekday>;
const hoursSchema = z
  .object({
    timezone: z.string().refine(isTimeZone, 'an IANA time zone such as Europe/London'),
    weekly: z.partialRecord(weekday, z.array(z.tuple([hhmm, hhmm])).default([])),
    holidays: z.array(isoDate).default([]),
  })
  .strict();
export type Hours = z.infer<typeof hoursSchema>;

const overflowSchema = z
  .object({
    target: z.enum(['voicemail', 'queue', 'number', 'message']),
    queue: id.optional(),
    number: dialTarget.optional(),
    prompt: prompt.optional(),
  })
  .strict()
  .refine((o) => o.target !== 'queue' || o.queue, 'target queue needs `queue`')
  .refine((o) => o.target !== 'number' || o.number, 'target number needs `number`');

/**
 * Call recording of a queue: the conference of each call it connects is recorded from its start. The
 * consent prompt (required when enabled: what to say is a legal decision, so there is no built-in text)
 * is played to the caller before they are queued. A pause leaves silence in the recording (`silence`,
 * Twilio's default) or leaves the paused time out (`skip`).
 */
const recordingSchema = z
  .object({
    enabled: z.boolean().default(false),
    consentPrompt: prompt.optional(),
    pauseBehavior: z.enum(['silence', 'skip']).default('silence'),
  })
  .strict()
  .refine((r) => !r.enabled || r.consentPrompt !== undefined, {
    message: 'recording needs a consentPrompt when enabled',
    path: ['consentPrompt'],
  });
export type RecordingConfig = z.infer<typeof recordingSchema>;

const queueSchema = z
  .object({
    name: z.string().optional(),
    skills: z.array(id).default([]),
    defaultPriority: z.number().int().min(0).max(9).default(0),
    strategy: z.enum(['longest_idle', 'round_robin', 'fewest_calls']).default('longest_idle'),
    maxWaitSeconds: z.number().int().min(10).max(86_400).default(900),
    /** Callers waiting at most; above 1,000 the server resizes Twilio's queue at start-up (5,000 is Twilio's most). */
    maxLength: z.number().int().min(1).max(5000, "5000 at most (Twilio's largest queue)").default(1000),
    whenNoAgents: z.enum(['wait', 'overflow']).default('wait'),
    overflow: overflowSchema.default({ target: 'voicemail' }),
    announceEverySeconds: z.number().int().min(10).max(600).default(30),
    offerTimeoutSeconds: z.number().int().min(3).max(120).default(15),
    wrapUpSeconds: z.number().int().min(0).max(3600).default(60),
    /** Handle time (talk + hold + wrap-up) assumed until the queue has handled calls: estimates, staffing. */
    expectedHandleSeconds: z.number().int().min(1).max(7200).default(180),
    callbackKey: dtmfKey.optional(),
    voicemailKey: dtmfKey.optional(),
    serviceLevelSeconds: z.number().int().min(1).max(3600).optional(),
    team: id.optional(),
    survey: z.boolean().default(true),
    /** A call transferred into this queue: at the front of its priority band (default) or at the back. */
    transferToFront: z.boolean().default(true),
    /** Priority of a call transferred into this queue (default: the queue's defaultPriority). */
    transferPriority: z.number().int().min(0).max(9).optional(),
    /** Record the calls this queue connects (off by default); the consent prompt is played before queuing. */
    recording: recordingSchema.default({ enabled: false, pauseBehavior: 'silence' }),
  })
  .strict();
export type QueueConfig = z.infer<typeof queueSchema> & { id: string };

const agentSchema = z
  .object({
    name: z.string().min(1),
    team: id.default('default'),
    skills: z.array(id).default([]),
    contact: dialTarget,
    /** sha256 hex of the agent's token; `token` (plain) is accepted for demos. */
    tokenSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    token: z.string().min(8).optional(),
  })
  .strict()
  .refine((a) => a.tokenSha256 || a.token, 'an agent needs `tokenSha256` (or `token` for demos)');
export type AgentConfig = z.infer<typeof agentSchema> & { id: string };

/** A named supervisor: who acted is written to the audit stream. `admin` may also read the audit. */
const supervisorSchema = z
  .object({
    name: z.string().min(1),
    /** sha256 hex of the supervisor's bearer token (never the token itself). */
    tokenSha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits (sha256 of the token)'),
    role: z.enum(['supervisor', 'admin']).default('supervisor'),
  })
  .strict();
export type SupervisorConfig = z.infer<typeof supervisorSchema> & { id: string };

const languageSchema = z
  .object({ name: z.string(), voice: z.string().default('alice'), twilioLanguage: z.string().default('en-US') })
  .strict();

export const centerSchema = z
  .object({
    name: z.string().default('Switchboard'),
    defaultLanguage: langCode.default('en'),
    languages: z.record(langCode, languageSchema).default({ en: { name: 'English', voice: 'alice', twilioLanguage: 'en-US' } }),
    thresholds: z
      .object({
        serviceLevelSeconds: z.number().int().min(1).max(3600).default(20),
        serviceLevelTarget: z.number().min(0).max(1).default(0.8),
        shortAbandonSeconds: z.number().int().min(0).max(120).default(5),
        repeatWindowSeconds: z
          .number()
          .int()
          .min(60)
          .max(90 * 86_400)
          .default(7 * 86_400),
        capacityWindowSeconds: z
          .number()
          .int()
          .min(60)
          .max(7 * 86_400)
          .default(3600),
      })
      .strict()
      .default({
        serviceLevelSeconds: 20,
        serviceLevelTarget: 0.8,
        shortAbandonSeconds: 5,
        repeatWindowSeconds: 604_800,
        capacityWindowSeconds: 3600,
      }),
    callTtlSeconds: z
      .number()
      .int()
      .min(600)
      .max(7 * 86_400)
      .default(86_400),
    /** How long call records and the supervisor audit stay in their Redis streams (trimmed by time). */
    retention: z
      .object({
        callRecordsDays: z.number().positive().max(3650).default(90),
        auditDays: z.number().positive().max(3650).default(365),
      })
      .strict()
      .default({ callRecordsDays: 90, auditDays: 365 }),
    fallback: z.object({ prompt, transferTo: dialTarget.optional(), voicemail: z.boolean().default(true) }).strict(),
    holdMusic: z.object({ url: z.string().url(), segmentSeconds: z.number().int().min(5).max(600).default(30) }).strict(),
    survey: surveySchema.optional(),
    numbers: z.record(z.union([e164, z.literal('*')]), z.object({ flow: id }).strict()),
    hours: z.record(id, hoursSchema).default({}),
    flows: z.record(id, flowSchema),
    queues: z.record(id, queueSchema).default({}),
    agents: z.record(id, agentSchema).default({}),
    supervisors: z.record(id, supervisorSchema).default({}),
    teams: z.array(id).default(['default']),
  })
  .strict();

export type CenterConfig = Omit<z.infer<typeof centerSchema>, 'flows' | 'queues' | 'agents' | 'supervisors'> & {
  flows: Record<string, Flow>;
  queues: Record<string, QueueConfig>;
  agents: Record<string, AgentConfig>;
  supervisors: Record<string, SupervisorConfig>;
};

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function pathText(path: PropertyKey[]): string {
  return path.length === 0 ? '(top level)' : path.map(String).join('.');
}

/**
 * Validate a parsed call-center file (YAML or JSON already parsed) and check cross-references
 * (flows name nodes that exist, queues and hours exist, languages are declared). Throws ConfigError
 * whose lines each start with the path in the file.
 */
export function parseCenterConfig(raw: unknown, source = 'config'): CenterConfig {
  const parsed = centerSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`${source} is invalid:\n${describeIssues(parsed.error.issues, pathText)}`);
  }
  const c = parsed.data;
  const problems: string[] = [];
  const langs = new Set(Object.keys(c.languages));
  if (!langs.has(c.defaultLanguage)) problems.push(`defaultLanguage: "${c.defaultLanguage}" is not in languages`);
  for (const [num, n] of Object.entries(c.numbers)) {
    if (!c.flows[n.flow]) problems.push(`numbers.${num}.flow: no flow "${n.flow}"`);
  }
  const teams = new Set(c.teams);
  for (const [qid, q] of Object.entries(c.queues)) {
    if (q.overflow.target === 'queue' && q.overflow.queue && !c.queues[q.overflow.queue]) {
      problems.push(`queues.${qid}.overflow.queue: no queue "${q.overflow.queue}"`);
    }
    if (q.overflow.target === 'queue' && q.overflow.queue === qid)
      problems.push(`queues.${qid}.overflow.queue: a queue cannot overflow into itself`);
    if (q.team && !teams.has(q.team)) problems.push(`queues.${qid}.team: "${q.team}" is not in teams`);
  }
  for (const [aid, a] of Object.entries(c.agents)) {
    if (!teams.has(a.team)) problems.push(`agents.${aid}.team: "${a.team}" is not in teams`);
  }
  const agentDigests = new Set(Object.values(c.agents).map((a) => a.tokenSha256));
  const seenDigests = new Map<string, string>();
  for (const [sid, sup] of Object.entries(c.supervisors)) {
    if (agentDigests.has(sup.tokenSha256)) problems.push(`supervisors.${sid}.tokenSha256: the same token as an agent's`);
    const other = seenDigests.get(sup.tokenSha256);
    if (other) problems.push(`supervisors.${sid}.tokenSha256: the same token as supervisor "${other}"`);
    seenDigests.set(sup.tokenSha256, sid);
  }
  for (const [fid, flow] of Object.entries(c.flows)) {
    const has = (n: string | undefined) => n === undefined || flow.nodes[n] !== undefined;
    if (!has(flow.start)) problems.push(`flows.${fid}.start: no node "${flow.start}"`);
    for (const [nid, node] of Object.entries(flow.nodes)) {
      const at = `flows.${fid}.nodes.${nid}`;
      const refs: [string, string | undefined][] = [];
      switch (node.type) {
        case 'menu':
          refs.push(['default', node.default]);
          node.options.forEach((o, i) => {
            refs.push([`options.${i}.next`, o.next]);
            if (o.setLanguage && !langs.has(o.setLanguage))
              problems.push(`${at}.options.${i}.setLanguage: "${o.setLanguage}" is not in languages`);
          });
          break;
        case 'message':
          refs.push(['next', node.next]);
          break;
        case 'hours':
          refs.push(['open', node.open], ['closed', node.closed], ['holiday', node.holiday]);
          if (!c.hours[node.hours]) problems.push(`${at}.hours: no hours "${node.hours}"`);
          break;
        case 'voicemail':
          refs.push(['next', node.next]);
          if (node.queue && !c.queues[node.queue]) problems.push(`${at}.queue: no queue "${node.queue}"`);
          break;
        case 'queue':
          if (!c.queues[node.queue]) problems.push(`${at}.queue: no queue "${node.queue}"`);
          break;
        default:
          break;
      }
      for (const [k, ref] of refs) if (!has(ref)) problems.push(`${at}.${k}: no node "${ref}"`);
    }
  }
  if (problems.length) throw new ConfigError(`${source} is invalid:\n${problems.join('\n')}`);

  // Every table looked up by a name that may come from a request (a number, a queue, a node, a language)
  // has no prototype: `constructor` or `__proto__` from a webhook finds nothing instead of Object's.
  const flows = dict(
    Object.entries(c.flows).map(([fid, f]): [string, Flow] => [fid, { ...f, id: fid, nodes: dict(Object.entries(f.nodes)) }]),
  );
  const queues = dict(Object.entries(c.queues).map(([qid, q]): [string, QueueConfig] => [qid, { ...q, id: qid }]));
  const agents = dict(Object.entries(c.agents).map(([aid, a]): [string, AgentConfig] => [aid, { ...a, id: aid }]));
  const supervisors = dict(Object.entries(c.supervisors).map(([sid, sup]): [string, SupervisorConfig] => [sid, { ...sup, id: sid }]));
  return deepFreeze({
    ...c,
    numbers: dict(Object.entries(c.numbers)),
    hours: dict(Object.entries(c.hours)),
    languages: dict(Object.entries(c.languages)),
    flows,
    queues,
    agents,
    supervisors,
  });
}

/** A record without a prototype. */
function dict<V>(entries: [string, V][]): Record<string, V> {
  const out = Object.create(null) as Record<string, V>;
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

/** The service-level threshold for a queue: its own, or the centre's. */
export function serviceLevelSecondsFor(center: CenterConfig, queue: string): number {
  return center.queues[queue]?.serviceLevelSeconds ?? center.thresholds.serviceLevelSeconds;
}

/** The call center's time zone, which defines "today": that of its first business-hours set, UTC when none. */
export function centerTimeZone(center: CenterConfig): string {
  return Object.values(center.hours)[0]?.timezone ?? 'UTC';
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** Read and validate a call-center file (.yaml, .yml or .json). */
export async function loadCenterConfigFile(path: string): Promise<CenterConfig> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`SWITCHBOARD_CONFIG: cannot read ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    if (path.endsWith('.json')) raw = JSON.parse(text);
    else raw = (await import('yaml')).parse(text);
  } catch (e) {
    throw new ConfigError(`${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
  }
  return parseCenterConfig(raw, path);
}
