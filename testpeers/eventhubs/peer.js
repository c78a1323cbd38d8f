#!/usr/bin/env node
// Event Hubs AMQP 1.0 test peer for TA-m365-defender.
//
// A loopback stand-in for an Azure Event Hubs namespace that the real Go SDK
// (azeventhubs/v2 over go-amqp) can talk to with a development-emulator connection string:
//
//   Endpoint=sb://127.0.0.1:<amqp_port>;SharedAccessKeyName=<name>;SharedAccessKey=<key>;EntityPath=<hub>;UseDevelopmentEmulator=true
//
// It implements what the SDK needs on the wire:
//   - SASL ANONYMOUS (and PLAIN, accepting any credentials);
//   - $cbs put-token: SAS tokens are verified against the configured key (HMAC-SHA256 over the
//     URL-encoded audience and expiry), JWTs are accepted; a "refuse" fault answers status 401;
//     every attach and management read needs a token whose audience covers the entity;
//   - $management READ for com.microsoft:eventhub and com.microsoft:partition with the exact AMQP
//     types azeventhubs/v2 decodes (partition_ids: array of str, georeplication_factor: int,
//     sequence numbers: long, offsets: string, times: timestamp);
//   - partition receivers (<hub>/ConsumerGroups/<cg>/Partitions/<id>) honouring the selector
//     filter (x-opt-offset / x-opt-sequence-number / x-opt-enqueued-time, > and >=, '-1' and
//     '@latest'), pre-settled deliveries stamped with x-opt-sequence-number (long), x-opt-offset
//     (string), x-opt-enqueued-time (timestamp) and x-opt-partition-key, credit-based flow, and
//     epoch (owner level) link stealing with amqp:link:stolen;
//   - producers to <hub> (round robin, or by partition key) and <hub>/Partitions/<id>, single
//     messages and batches (message format 0x80013700), each event stored with the producer's
//     own sections byte for byte.
//
// A control channel (HTTP on 127.0.0.1) lets tests inject data and faults:
//   POST /send?partition=P[&hub=H][&repeat=N][&partition_key=K]
//        body: events framed as [uint32 big-endian length][bytes]...; without partition the
//        events go round robin. Answers {"events":N,"partitions":{"0":{"first":S,"last":S}}}.
//   POST /detach[?partition=P][&consumer_group=G][&condition=C][&description=D]
//        detaches matching partition receivers (default condition amqp:link:detach-forced).
//   POST /drop[?mode=reset|close]  destroys every AMQP connection (reset, the default) or closes
//        it with amqp:connection:forced.
//   POST /refuse-token[?count=N][&status=401]  answers the next N put-token requests with status.
//   POST /retention?begin_sequence_number=S[&partition=P]  drops older events so that the
//        partition's first sequence number becomes S (never beyond the next one to be assigned).
//   GET  /stats[?hub=H]  events per partition, last enqueued sequence numbers, receivers, tokens.
//
// AMQP over WebSockets is served on ws://127.0.0.1:<ws_port>/$servicebus/websocket.
//
// On start it prints one JSON line on stdout:
// {"amqp_port":N,"control_port":M,"ws_port":W,"hubs":[...],"partitions":P} (plus "amqps_port" with TLS).
// It exits when stdin closes (so a test's child never outlives the test) and on SIGTERM/SIGINT.
//
// Flags (or environment): --hub NAME[,NAME] (EH_HUB, default "hub"), --partitions N
// (EH_PARTITIONS, default 4), --key-name NAME (EH_KEY_NAME), --key KEY (EH_KEY; empty: SAS
// signatures are not checked), --max-message-size BYTES (EH_MAX_MESSAGE_SIZE, default 1048576),
// --tls-cert FILE --tls-key FILE (PEM) add an AMQP-over-TLS listener (amqps_port), for
// clients that use a TokenCredential (always TLS; point CustomEndpoint at it),
// --verbose (EH_VERBOSE=1) logs one line per AMQP event on stderr.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const net = require('net');
const { Duplex } = require('stream');
const tls = require('tls');
const rhea = require('rhea');

const types = rhea.types;
const rmessage = rhea.message;

const BATCH_FORMAT = 0x80013700;
const SELECTOR_FILTER = 'apache.org:selector-filter:string';
const SEQ_ANNOTATION = 'x-opt-sequence-number';
const OFFSET_ANNOTATION = 'x-opt-offset';
const TIME_ANNOTATION = 'x-opt-enqueued-time';
const KEY_ANNOTATION = 'x-opt-partition-key';
const STAMPED = new Set([SEQ_ANNOTATION, OFFSET_ANNOTATION, TIME_ANNOTATION, KEY_ANNOTATION]);

// ---------------------------------------------------------------------------------------------
// configuration

