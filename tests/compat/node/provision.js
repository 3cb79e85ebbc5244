// Drives twilio-node against router's 2010-04-01 mount: create, list (every page),
// update, delete. The program is an ordinary twilio-node one; the only change is the
// API domain's base URL. Prints what it saw as one JSON document on stdout.
"use strict";

const twilio = require("twilio");

async function main() {
  const [baseUrl, accountSid, authToken, ...numbers] = process.argv.slice(2);
  const client = twilio(accountSid, authToken);
  client.api.baseUrl = baseUrl; // the one line a Twilio user changes

  const created = [];
  for (const phoneNumber of numbers) {
    created.push(await client.incomingPhoneNumbers.create({ phoneNumber }));
  }
  const listed = await client.incomingPhoneNumbers.list({ pageSize: 2 });
  const updated = await client
    .incomingPhoneNumbers(created[0].sid)
    .update({ friendlyName: "Front desk", voiceUrl: "https://app.example.com/voice" });
  const removed = await client.incomingPhoneNumbers(created[1].sid).remove();
  const afterDelete = await client.incomingPhoneNumbers.list({ pageSize: 2 });
  let missing = null;
  try {
    await client.incomingPhoneNumbers(created[1].sid).fetch();
  } catch (error) {
    missing = { status: error.status, code: error.code };
  }
  process.stdout.write(
    JSON.stringify({
      created: created.map((n) => ({ sid: n.sid, phoneNumber: n.phoneNumber, apiVersion: n.apiVersion })),
      listed: listed.map((n) => n.sid),
      updated: { friendlyName: updated.friendlyName, voiceUrl: updated.voiceUrl },
      removed,
      afterDelete: afterDelete.map((n) => n.sid),
      missing,
    }),
  );
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(1);
});
