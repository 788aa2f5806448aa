// Every endpoint of convhub's ElevenLabs dialect through the official JavaScript SDK, pinned in package.json.
//
// tests/elevenlabs_api/test_js_sdk.py starts a live convhub, seeds it and runs this script with
//   CONVHUB_BASE_URL, CONVHUB_API_KEY  where convhub listens, and a key of the seeded workspace;
//   CONVHUB_CASE                       JSON: what was seeded and what each call must answer (see the test).
// The SDK validates every response body itself (and throws on a body its models refuse); on top of that each
// JSON body is parsed again with the SDK's own serializers in their strictest mode: unknown keys, enum values
// and union members fail instead of passing through. Any refusal, or any answer other than the expected one,
// prints "FAIL <step>: …" and exits 1.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";

import { ElevenLabsClient, ElevenLabsError, ElevenLabs } from "@elevenlabs/elevenlabs-js";

const require = createRequire(import.meta.url);
const serializers = require("@elevenlabs/elevenlabs-js/serialization/index.js");

const STRICT = {
  unrecognizedObjectKeys: "fail",
  allowUnrecognizedUnionMembers: false,
  allowUnrecognizedEnumValues: false,
  skipValidation: false,
};

const baseUrl = process.env.CONVHUB_BASE_URL;
const apiKey = process.env.CONVHUB_API_KEY;
const spec = JSON.parse(process.env.CONVHUB_CASE ?? "null");
if (!baseUrl || !apiKey || !spec) {
  console.error("FAIL setup: set CONVHUB_BASE_URL, CONVHUB_API_KEY and CONVHUB_CASE");
  process.exit(2);
}

// The JSON bodies convhub answered with, in order, as they were on the wire.
const bodies = [];
async function recordingFetch(input, init) {
  const response = await fetch(input, init);
  if ((response.headers.get("content-type") ?? "").startsWith("application/json")) {
    bodies.push({ url: String(input), status: response.status, text: await response.clone().text() });
  }
  return response;
}

const client = new ElevenLabsClient({ apiKey, baseUrl, maxRetries: 0, timeoutInSeconds: 30, fetch: recordingFetch });
const conversations = client.conversationalAi.conversations;

let step = "start";
let checks = 0;

/** The last JSON body, parsed strictly with the SDK serializer ``model`` (or only required to be ``{}``). */
function strictly(model) {
  const last = bodies.at(-1);
  assert.ok(last, "no JSON body was recorded");
  const raw = JSON.parse(last.text);
  if (model === null) {
    assert.deepEqual(raw, {}, `expected {} from ${last.url}`);
    return raw;
  }
  const parsed = serializers[model].parse(raw, { ...STRICT, breadcrumbsPrefix: ["response"] });
  if (!parsed.ok) {
    const problems = parsed.errors.map((e) => `${e.path.join(".")}: ${e.message}`).join("\n  ");
    throw new Error(`${model} refuses the body of ${last.url} in strict mode:\n  ${problems}`);
  }
  checks += 1;
  return parsed.value;
}

async function run(name, body) {
  step = name;
  await body();
}

async function expectStatus(status, call) {
  try {
    await call();
  } catch (error) {
    if (error instanceof ElevenLabsError && error.statusCode === status) return error;
    throw error;
  }
  throw new Error(`expected HTTP ${status}, got a success`);
}

async function listAll(request) {
  const seen = [];
  let cursor;
  for (let pages = 0; pages < 50; pages += 1) {
    const page = await conversations.list({ ...request, pageSize: 2, cursor });
    strictly("GetConversationsPageResponseModel");
    seen.push(...page.conversations);
    if (!page.hasMore) {
      assert.equal(page.nextCursor ?? null, null, "the last page has no next_cursor");
      return seen;
    }
    assert.ok(page.nextCursor, "has_more comes with a next_cursor");
    cursor = page.nextCursor;
  }
  throw new Error("more than 50 pages");
}

const byId = new Map(spec.conversations.map((c) => [c.conversation_id, c]));
const idsOf = (summaries) => summaries.map((s) => s.conversationId).sort();