function parseConfig(argv, env) {
  const cfg = {
    hubs: (env.EH_HUB || 'hub').split(','),
    partitions: Number(env.EH_PARTITIONS || 4),
    keyName: env.EH_KEY_NAME || '',
    key: env.EH_KEY || '',
    maxMessageSize: Number(env.EH_MAX_MESSAGE_SIZE || 1048576),
    verbose: env.EH_VERBOSE === '1',
  };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) fail(`flag ${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--hub': cfg.hubs = next().split(','); break;
      case '--partitions': cfg.partitions = Number(next()); break;
      case '--key-name': cfg.keyName = next(); break;
      case '--key': cfg.key = next(); break;
      case '--max-message-size': cfg.maxMessageSize = Number(next()); break;
      case '--tls-cert': cfg.tlsCert = next(); break;
      case '--tls-key': cfg.tlsKey = next(); break;
      case '--verbose': cfg.verbose = true; break;
      default: fail(`unknown flag ${a}`);
    }
  }
  if (!Number.isInteger(cfg.partitions) || cfg.partitions < 1 || cfg.partitions > 1024) {
    fail(`--partitions must be an integer from 1 to 1024, got ${cfg.partitions}`);
  }
  if (!Number.isInteger(cfg.maxMessageSize) || cfg.maxMessageSize < 1024) {
    fail(`--max-message-size must be an integer of at least 1024, got ${cfg.maxMessageSize}`);
  }
  if (Boolean(cfg.tlsCert) !== Boolean(cfg.tlsKey)) fail('--tls-cert and --tls-key go together');
  cfg.hubs = cfg.hubs.map((h) => h.trim()).filter((h) => h !== '');
  if (cfg.hubs.length === 0) fail('--hub must name at least one event hub');
  return cfg;
}

function fail(msg) {
  process.stderr.write(`FATAL msg="eventhubs peer: ${msg}"\n`);
  process.exit(2);
}

const cfg = parseConfig(process.argv, process.env);

function log(level, msg, fields) {
  if (level === 'DEBUG' && !cfg.verbose) return;
  let line = `${level} msg=${JSON.stringify(msg)}`;
  for (const k in fields || {}) line += ` ${k}=${JSON.stringify(String(fields[k]))}`;
  process.stderr.write(line + '\n');
}

// ---------------------------------------------------------------------------------------------
// the event store

// Partition holds a partition's retained events. events[i] has sequence number firstSeq+i.
class Partition {
  constructor(hub, id) {
    this.hub = hub;
    this.id = id;
    this.events = []; // {seq, offset (number), time (ms), head (Buffer), tail (Buffer), size}
    this.firstSeq = 0; // sequence number of events[0] (== nextSeq when empty)
    this.nextSeq = 0;
    this.nextOffset = 0; // offsets are byte positions, rendered as decimal strings
    this.lastTime = 0;
    this.lastOffset = -1;
    this.enqueued = 0;
    this.delivered = 0;
    this.deliveredBytes = 0;
    this.receivers = new Set();
  }

  // append stores one event. sections are the producer's sections other than the annotations
  // (already encoded); header is the producer's header section or null; annotations is the list
  // of the producer's own typed annotation items (key, value, key, value...) to keep.
  append(sections, header, annotations, partitionKey) {
    const seq = this.nextSeq++;
    const offset = this.nextOffset;
    const time = Date.now();
    const items = [
      types.wrap_symbol(SEQ_ANNOTATION), types.wrap_long(seq),
      types.wrap_symbol(OFFSET_ANNOTATION), types.wrap_string(String(offset)),
      types.wrap_symbol(TIME_ANNOTATION), types.wrap_timestamp(time),
    ];
    if (partitionKey !== undefined && partitionKey !== null) {
      items.push(types.wrap_symbol(KEY_ANNOTATION), types.wrap_string(String(partitionKey)));
    }
    if (annotations) items.push(...annotations);
    const w = new types.Writer();
    w.write(types.described(types.wrap_ulong(0x72), types.Map32(items)));
    const ann = w.toBuffer();
    const head = header ? Buffer.concat([header, ann]) : ann;
    const size = head.length + sections.length;
    this.events.push({ seq, offset, time, head, tail: sections, size });
    this.nextOffset += size;
    this.lastTime = time;
    this.lastOffset = offset;
    this.enqueued++;
    return seq;
  }

  eventAt(seq) {
    return this.events[seq - this.firstSeq];
  }

  // retain drops events before sequence number begin.
  retain(begin) {
    begin = Math.max(this.firstSeq, Math.min(begin, this.nextSeq));
    this.events = this.events.slice(begin - this.firstSeq);
    this.firstSeq = begin;
  }

  // startFor turns a selector filter into the first sequence number to deliver.
  startFor(filter) {
    if (!filter) return this.nextSeq; // no filter: latest
    const m = /^\s*amqp\.annotation\.(x-opt-offset|x-opt-sequence-number|x-opt-enqueued-time)\s*(>=|>)\s*'([^']*)'\s*$/i.exec(filter);
    if (!m) throw new PeerError('com.microsoft:argument-error', `unsupported selector filter ${JSON.stringify(filter)}`);
    const field = m[1].toLowerCase();
    const inclusive = m[2] === '>=';
    const value = m[3];
    if (field === 'x-opt-offset') {
      if (value === '-1') return this.firstSeq;
      if (value === '@latest') return this.nextSeq;
      if (!/^-?\d+$/.test(value)) throw new PeerError('com.microsoft:argument-error', `offset ${JSON.stringify(value)} is not a valid offset`);
      const off = Number(value);
      return this.firstMatching((e) => (inclusive ? e.offset >= off : e.offset > off));
    }
    if (!/^-?\d+$/.test(value)) throw new PeerError('com.microsoft:argument-error', `${field} ${JSON.stringify(value)} is not an integer`);
    const n = Number(value);
    if (field === 'x-opt-sequence-number') {
      const s = inclusive ? n : n + 1;
      if (s > this.nextSeq) {
        throw new PeerError('com.microsoft:argument-out-of-range',
          `the supplied sequence number '${n}' is invalid; the last sequence number in the system is '${this.nextSeq - 1}'`);
      }
      return Math.max(s, this.firstSeq);
    }
    return this.firstMatching((e) => (inclusive ? e.time >= n : e.time > n));
  }

  // firstMatching binary-searches the retained events (monotonic in offset and time).
  firstMatching(pred) {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (pred(this.events[mid])) hi = mid; else lo = mid + 1;
    }
    return this.firstSeq + lo;
  }

  properties() {
    const empty = this.events.length === 0;
    return {
      name: types.wrap_string(this.hub.name),
      type: types.wrap_string('com.microsoft:partition'),
      partition: types.wrap_string(this.id),
      begin_sequence_number: types.wrap_long(this.firstSeq),
      last_enqueued_sequence_number: types.wrap_long(this.nextSeq - 1),
      last_enqueued_offset: types.wrap_string(String(this.lastOffset)),
      last_enqueued_time_utc: types.wrap_timestamp(this.lastTime),
      is_partition_empty: types.wrap_boolean(empty),
    };
  }

  stats() {
    return {
      events: this.events.length,
      enqueued: this.enqueued,
      begin_sequence_number: this.firstSeq,
      last_enqueued_sequence_number: this.nextSeq - 1,
      last_enqueued_offset: String(this.lastOffset),
      delivered: this.delivered,
      delivered_bytes: this.deliveredBytes,
      receivers: this.receivers.size,
    };
  }
}

class Hub {
  constructor(name, partitions) {
    this.name = name;
    this.createdAt = Date.now();
    this.partitions = new Map();
    for (let i = 0; i < partitions; i++) this.partitions.set(String(i), new Partition(this, String(i)));
    this.ids = [...this.partitions.keys()];
    this.roundRobin = 0;
  }

  // route picks the partition for an event sent to the hub itself.
  route(partitionKey) {
    if (partitionKey !== undefined && partitionKey !== null) {
      const h = crypto.createHash('sha256').update(String(partitionKey)).digest();
      return this.partitions.get(this.ids[h.readUInt32BE(0) % this.ids.length]);
    }
    const p = this.partitions.get(this.ids[this.roundRobin % this.ids.length]);
    this.roundRobin++;
    return p;
  }

  properties() {
    return {
      name: types.wrap_string(this.name),
      type: types.wrap_string('com.microsoft:eventhub'),
      created_at: types.wrap_timestamp(this.createdAt),
      partition_count: types.wrap_int(this.ids.length),
      partition_ids: types.wrap_array(this.ids, 0xb1),
      georeplication_factor: types.wrap_int(1),
    };
  }
}

const hubs = new Map();
for (const name of cfg.hubs) hubs.set(name.toLowerCase(), new Hub(name, cfg.partitions));

class PeerError extends Error {
  constructor(condition, description) {
    super(description);
    this.condition = condition;
    this.description = description;
  }
}

// ---------------------------------------------------------------------------------------------
// AMQP encoding helpers: walking encoded values without decoding them

const SECTION_SYMBOLS = {
  'amqp:header:list': 0x70,
  'amqp:delivery-annotations:map': 0x71,
  'amqp:message-annotations:map': 0x72,
  'amqp:properties:list': 0x73,
  'amqp:application-properties:map': 0x74,
  'amqp:data:binary': 0x75,
  'amqp:amqp-sequence:list': 0x76,
  'amqp:amqp-value:*': 0x77,
  'amqp:footer:map': 0x78,
};

// skipValue returns the position just after the encoded AMQP value starting at pos.
function skipValue(buf, pos) {
  const code = buf[pos++];
  if (code === undefined) throw new PeerError('amqp:decode-error', 'truncated AMQP value');
  if (code === 0x00) return skipValue(buf, skipValue(buf, pos)); // descriptor, then value
  let end;
  switch (code >> 4) {
    case 0x4: end = pos; break;
    case 0x5: end = pos + 1; break;
    case 0x6: end = pos + 2; break;
    case 0x7: end = pos + 4; break;
    case 0x8: end = pos + 8; break;
    case 0x9: end = pos + 16; break;
    case 0xa: case 0xc: case 0xe: end = pos + 1 + buf[pos]; break;
    case 0xb: case 0xd: case 0xf: end = pos + 4 + buf.readUInt32BE(pos); break;
    default: throw new PeerError('amqp:decode-error', `unknown AMQP type code 0x${code.toString(16)}`);
  }
  if (end > buf.length || Number.isNaN(end)) throw new PeerError('amqp:decode-error', 'truncated AMQP value');
  return end;
}

// sectionsOf splits an encoded message into its sections: [{code, start, end}].
function sectionsOf(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    if (buf[pos] !== 0x00) throw new PeerError('amqp:decode-error', 'message section is not a described type');
    const d = buf[pos + 1];
    let code;
    if (d === 0x53) code = buf[pos + 2];
    else if (d === 0x80) code = Number(buf.readBigUInt64BE(pos + 2));
    else if (d === 0xa3) code = SECTION_SYMBOLS[buf.toString('latin1', pos + 3, pos + 3 + buf[pos + 2])];
    else if (d === 0xb3) code = SECTION_SYMBOLS[buf.toString('latin1', pos + 6, pos + 6 + buf.readUInt32BE(pos + 2))];
    if (code === undefined) throw new PeerError('amqp:decode-error', 'unknown message section descriptor');
    const end = skipValue(buf, pos);
    out.push({ code, start: pos, end });
    pos = end;
  }
  return out;
}

// binaryOf returns the bytes of a data section's binary value.
function binaryOf(buf, s) {
  const vpos = skipValue(buf, s.start + 1); // skip the 0x00 and the descriptor
  const tc = buf[vpos];
  if (tc === 0xa0) return buf.subarray(vpos + 2, vpos + 2 + buf[vpos + 1]);
  if (tc === 0xb0) return buf.subarray(vpos + 5, vpos + 5 + buf.readUInt32BE(vpos + 1));
  throw new PeerError('amqp:decode-error', 'data section does not hold binary');
}

// annotationItems decodes a message-annotations section into typed items (key, value, ...).
function annotationItems(buf, s) {
  // rhea returns a described value as the value itself with a descriptor property.
  const section = new types.Reader(buf.subarray(s.start, s.end)).read();
  return Array.isArray(section.value) ? section.value : [];
}

function keyOf(typed) {
  return typed && typed.value !== undefined ? String(typed.value) : String(typed);
}

// parseEvent splits one encoded event into what Partition.append stores.
function parseEvent(buf, envelopeKey) {
  const secs = sectionsOf(buf);
  let header = null;
  let keep = [];
  let partitionKey = envelopeKey;
  const rest = [];
  for (const s of secs) {
    if (s.code === 0x70) {
      header = Buffer.from(buf.subarray(s.start, s.end)); // a copy: buf may be a slice of a socket read
    } else if (s.code === 0x72) {
      const items = annotationItems(buf, s);
      for (let i = 0; i + 1 < items.length; i += 2) {
        const k = keyOf(items[i]);
        if (k === KEY_ANNOTATION) partitionKey = keyOf(items[i + 1]);
        else if (!STAMPED.has(k)) keep.push(items[i], items[i + 1]);
      }
    } else if (s.code !== 0x71) {
      rest.push(buf.subarray(s.start, s.end));
    }
  }
  return { sections: Buffer.concat(rest), header, annotations: keep.length ? keep : null, partitionKey };
}

// dataSection encodes bytes as an AMQP data section.
function dataSection(body) {
  if (body.length < 256) return Buffer.concat([Buffer.from([0x00, 0x53, 0x75, 0xa0, body.length]), body]);
  const h = Buffer.from([0x00, 0x53, 0x75, 0xb0, 0, 0, 0, 0]);
  h.writeUInt32BE(body.length, 4);
  return Buffer.concat([h, body]);
}

// ---------------------------------------------------------------------------------------------
// connections, authorization and links

const container = rhea.create_container({ id: 'eventhubs-test-peer' });
container.sasl_server_mechanisms.enable_anonymous();
container.sasl_server_mechanisms.enable_plain(() => true);

const faults = { refuseTokens: 0, refuseStatus: 401 };
const counters = { tokensAccepted: 0, tokensRefused: 0, connections: 0, connectionsTotal: 0, deliveries: 0 };
const connections = new Set();

function entityPathOf(address) {
  let a = String(address || '');
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/]*\/?(.*)$/i.exec(a);
  if (m) a = m[1];
  return a.replace(/^\/+|\/+$/g, '').toLowerCase();
}

function isAuthorized(state, entity) {
  const path = entityPathOf(entity);
  for (const a of state.audiences) {
    if (a === '' || path === a || path.startsWith(a + '/')) return true;
  }
  return false;
}

// verifySAS checks a SharedAccessSignature token against the configured key.
function verifySAS(token, audience) {
  if (!cfg.key) return null;
  const m = /^SharedAccessSignature\s+(.*)$/.exec(String(token));
  if (!m) return 'token is not a SharedAccessSignature';
  const parts = {};
  for (const kv of m[1].split('&')) {
    const i = kv.indexOf('=');
    if (i > 0) parts[kv.slice(0, i)] = kv.slice(i + 1);
  }
  if (!parts.sr || !parts.sig || !parts.se || !parts.skn) return 'token lacks sr, sig, se or skn';
  if (cfg.keyName && parts.skn !== cfg.keyName) return `unknown shared access key name ${JSON.stringify(parts.skn)}`;
  const want = crypto.createHmac('sha256', cfg.key).update(`${parts.sr}\n${parts.se}`).digest('base64');
  let got;
  try {
    got = decodeURIComponent(parts.sig.replace(/\+/g, ' '));
  } catch (e) {
    return 'signature is not URL-encoded';
  }
  const a = Buffer.from(want);
  const b = Buffer.from(got);
  if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) return 'signature does not match the shared access key';
  if (Number(parts.se) * 1000 < Date.now()) return 'token has expired';
  let sr;
  try {
    sr = decodeURIComponent(parts.sr);
  } catch (e) {
    return 'resource is not URL-encoded';
  }
  if (entityPathOf(sr) !== entityPathOf(audience) && !entityPathOf(audience).startsWith(entityPathOf(sr) + '/')) {
    return `token resource ${JSON.stringify(sr)} does not cover ${JSON.stringify(audience)}`;
  }
  return null;
}

function stateOf(connection) {
  if (!connection.peerState) {
    connection.peerState = { audiences: new Set(), replySenders: new Map(), receivers: new Set() };
  }
  return connection.peerState;
}

// refuse rejects an attach: the reply carries no terminus and the link is detached with error.
function refuse(link, condition, description) {
  log('DEBUG', 'refusing link', { name: link.name, condition, description });
  link.local.attach.source = null;
  link.local.attach.target = null;
  link.close({ condition, description });
}

function echoSettleModes(link) {
  const r = link.remote.attach;
  link.local.attach.snd_settle_mode = r.snd_settle_mode === undefined ? 2 : r.snd_settle_mode;
  link.local.attach.rcv_settle_mode = r.rcv_settle_mode === undefined ? 0 : r.rcv_settle_mode;
}

// parseEntity maps an address to {kind, hub, partition, consumerGroup}.
function parseEntity(address) {
  const a = String(address || '');
  if (a === '$cbs' || a === '$management') return { kind: a };
  const parts = a.split('/');
  const hub = hubs.get(parts[0].toLowerCase());
  if (!hub) throw new PeerError('amqp:not-found', `the messaging entity '${parts[0]}' could not be found`);
  if (parts.length === 1) return { kind: 'hub', hub };
  if (parts.length === 3 && /^partitions$/i.test(parts[1])) return { kind: 'partition', hub, partition: partitionOf(hub, parts[2]) };
  if (parts.length === 5 && /^consumergroups$/i.test(parts[1]) && parts[2] !== '' && /^partitions$/i.test(parts[3])) {
    return { kind: 'consumer', hub, consumerGroup: parts[2], partition: partitionOf(hub, parts[4]) };
  }
  throw new PeerError('amqp:not-found', `the messaging entity '${a}' could not be found`);
}

function partitionOf(hub, id) {
  const p = hub.partitions.get(id);
  if (!p) {
    throw new PeerError('com.microsoft:argument-out-of-range',
      `the specified partition '${id}' is invalid for event hub '${hub.name}'; valid partitions are ${hub.ids.join(',')}`);
  }
  return p;
}

// Our sender: the client attached a receiver (consumer, or the reply side of $cbs/$management).
container.on('sender_open', (ctx) => {
  const link = ctx.sender;
  const state = stateOf(ctx.connection);
  const r = link.remote.attach;
  const source = r.source && r.source.address;
  const target = r.target && r.target.address;
  echoSettleModes(link);
  let ent;
  try {
    ent = parseEntity(source);
    if (ent.kind === 'hub' || ent.kind === 'partition') {
      throw new PeerError('amqp:not-allowed', `cannot receive from '${source}': use ${ent.hub.name}/ConsumerGroups/<group>/Partitions/<id>`);
    }
  } catch (e) {
    return refuse(link, e.condition || 'amqp:internal-error', e.message);
  }
  link.set_source({ address: source });
  link.set_target({ address: target });
  if (ent.kind === '$cbs' || ent.kind === '$management') {
    state.replySenders.set(target, link);
    link.peerReply = target;
    return;
  }
  if (!isAuthorized(state, source)) {
    return refuse(link, 'amqp:unauthorized-access', `unauthorized access to '${source}': no put-token for this entity`);
  }
  // The filter map is keyed by filter name; the selector's value is a described string.
  let filter;
  const filters = r.source.filter || {};
  for (const k of Object.keys(filters)) {
    let v = filters[k];
    while (v && typeof v === 'object' && v.value !== undefined) v = v.value;
    if (typeof v === 'string' && (k === SELECTOR_FILTER || filter === undefined)) filter = v;
  }
  let start;
  try {
    start = ent.partition.startFor(filter);
  } catch (e) {
    return refuse(link, e.condition, e.message);
  }
  const props = r.properties || {};
  const epochRaw = props['com.microsoft:epoch'];
  const epoch = epochRaw === undefined || epochRaw === null ? null : Number(epochRaw.valueOf());
  const name = props['com.microsoft:receiver-name'] || link.name;
  const part = ent.partition;
  // Epoch rules: an epoch receiver takes the partition (for its consumer group) from receivers
  // of a lower or equal epoch and from non-epoch receivers; it is refused if a higher epoch holds
  // it; a non-epoch receiver is refused while an epoch receiver holds it.
  const peers = [...part.receivers].filter((x) => x.consumerGroup.toLowerCase() === ent.consumerGroup.toLowerCase());
  const holder = peers.find((x) => x.epoch !== null);
  if (holder) {
    if (epoch === null) {
      return refuse(link, 'amqp:link:stolen',
        `At least one receiver for the endpoint is created with epoch of '${holder.epoch}', and so non-epoch receiver is not allowed. ` +
        'Either reconnect with a higher epoch, or make sure all epoch receivers are closed or disconnected.');
    }
    if (epoch < holder.epoch) {
      return refuse(link, 'amqp:link:stolen',
        `Receiver '${holder.name}' with a higher epoch '${holder.epoch}' already exists. Receiver '${name}' with epoch ${epoch} cannot be created. ` +
        'Make sure you are creating receiver with increasing epoch value to ensure connectivity, or ensure all old epoch receivers are closed or disconnected');
    }
  }
  if (epoch !== null) {
    for (const old of peers) {
      detachReceiver(old, 'amqp:link:stolen',
        `New receiver '${name}' with higher epoch of '${epoch}' is created hence current receiver '${old.name}' with epoch '${old.epoch === null ? 0 : old.epoch}' is getting disconnected. ` +
        'If you are recreating the receiver, make sure a higher epoch is used.');
    }
  }
  link.local.attach.snd_settle_mode = 1; // pre-settled: the SDK never settles
  link.local.attach.offered_capabilities = r.desired_capabilities;
  const rec = {
    link, partition: part, consumerGroup: ent.consumerGroup, epoch, name: String(name),
    next: start, delivered: 0, filter: filter || '', state, connection: ctx.connection,
  };
  link.peerReceiver = rec;
  part.receivers.add(rec);
  state.receivers.add(rec);
  log('DEBUG', 'receiver attached', { partition: part.id, consumer_group: rec.consumerGroup, epoch, filter, start });
  process.nextTick(() => pump(rec));
});

container.on('sendable', (ctx) => {
  if (ctx.sender.peerReceiver) pump(ctx.sender.peerReceiver);
});

// A drain request is answered once everything available has been sent.
container.on('sender_draining', (ctx) => {
  const rec = ctx.sender.peerReceiver;
  if (!rec) return;
  pump(rec);
  if (rec.next >= rec.partition.nextSeq) ctx.sender.set_drained(true);
});

function detachReceiver(rec, condition, description) {
  forget(rec);
  if (!rec.link.is_closed()) rec.link.close({ condition, description });
}

function forget(rec) {
  rec.partition.receivers.delete(rec);
  rec.state.receivers.delete(rec);
  rec.closed = true;
}

// pump delivers events to one receiver while it has credit.
function pump(rec) {
  if (rec.closed) return;
  const link = rec.link;
  if (!link.is_open()) return;
  const part = rec.partition;
  if (rec.next < part.firstSeq) rec.next = part.firstSeq; // retention removed what it was about to read
  if (rec.next >= part.nextSeq) return;
  const before = rec.next;
  let bytes;
  const out = link.session.outgoing;
  if (out.next_pending_delivery === out.next_delivery_id && link.connection.remote.open && link.connection.peerSocket) {
    bytes = pumpFast(rec);
  } else {
    bytes = pumpSlow(rec);
  }
  const n = rec.next - before;
  if (n) {
    rec.delivered += n;
    part.delivered += n;
    part.deliveredBytes += bytes;
    counters.deliveries += n;
  }
}

// pumpSlow sends through rhea's delivery queue; used while rhea has deliveries of its own
// pending on the session.
function pumpSlow(rec) {
  const link = rec.link;
  const part = rec.partition;
  let bytes = 0;
  while (rec.next < part.nextSeq && link.sendable()) {
    const ev = part.eventAt(rec.next);
    const payload = ev.tail.length ? Buffer.concat([ev.head, ev.tail], ev.size) : ev.head;
    link.send(payload, undefined, 0);
    rec.next++;
    bytes += ev.size;
  }
  return bytes;
}

// Transfer performative for a pre-settled delivery, with fixed-width fields so it can be
// patched in place: descriptor 0x14, list8 of handle (uint), delivery-id (uint), delivery-tag
// (4-byte binary), message-format (uint 0), settled (true), more (bool).
const TRANSFER_TEMPLATE = Buffer.from([
  0, 0, 0, 0, 2, 0, 0, 0, // frame header: size, doff, type AMQP, channel
  0x00, 0x53, 0x14, 0xc0, 20, 6,
  0x70, 0, 0, 0, 0,
  0x70, 0, 0, 0, 0,
  0xa0, 4, 0, 0, 0, 0,
  0x43, 0x41, 0x42,
]);
const TRANSFER_HEADER = TRANSFER_TEMPLATE.length;

// pumpFast writes pre-settled transfers straight into the connection's output, one header
// buffer per frame and the stored event bytes as they are, so a batch of deliveries costs one
// writev instead of rhea's per-message frame encoding. It keeps rhea's link and session
// counters (credit, delivery count, delivery and transfer ids) as rhea itself would.
function pumpFast(rec) {
  const link = rec.link;
  const part = rec.partition;
  const conn = link.connection;
  const out = link.session.outgoing;
  const channel = link.session.local.channel;
  const handle = link.local.handle;
  const maxFrame = Math.min(conn.remote.open.max_frame_size || 65536, 1 << 20);
  const maxPayload = maxFrame - TRANSFER_HEADER;
  const pending = conn.amqp_transport.pending;
  let bytes = 0;
  while (rec.next < part.nextSeq && link.credit > 0) {
    const ev = part.eventAt(rec.next);
    const nframes = Math.max(1, Math.ceil(ev.size / maxPayload));
    if (out.transfer_window() < nframes) break;
    const id = out.next_delivery_id >>> 0;
    out.next_delivery_id++;
    out.next_pending_delivery++;
    const chunks = nframes === 1 ? [ev.head, ev.tail] : [Buffer.concat([ev.head, ev.tail], ev.size)];
    for (let f = 0; f < nframes; f++) {
      const h = Buffer.allocUnsafe(TRANSFER_HEADER);
      TRANSFER_TEMPLATE.copy(h);
      const last = f === nframes - 1;
      const len = nframes === 1 ? ev.size : Math.min(maxPayload, ev.size - f * maxPayload);
      h.writeUInt32BE(TRANSFER_HEADER + len, 0);
      h.writeUInt16BE(channel, 6);
      h.writeUInt32BE(handle, 15);
      h.writeUInt32BE(id, 20);
      h.writeUInt32BE(id, 26);
      h[32] = last ? 0x42 : 0x41;
      pending.push({ raw: h });
      if (nframes === 1) {
        pending.push({ raw: chunks[0] });
        if (chunks[1].length) pending.push({ raw: chunks[1] });
      } else {
        pending.push({ raw: chunks[0].subarray(f * maxPayload, f * maxPayload + len) });
      }
    }
    out.next_transfer_id += nframes;
    out.window -= nframes;
    link.credit--;
    link.delivery_count++;
    rec.next++;
    bytes += ev.size;
  }
  if (bytes) {
    const socket = conn.peerSocket;
    socket.cork();
    try {
      conn.output();
    } finally {
      socket.uncork();
    }
  }
  return bytes;
}

// rhea decodes every format-0 message before the application sees it; keep the encoded bytes
// too, so a producer's single message is stored exactly as sent (rhea's re-encoding would
// change AMQP types, e.g. a long property to an int).
const RAW = Symbol('raw');
const decodeMessage = rmessage.decode;
rmessage.decode = (buffer) => {
  const msg = decodeMessage(buffer);
  msg[RAW] = buffer;
  return msg;
};

// Raw frames queued by pumpFast pass through rhea's transport unchanged.
const rheaFrames = require('rhea/lib/frames.js');
const writeFrame = rheaFrames.write_frame;
rheaFrames.write_frame = (frame) => (frame.raw ? frame.raw : writeFrame(frame));

function pumpPartition(part) {
  for (const rec of part.receivers) pump(rec);
}

// Our receiver: the client attached a sender ($cbs/$management requests, or a producer).
container.on('receiver_open', (ctx) => {
  const link = ctx.receiver;
  const state = stateOf(ctx.connection);
  const r = link.remote.attach;
  const target = r.target && r.target.address;
  echoSettleModes(link);
  let ent;
  try {
    ent = parseEntity(target);
    if (ent.kind === 'consumer') throw new PeerError('amqp:not-allowed', `cannot send to '${target}'`);
  } catch (e) {
    return refuse(link, e.condition || 'amqp:internal-error', e.message);
  }
  if (ent.kind !== '$cbs' && ent.kind !== '$management' && !isAuthorized(state, target)) {
    return refuse(link, 'amqp:unauthorized-access', `unauthorized access to '${target}': no put-token for this entity`);
  }
  link.set_source(r.source ? { address: r.source.address } : {});
  link.set_target({ address: target });
  link.local.attach.max_message_size = cfg.maxMessageSize;
  link.local.attach.offered_capabilities = r.desired_capabilities;
  link.peerEntity = ent;
});

container.on('message', (ctx) => {
  const link = ctx.receiver;
  const ent = link.peerEntity;
  if (!ent) return;
  try {
    if (ent.kind === '$cbs') return onPutToken(ctx);
    if (ent.kind === '$management') return onManagement(ctx);
    onProduce(ctx, ent);
    ctx.delivery.accept();
  } catch (e) {
    log('WARN', 'rejecting delivery', { error: e.message, target: link.remote.attach.target && link.remote.attach.target.address });
    ctx.delivery.reject({ condition: e.condition || 'amqp:internal-error', description: e.message });
  }
});

function reply(ctx, request, status, description, body) {
  ctx.delivery.accept();
  const to = request.reply_to;
  const sender = stateOf(ctx.connection).replySenders.get(to);
  if (!sender || !sender.is_open()) {
    log('WARN', 'no reply link for request', { reply_to: to });
    return;
  }
  const msg = {
    correlation_id: request.message_id,
    application_properties: {
      'status-code': types.wrap_int(status),
      'status-description': description,
    },
  };
  if (body !== undefined) msg.body = body;
  sender.send(msg);
}

function onPutToken(ctx) {
  const req = ctx.message;
  const ap = req.application_properties || {};
  const audience = String(ap.name || '');
  if (ap.operation !== 'put-token') return reply(ctx, req, 400, `unsupported $cbs operation ${ap.operation}`);
  if (faults.refuseTokens > 0) {
    faults.refuseTokens--;
    counters.tokensRefused++;
    log('INFO', 'refusing token (fault injection)', { audience });
    return reply(ctx, req, faults.refuseStatus, `Unauthorized: token for '${audience}' refused by the test peer`);
  }
  let why = null;
  if (ap.type === 'servicebus.windows.net:sastoken') why = verifySAS(req.body, audience);
  else if (ap.type !== 'jwt') why = `unsupported token type ${JSON.stringify(ap.type)}`;
  if (why) {
    counters.tokensRefused++;
    log('INFO', 'token refused', { audience, reason: why });
    return reply(ctx, req, 401, `Unauthorized: ${why}`);
  }
  counters.tokensAccepted++;
  stateOf(ctx.connection).audiences.add(entityPathOf(audience));
  reply(ctx, req, 202, 'Accepted');
}

function onManagement(ctx) {
  const req = ctx.message;
  const ap = req.application_properties || {};
  if (ap.operation !== 'READ') return reply(ctx, req, 400, `unsupported $management operation ${ap.operation}`);
  const hub = hubs.get(String(ap.name || '').toLowerCase());
  if (!hub) return reply(ctx, req, 404, `the messaging entity '${ap.name}' could not be found`);
  if (!isAuthorized(stateOf(ctx.connection), `${hub.name}/$management`)) {
    return reply(ctx, req, 401, `Unauthorized: no put-token for '${hub.name}/$management'`);
  }
  if (ap.type === 'com.microsoft:eventhub') return reply(ctx, req, 200, 'OK', types.wrap_map(hub.properties()));
  if (ap.type === 'com.microsoft:partition') {
    const p = hub.partitions.get(String(ap.partition));
    if (!p) return reply(ctx, req, 404, `partition '${ap.partition}' not found in event hub '${hub.name}'`);
    return reply(ctx, req, 200, 'OK', types.wrap_map(p.properties()));
  }
  return reply(ctx, req, 400, `unsupported $management type ${ap.type}`);
}

function onProduce(ctx, ent) {
  let raw;
  if (ctx.format === BATCH_FORMAT) {
    raw = ctx.message;
  } else if (ctx.format === undefined || ctx.format === 0) {
    raw = ctx.message[RAW] || rmessage.encode(ctx.message);
  } else {
    throw new PeerError('amqp:not-implemented', `unsupported message format 0x${Number(ctx.format).toString(16)}`);
  }
  if (raw.length > cfg.maxMessageSize) {
    throw new PeerError('amqp:link:message-size-exceeded',
      `the message of ${raw.length} bytes exceeds the limit of ${cfg.maxMessageSize} bytes`);
  }
  const events = [];
  if (ctx.format === BATCH_FORMAT) {
    let envelopeKey;
    for (const s of sectionsOf(raw)) {
      if (s.code === 0x72) {
        const items = annotationItems(raw, s);
        for (let i = 0; i + 1 < items.length; i += 2) if (keyOf(items[i]) === KEY_ANNOTATION) envelopeKey = keyOf(items[i + 1]);
      }
    }
    for (const s of sectionsOf(raw)) if (s.code === 0x75) events.push(parseEvent(binaryOf(raw, s), envelopeKey));
  } else {
    events.push(parseEvent(raw));
  }
  // Like the service, a batch sent to the hub lands in one partition: the one its partition
  // key hashes to, else the next in round robin.
  const touched = new Set();
  const batchPart = ent.kind === 'partition' ? ent.partition
    : ctx.format === BATCH_FORMAT ? ent.hub.route(events.length ? events[0].partitionKey : undefined) : null;
  for (const ev of events) {
    const part = batchPart || ent.hub.route(ev.partitionKey);
    part.append(ev.sections, ev.header, ev.annotations, ev.partitionKey);
    touched.add(part);
  }
  for (const p of touched) pumpPartition(p);
}

function onConnectionGone(connection) {
  const state = connection.peerState;
  if (state) {
    for (const rec of [...state.receivers]) forget(rec);
  }
  if (connections.delete(connection)) counters.connections--;
}

container.on('sender_close', (ctx) => {
  if (ctx.sender.peerReceiver) forget(ctx.sender.peerReceiver);
  if (ctx.sender.peerReply) stateOf(ctx.connection).replySenders.delete(ctx.sender.peerReply);
});
container.on('session_close', (ctx) => {
  const state = stateOf(ctx.connection);
  for (const rec of [...state.receivers]) if (rec.link.session === ctx.session) forget(rec);
});
container.on('connection_close', (ctx) => onConnectionGone(ctx.connection));
container.on('disconnected', (ctx) => onConnectionGone(ctx.connection));
container.on('error', (e) => log('DEBUG', 'amqp error', { error: e && e.message }));
container.on('sender_error', () => {});
container.on('receiver_error', () => {});
container.on('session_error', () => {});
container.on('connection_error', () => {});
container.on('protocol_error', (e) => log('WARN', 'amqp protocol error', { error: e && e.message }));

function acceptAMQP(socket) {
  socket.setNoDelay(true);
  const connection = container.create_connection({
    autoaccept: false,
    max_frame_size: 65536,
    idle_time_out: 120000,
    container_id: 'eventhubs-test-peer',
  });
  connection.peerSocket = socket;
  connections.add(connection);
  counters.connections++;
  counters.connectionsTotal++;
  // Write each processing pass's frames with one writev instead of one write per frame.
  const process_ = connection._process;
  connection._process = function () {
    socket.cork();
    try {
      process_.call(this);
    } finally {
      socket.uncork();
    }
  };
  socket.on('close', () => onConnectionGone(connection));
  socket.on('error', (e) => log('DEBUG', 'socket error', { error: e.message }));
  connection.accept(socket);
}

// ---------------------------------------------------------------------------------------------
// AMQP over WebSockets (RFC 6455, subprotocol "amqp"), as the service offers on
// wss://<namespace>/$servicebus/websocket: a minimal server, binary messages only.

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

// WebSocketStream presents a WebSocket as the byte stream rhea reads and writes.
class WebSocketStream extends Duplex {
  constructor(socket) {
    super();
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.fragments = [];
    socket.on('data', (d) => this.onData(d));
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
    socket.on('error', (e) => this.destroy(e));
  }

  onData(d) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      const fin = (b[0] & 0x80) !== 0;
      const opcode = b[0] & 0x0f;
      const masked = (b[1] & 0x80) !== 0;
      let len = b[1] & 0x7f;
      let pos = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        pos = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        pos = 10;
      }
      const maskAt = pos;
      if (masked) pos += 4;
      if (b.length < pos + len) return;
      const payload = Buffer.from(b.subarray(pos, pos + len));
      if (masked) for (let i = 0; i < len; i++) payload[i] ^= b[maskAt + (i & 3)];
      this.buf = b.subarray(pos + len);
      if (opcode === 0x8) { // close: answer and end
        this.socket.end(frameWS(0x8, payload.subarray(0, 2)));
        this.push(null);
        return;
      }
      if (opcode === 0x9) { this.socket.write(frameWS(0xa, payload)); continue; } // ping
      if (opcode === 0xa) continue; // pong
      this.fragments.push(payload);
      if (fin) {
        const msg = this.fragments.length === 1 ? this.fragments[0] : Buffer.concat(this.fragments);
        this.fragments = [];
        this.push(msg);
      }
    }
  }

  _read() {}

  _write(chunk, encoding, callback) {
    this.socket.write(frameWS(0x2, chunk), callback);
  }

  _writev(chunks, callback) {
    const all = Buffer.concat(chunks.map((c) => c.chunk));
    this.socket.write(frameWS(0x2, all), callback);
  }

  _final(callback) {
    this.socket.end(frameWS(0x8, Buffer.from([0x03, 0xe8])), callback);
  }

  _destroy(err, callback) {
    this.socket.destroy();
    callback(err);
  }

  setNoDelay(v) { this.socket.setNoDelay(v); }

  resetAndDestroy() {
    if (this.socket.resetAndDestroy) this.socket.resetAndDestroy(); else this.socket.destroy();
    this.destroy();
  }
}

function frameWS(opcode, payload) {
  const n = payload.length;
  let h;
  if (n < 126) {
    h = Buffer.from([0x80 | opcode, n]);
  } else if (n < 65536) {
    h = Buffer.from([0x80 | opcode, 126, 0, 0]);
    h.writeUInt16BE(n, 2);
  } else {
    h = Buffer.alloc(10);
    h[0] = 0x80 | opcode;
    h[1] = 127;
    h.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([h, payload]);
}

const wsServer = http.createServer((req, res) => {
  res.writeHead(426, { 'content-type': 'text/plain' });
  res.end('AMQP over WebSockets only: upgrade to websocket with subprotocol amqp\n');
});
wsServer.on('upgrade', (req, socket, head) => {
  const key = req.headers['sec-websocket-key'];
  const protocols = String(req.headers['sec-websocket-protocol'] || '').split(',').map((p) => p.trim());
  const path = new URL(req.url, 'http://127.0.0.1').pathname;
  if (!key || String(req.headers.upgrade).toLowerCase() !== 'websocket' || !protocols.includes('amqp') || path !== '/$servicebus/websocket') {
    socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    return;
  }
  const accept = crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: amqp\r\n\r\n`);
  socket.setNoDelay(true);
  const stream = new WebSocketStream(socket);
  if (head && head.length) stream.onData(head);
  acceptAMQP(stream);
});