try {
  await run("list: every conversation, two at a time, carries the ids the caller knows", async () => {
    const listed = await listAll({});
    assert.deepEqual(idsOf(listed), [...byId.keys()].sort());
    for (const summary of listed) {
      assert.equal(summary.agentId, byId.get(summary.conversationId).agent_id, summary.conversationId);
    }
    const first = await conversations.list({ summaryMode: "include", sortDirection: "asc" });
    strictly("GetConversationsPageResponseModel");
    assert.equal(first.conversations.length, byId.size);
  });

  await run("list: filters", async () => {
    for (const { request, expect } of spec.filters) {
      const page = await conversations.list({ ...request, pageSize: 100 });
      strictly("GetConversationsPageResponseModel");
      assert.deepEqual(idsOf(page.conversations), [...expect].sort(), JSON.stringify(request));
    }
  });

  await run("list: a bad filter is the SDK's UnprocessableEntityError", async () => {
    try {
      await conversations.list({ pageSize: 101 });
      throw new Error("page_size=101 was accepted");
    } catch (error) {
      assert.ok(error instanceof ElevenLabs.UnprocessableEntityError, String(error));
      assert.equal(error.statusCode, 422);
    }
  });

  await run("get: by every id the conversation answers to", async () => {
    for (const conv of spec.conversations) {
      for (const ref of conv.refs) {
        const got = await conversations.get(ref);
        strictly("GetConversationResponseModel");
        assert.equal(got.conversationId, conv.conversation_id, `get(${ref})`);
        assert.equal(got.agentId, conv.agent_id, `get(${ref}).agent_id`);
        assert.ok(Array.isArray(got.transcript) && got.transcript.length > 0, `get(${ref}).transcript`);
      }
    }
    await expectStatus(404, () => conversations.get("conv_nobody_knows"));
  });

  await run("audio: the recording convhub holds", async () => {
    for (const ref of spec.audio.refs) {
      const chunks = [];
      for await (const chunk of await conversations.audio.get(ref)) chunks.push(Buffer.from(chunk));
      const data = Buffer.concat(chunks);
      assert.equal(createHash("sha256").update(data).digest("hex"), spec.audio.sha256, `audio.get(${ref})`);
    }
  });

  await run("feedback: a like shows in metadata.feedback", async () => {
    for (const conv of spec.conversations) {
      const ref = conv.refs.at(-1);
      await conversations.feedback.create(ref, { feedback: "like" });
      strictly(null);
      const got = await conversations.get(conv.conversation_id);
      strictly("GetConversationResponseModel");
      assert.equal(got.metadata.feedback.overallScore, "like", `feedback(${ref})`);
      assert.ok(got.metadata.feedback.likes >= 1, `feedback(${ref})`);
    }
  });

  await run("get-signed-url: carries the agent_id as passed", async () => {
    for (const agentId of spec.agent_refs) {
      for (const includeConversationId of [false, true]) {
        const { signedUrl } = await conversations.getSignedUrl({ agentId, includeConversationId });
        strictly("ConversationSignedUrlResponseModel");
        const url = new URL(signedUrl);
        assert.equal(url.pathname, "/v1/convai/conversation");
        assert.equal(url.searchParams.get("agent_id"), agentId);
        assert.ok(url.searchParams.get("conversation_signature"));
      }
    }
    await expectStatus(404, () => conversations.getSignedUrl({ agentId: "agent_nobody_knows" }));
  });

  await run("token: a token and the conversation it opens", async () => {
    const opened = new Set();
    for (const agentId of spec.agent_refs) {
      const answer = await conversations.getWebrtcToken({ agentId, participantName: "Ada" });
      strictly("TokenResponseModel");
      assert.ok(answer.token.length > 20, "a token");
      assert.match(answer.conversationId, /^conv_/);
      opened.add(answer.conversationId);
    }
    assert.equal(opened.size, spec.agent_refs.length, "each token names a conversation of its own");
  });

  await run("delete: by either id, then it is gone", async () => {
    for (const [n, conv] of spec.conversations.entries()) {
      const ref = conv.refs[n % conv.refs.length];
      await conversations.delete(ref);
      strictly(null);
      await expectStatus(404, () => conversations.get(conv.conversation_id));
      await expectStatus(404, () => conversations.delete(ref));
    }
    const left = await conversations.list();
    strictly("GetConversationsPageResponseModel");
    assert.deepEqual(left.conversations, []);
  });
} catch (error) {
  console.error(`FAIL ${step}: ${error?.stack ?? error}`);
  process.exit(1);
}

console.log(`ok: ${checks} bodies parsed strictly, ${bodies.length} JSON answers`);