const amqpServer = net.createServer(acceptAMQP);
const amqpsServer = cfg.tlsCert
  ? tls.createServer({ cert: fs.readFileSync(cfg.tlsCert), key: fs.readFileSync(cfg.tlsKey) }, acceptAMQP)
  : null;
if (amqpsServer) amqpsServer.on('tlsClientError', (e) => log('DEBUG', 'TLS handshake failed', { error: e.message }));

// ---------------------------------------------------------------------------------------------
// control channel

function hubFor(q) {
  const name = q.get('hub');
  const hub = name ? hubs.get(name.toLowerCase()) : hubs.values().next().value;
  if (!hub) throw new HttpError(404, `unknown hub ${JSON.stringify(name)}`);
  return hub;
}

function partitionsFor(hub, q) {
  const id = q.get('partition');
  if (id === null || id === '') return [...hub.partitions.values()];
  const p = hub.partitions.get(id);
  if (!p) throw new HttpError(404, `unknown partition ${JSON.stringify(id)}; partitions are ${hub.ids.join(',')}`);
  return [p];
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function intParam(q, name, dflt) {
  const v = q.get(name);
  if (v === null || v === '') return dflt;
  if (!/^-?\d+$/.test(v)) throw new HttpError(400, `${name} must be an integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

function frameBodies(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    if (pos + 4 > buf.length) throw new HttpError(400, 'truncated length prefix in /send body');
    const n = buf.readUInt32BE(pos);
    pos += 4;
    if (pos + n > buf.length) throw new HttpError(400, 'truncated event in /send body');
    out.push(buf.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

const routes = {
  'POST /send': (q, body) => {
    const hub = hubFor(q);
    const repeat = intParam(q, 'repeat', 1);
    if (repeat < 1) throw new HttpError(400, 'repeat must be at least 1');
    const key = q.get('partition_key');
    const fixed = q.get('partition') ? partitionsFor(hub, q)[0] : null;
    const bodies = frameBodies(body).map((b) => dataSection(Buffer.from(b)));
    const result = {};
    let count = 0;
    for (let r = 0; r < repeat; r++) {
      for (const sections of bodies) {
        const part = fixed || hub.route(key === null ? undefined : key);
        const seq = part.append(sections, null, null, key === null ? undefined : key);
        const e = result[part.id] || (result[part.id] = { first: seq, last: seq, count: 0 });
        e.last = seq;
        e.count++;
        count++;
      }
    }
    for (const id in result) pumpPartition(hub.partitions.get(id));
    return { events: count, partitions: result };
  },
  'POST /detach': (q) => {
    const hub = hubFor(q);
    const condition = q.get('condition') || 'amqp:link:detach-forced';
    const description = q.get('description') || 'the link was force-detached by the test peer';
    const group = q.get('consumer_group');
    let n = 0;
    for (const p of partitionsFor(hub, q)) {
      for (const rec of [...p.receivers]) {
        if (group && rec.consumerGroup.toLowerCase() !== group.toLowerCase()) continue;
        detachReceiver(rec, condition, description);
        n++;
      }
    }
    return { detached: n };
  },
  'POST /drop': (q) => {
    const mode = q.get('mode') || 'reset';
    if (mode !== 'reset' && mode !== 'close') throw new HttpError(400, 'mode must be reset or close');
    let n = 0;
    for (const c of [...connections]) {
      n++;
      if (mode === 'close') {
        c.close({ condition: 'amqp:connection:forced', description: 'connection closed by the test peer' });
        setTimeout(() => c.peerSocket.destroy(), 200);
      } else {
        c.peerSocket.resetAndDestroy ? c.peerSocket.resetAndDestroy() : c.peerSocket.destroy();
      }
      onConnectionGone(c);
    }
    return { dropped: n };
  },
  'POST /refuse-token': (q) => {
    faults.refuseTokens += intParam(q, 'count', 1);
    faults.refuseStatus = intParam(q, 'status', 401);
    return { refuse_tokens: faults.refuseTokens, status: faults.refuseStatus };
  },
  'POST /retention': (q) => {
    const hub = hubFor(q);
    const begin = intParam(q, 'begin_sequence_number', null);
    if (begin === null) throw new HttpError(400, 'begin_sequence_number is required');
    const out = {};
    for (const p of partitionsFor(hub, q)) {
      p.retain(begin);
      out[p.id] = p.stats();
    }
    return { partitions: out };
  },
  'GET /stats': (q) => {
    const hub = hubFor(q);
    const partitions = {};
    const receivers = [];
    for (const p of hub.partitions.values()) {
      partitions[p.id] = p.stats();
      for (const rec of p.receivers) {
        receivers.push({
          partition: p.id, consumer_group: rec.consumerGroup, epoch: rec.epoch, name: rec.name,
          next_sequence_number: rec.next, delivered: rec.delivered, credit: rec.link.credit, filter: rec.filter,
        });
      }
    }
    return {
      hub: hub.name,
      partitions,
      receivers,
      connections: counters.connections,
      connections_total: counters.connectionsTotal,
      tokens_accepted: counters.tokensAccepted,
      tokens_refused: counters.tokensRefused,
      refuse_tokens_pending: faults.refuseTokens,
      deliveries: counters.deliveries,
      cpu_user_ms: Math.round(process.cpuUsage().user / 1000),
      cpu_system_ms: Math.round(process.cpuUsage().system / 1000),
      rss_bytes: process.memoryUsage.rss(),
    };
  },
};

const controlServer = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let status = 200;
    let out;
    try {
      const url = new URL(req.url, 'http://127.0.0.1');
      const route = routes[`${req.method} ${url.pathname}`];
      if (!route) throw new HttpError(404, `no route ${req.method} ${url.pathname}`);
      out = route(url.searchParams, Buffer.concat(chunks));
    } catch (e) {
      status = e.status || 500;
      out = { error: e.message };
    }
    const body = JSON.stringify(out);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});

// ---------------------------------------------------------------------------------------------
// lifecycle

function shutdown(code) {
  try {
    for (const c of connections) c.peerSocket.destroy();
  } finally {
    process.exit(code);
  }
}

process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
process.stdin.on('end', () => shutdown(0));
process.stdin.on('close', () => shutdown(0));
process.stdin.on('error', () => shutdown(0));
process.stdin.resume();

function listen(server) {
  return new Promise((resolve, reject) => {
    if (!server) return resolve(null);
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

Promise.all([listen(amqpServer), listen(amqpsServer), listen(controlServer), listen(wsServer)]).then(([amqp, amqps, control, ws]) => {
  const ready = { amqp_port: amqp, control_port: control, ws_port: ws, hubs: [...hubs.values()].map((h) => h.name), partitions: cfg.partitions };
  if (amqps) ready.amqps_port = amqps;
  process.stdout.write(JSON.stringify(ready) + '\n');
}, (e) => fail(`listen: ${e.message}`));
